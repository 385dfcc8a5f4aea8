/**
 * Contact vouchers between two clients of one devnet: the joiner mints, publishes the payload and
 * opens the inductor's sealed reply; the inductor derives the VoucherStream, checks the payload and
 * answers; afterwards the inductor reads what the joiner writes with its salt-mutated caps. Then every
 * error the daemon gives a voucher request, and inspection of a voucher call.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { blake2b256 } from '../../../src/crypto/hash.js';
import {
  DaemonError,
  type ThinClient,
  VoucherHashMismatchError,
  VoucherSealOpenFailedError,
  VoucherSignatureInvalidError,
} from '../../../src/index.js';
import { sanitize } from '../../../src/inspector/redact.js';
import { createTraceRecorder } from '../../../src/inspector/trace.js';
import { decodeCbor, encodeCbor } from '../../../src/wire/codec.js';
import { firstIndexOf, readBox, writeBox } from '../../helpers/boxes.js';
import { useDevnetClients } from '../../helpers/devnetClient.js';

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The payload with its signature's first byte flipped, re-encoded, and the voucher of that payload. */
function withBrokenSignature(voucherPayload: Uint8Array): { voucher: Uint8Array; payload: Uint8Array } {
  const outer = decodeCbor(voucherPayload) as Record<string, Uint8Array>;
  const signed = decodeCbor(outer.SignedPleaseAdd!) as Record<string, Uint8Array>;
  const signature = signed.Signature!.slice();
  signature[0]! ^= 0xff;
  const payload = encodeCbor({
    SignedPleaseAdd: encodeCbor({ PleaseAdd: signed.PleaseAdd, Signature: signature }),
    VoucherPubKey: outer.VoucherPubKey,
  });
  return { voucher: blake2b256(payload), payload };
}

describe('contact vouchers on the devnet', () => {
  const env = useDevnetClients(2);

  it('introduces a joiner to an inductor, who then reads what the joiner writes', async () => {
    const [joiner, inductor] = env.clients as [ThinClient, ThinClient];

    // The joiner's own MessageStream, and the voucher minted from it.
    const messages = await joiner.newKeypair(randomBytes(32));
    const minted = await joiner.voucherMint(messages.writeCap, 'Alice');
    expect(minted.voucher.length).toBe(32);
    expect(minted.voucherWriteCap.length).toBe(168);
    expect(minted.voucherReadCap.length).toBe(136);
    expect(minted.voucherSecretKey.length).toBe(162);
    expect(minted.voucherPublicKey.length).toBe(160);
    const voucherBox0 = firstIndexOf(minted.voucherWriteCap);
    await writeBox(joiner, minted.voucherWriteCap, voucherBox0, minted.voucherPayload);

    // Out of band, the inductor receives only the 32-byte voucher.
    const stream = await inductor.voucherDeriveStream(minted.voucher);
    expect(hex(stream.voucherWriteCap)).toBe(hex(minted.voucherWriteCap));
    expect(hex(stream.voucherReadCap)).toBe(hex(minted.voucherReadCap));
    const published = await readBox(inductor, stream.voucherReadCap, firstIndexOf(stream.voucherReadCap));
    expect(hex(published)).toBe(hex(minted.voucherPayload));

    const whoReply = enc.encode('welcome to the group');
    const inducted = await inductor.voucherInduct(minted.voucher, published, whoReply);
    expect(inducted.displayName).toBe('Alice');
    expect(inducted.salt.length).toBe(32);
    expect(hex(inducted.voucherWriteCap)).toBe(hex(stream.voucherWriteCap));
    expect(inducted.mutatedMessageReadCap.length).toBe(136);
    expect(hex(inducted.mutatedMessageReadCap)).not.toBe(hex(messages.readCap));
    const voucherBox1 = await inductor.nextMessageBoxIndex(firstIndexOf(stream.voucherWriteCap));
    await writeBox(inductor, stream.voucherWriteCap, voucherBox1, inducted.sealedReply);

    // The joiner reads the sealed reply from box 1 and opens it with its secret key.
    const sealed = await readBox(joiner, minted.voucherReadCap, voucherBox1);
    const opened = await joiner.voucherOpen(minted.voucherSecretKey, sealed, messages.writeCap);
    expect(new TextDecoder().decode(opened.whoReply)).toBe('welcome to the group');
    expect(hex(opened.salt)).toBe(hex(inducted.salt));
    expect(opened.mutatedMessageWriteCap.length).toBe(168);

    // Both sides now hold the two halves of the same salt-mutated MessageStream.
    const start = firstIndexOf(opened.mutatedMessageWriteCap);
    expect(hex(start)).toBe(hex(firstIndexOf(inducted.mutatedMessageReadCap)));
    await writeBox(joiner, opened.mutatedMessageWriteCap, start, enc.encode('hello from Alice'));
    const received = await readBox(inductor, inducted.mutatedMessageReadCap, start);
    expect(new TextDecoder().decode(received)).toBe('hello from Alice');
  });

  it('rejects a payload that does not hash to the voucher with VoucherHashMismatchError (code 28)', async () => {
    const [client] = env.clients as [ThinClient];
    const minted = await client.voucherMint((await client.newKeypair(randomBytes(32))).writeCap, 'A');
    const altered = minted.voucherPayload.slice();
    altered[altered.length - 1]! ^= 1;
    const error = await client.voucherInduct(minted.voucher, altered, new Uint8Array(0)).catch((e) => e);
    expect(error).toBeInstanceOf(VoucherHashMismatchError);
    expect(error).toMatchObject({
      code: 'ERR_VOUCHER_HASH_MISMATCH',
      daemonCode: 28,
      message: 'voucher_induct: Voucher payload does not hash to the voucher (code 28)',
    });
  });

  it('rejects a payload whose please-add signature fails with VoucherSignatureInvalidError (code 29)', async () => {
    const [client] = env.clients as [ThinClient];
    const minted = await client.voucherMint((await client.newKeypair(randomBytes(32))).writeCap, 'A');
    const forged = withBrokenSignature(minted.voucherPayload);
    const error = await client
      .voucherInduct(forged.voucher, forged.payload, new Uint8Array(0))
      .catch((e) => e);
    expect(error).toBeInstanceOf(VoucherSignatureInvalidError);
    expect(error).toMatchObject({
      code: 'ERR_VOUCHER_SIGNATURE_INVALID',
      daemonCode: 29,
      message: 'voucher_induct: Voucher signed please-add did not verify (code 29)',
    });
  });

  it("rejects a sealed reply opened with another joiner's key with VoucherSealOpenFailedError (code 30)", async () => {
    const [client] = env.clients as [ThinClient];
    const messages = await client.newKeypair(randomBytes(32));
    const minted = await client.voucherMint(messages.writeCap, 'A');
    const other = await client.voucherMint(messages.writeCap, 'B');
    const inducted = await client.voucherInduct(minted.voucher, minted.voucherPayload, new Uint8Array(1));
    for (const [key, sealed] of [
      [other.voucherSecretKey, inducted.sealedReply],
      [minted.voucherSecretKey, randomBytes(64)],
    ] as const) {
      const error = await client.voucherOpen(key, sealed, messages.writeCap).catch((e) => e);
      expect(error).toBeInstanceOf(VoucherSealOpenFailedError);
      expect(error).toMatchObject({
        code: 'ERR_VOUCHER_SEAL_OPEN_FAILED',
        daemonCode: 30,
        message: 'voucher_open: Voucher sealed reply could not be opened (code 30)',
      });
    }
  });

  it('answers a payload that hashes to the voucher but is no voucher payload with DaemonError (code 3)', async () => {
    const [client] = env.clients as [ThinClient];
    const payload = randomBytes(200);
    const error = await client.voucherInduct(blake2b256(payload), payload, new Uint8Array(0)).catch((e) => e);
    expect(error).toBeInstanceOf(DaemonError);
    expect(error).toMatchObject({
      code: 'ERR_DAEMON',
      daemonCode: 3,
      message: 'voucher_induct: Invalid request (code 3)',
    });
  });

  it('gives an empty whoReply when the inductor sealed an empty one', async () => {
    const [client] = env.clients as [ThinClient];
    const messages = await client.newKeypair(randomBytes(32));
    const minted = await client.voucherMint(messages.writeCap, '');
    const inducted = await client.voucherInduct(minted.voucher, minted.voucherPayload, new Uint8Array(0));
    expect(inducted.displayName).toBe('');
    const opened = await client.voucherOpen(minted.voucherSecretKey, inducted.sealedReply, messages.writeCap);
    expect(opened.whoReply).toEqual(new Uint8Array(0));
  });
});

describe('inspection of voucher calls', () => {
  const events: InspectionEvent[] = [];
  const lines: string[] = [];
  const recorder = createTraceRecorder((l) => lines.push(l));
  const env = useDevnetClients(
    1,
    {},
    {
      inspect: (ev) => {
        events.push(ev);
        recorder(ev);
      },
    },
  );

  it('never shows the voucher secret key or the write caps it travels with', async () => {
    const [client] = env.clients as [ThinClient];
    const messages = await client.newKeypair(randomBytes(32));
    const minted = await client.voucherMint(messages.writeCap, 'A');
    const inducted = await client.voucherInduct(minted.voucher, minted.voucherPayload, new Uint8Array(0));
    await client.voucherOpen(minted.voucherSecretKey, inducted.sealedReply, messages.writeCap);
    const secrets = [minted.voucherSecretKey, minted.voucherWriteCap, messages.writeCap];
    const leaks = (text: string) =>
      secrets.some(
        (s) =>
          text.includes(hex(s).slice(0, 40)) ||
          text.includes(Buffer.from(s).toString('base64').slice(0, 40)) ||
          text.includes(Array.from(s.slice(0, 12)).join(',')),
      );
    expect(events.length).toBeGreaterThan(0);
    const seen = JSON.stringify(
      events.map((ev) => sanitize(ev)),
      (_, v) => (typeof v === 'bigint' ? String(v) : v),
    );
    // The decoded mint reply reaches the inspector with its secret fields named and redacted.
    expect(seen).toContain('"voucher_secret_key":"[redacted]"');
    expect(seen).toContain('"voucher_write_cap":"[redacted]"');
    expect(leaks(seen)).toBe(false);
    expect(leaks(lines.join(''))).toBe(false);
  });
});

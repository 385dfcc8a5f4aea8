/**
 * Contact Vouchers end to end between two devnet clients over real sockets (instant profile): the joiner
 * mints and publishes the VoucherPayload in VoucherStream box 0; the inductor derives the stream from the
 * voucher alone, reads box 0, inducts, and writes the sealed reply to box 1; the joiner reads box 1, opens
 * it, and writes with the mutated write cap where the inductor's mutated read cap reads. Then every error
 * code the voucher requests answer: 28, 29, 30 and 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { decodeCbor, encodeCbor } from '../../../src/wire/codec.js';
import { type Keys, keypair, nextIndex, read, str, text, write } from './helpers.js';
import { RawClient } from './rawClient.js';

let net: Devnet;
let joiner: RawClient;
let inductor: RawClient;

beforeAll(async () => {
  net = await startDevnet({ authorityScheme: 'Ed25519', seed: 'vouchers' });
  joiner = (await RawClient.session(net.thinClientConfig)).client;
  inductor = (await RawClient.session(net.thinClientConfig)).client;
});

afterAll(async () => {
  joiner.close();
  inductor.close();
  await net.stop();
});

/** Caps as the Pigeonhole helpers take them: the first index is the cap's own. */
const keysOf = (writeCap: Uint8Array, readCap: Uint8Array): Keys => ({
  writeCap,
  readCap,
  first: readCap.slice(32),
});

const mint = (c: RawClient, writeCap: Uint8Array | undefined, name: string) =>
  c.call('voucher_mint', { message_write_cap: writeCap, display_name: name }, 'voucher_mint_reply');
const induct = (
  c: RawClient,
  voucher: Uint8Array | undefined,
  payload: Uint8Array | undefined,
  who?: Uint8Array,
) => c.call('voucher_induct', { voucher, voucher_payload: payload, who_reply: who }, 'voucher_induct_reply');
const open = (
  c: RawClient,
  secret: Uint8Array | undefined,
  sealed: Uint8Array | undefined,
  writeCap?: Uint8Array,
) =>
  c.call(
    'voucher_open',
    { voucher_secret_key: secret, sealed_reply: sealed, message_write_cap: writeCap },
    'voucher_open_reply',
  );
const derive = (c: RawClient, voucher: Uint8Array | undefined) =>
  c.call('voucher_derive_stream', { voucher }, 'voucher_derive_stream_reply');

describe('devnet Contact Vouchers', () => {
  it('runs the whole protocol between two clients through the simulated network', async () => {
    // Joiner: a MessageStream, a voucher for it, the payload published in VoucherStream box 0.
    const stream = await keypair(joiner);
    const m = await mint(joiner, stream.writeCap, 'alice');
    expect(m.error_code).toBe(0);
    expect(m.voucher!.length).toBe(32);
    expect(m.voucher_secret_key!.length).toBe(162);
    expect(m.voucher_public_key!.length).toBe(160);
    expect(blake2b256(m.voucher_payload!)).toEqual(m.voucher);
    const joinerVoucherStream = keysOf(m.voucher_write_cap!, m.voucher_read_cap!);
    expect(
      (await write(joiner, joinerVoucherStream, joinerVoucherStream.first, m.voucher_payload!)).error_code,
    ).toBe(0);

    // Inductor: only the voucher crossed out of band. It derives the same stream and reads box 0.
    const d = await derive(inductor, m.voucher);
    expect(d.error_code).toBe(0);
    expect(d.voucher_write_cap).toEqual(m.voucher_write_cap);
    expect(d.voucher_read_cap).toEqual(m.voucher_read_cap);
    const voucherStream = keysOf(d.voucher_write_cap!, d.voucher_read_cap!);
    const box0 = await read(inductor, voucherStream, voucherStream.first);
    expect(box0.error_code).toBe(0);
    expect(box0.plaintext).toEqual(m.voucher_payload);

    const i = await induct(inductor, m.voucher, box0.plaintext, text('bob says hi'));
    expect(i.error_code).toBe(0);
    expect(i.display_name).toBe('alice');
    expect(i.sealed_reply!.length).toBe(367);
    expect(i.salt!.length).toBe(32);
    expect(i.voucher_write_cap).toEqual(m.voucher_write_cap);
    expect(i.voucher_read_cap).toEqual(m.voucher_read_cap);
    // Same root key and counter as the joiner's read cap; a different ratchet state.
    expect(i.mutated_message_read_cap!.subarray(0, 40)).toEqual(stream.readCap.subarray(0, 40));
    expect(i.mutated_message_read_cap).not.toEqual(stream.readCap);
    const box1 = await nextIndex(inductor, voucherStream.first);
    expect((await write(inductor, voucherStream, box1, i.sealed_reply!)).error_code).toBe(0);

    // Joiner: reads box 1 and opens the reply.
    const reply = await read(joiner, joinerVoucherStream, await nextIndex(joiner, joinerVoucherStream.first));
    expect(reply.error_code).toBe(0);
    const o = await open(joiner, m.voucher_secret_key, reply.plaintext, stream.writeCap);
    expect(o.error_code).toBe(0);
    expect(str(o.who_reply)).toBe('bob says hi');
    expect(o.salt).toEqual(i.salt);
    expect(o.mutated_message_write_cap!.subarray(0, 72)).toEqual(stream.writeCap.subarray(0, 72));

    // The mutated caps belong together: what the joiner writes, the inductor (and the group) reads.
    const live = keysOf(o.mutated_message_write_cap!, i.mutated_message_read_cap!);
    expect((await write(joiner, live, live.first, text('first real message'))).error_code).toBe(0);
    const got = await read(inductor, live, live.first);
    expect(got.error_code).toBe(0);
    expect(str(got.plaintext)).toBe('first real message');
    const second = await nextIndex(joiner, live.first);
    expect((await write(joiner, live, second, text('second'))).error_code).toBe(0);
    expect(str((await read(inductor, live, second)).plaintext)).toBe('second');
    // The unmutated read cap addresses other boxes: nothing there.
    expect((await read(inductor, stream, stream.first, { noRetry: true })).error_code).toBe(1);
  });

  it('answers 28 for a payload that does not hash to the voucher', async () => {
    const m = await mint(joiner, (await keypair(joiner)).writeCap, 'alice');
    const wrong = await induct(inductor, new Uint8Array(32).fill(7), m.voucher_payload, text('mallory'));
    expect(wrong.error_code).toBe(28);
    expect(wrong.display_name).toBe('');
    expect(wrong.sealed_reply).toBeUndefined();
    expect(wrong.mutated_message_read_cap).toBeUndefined();
    const tampered = m.voucher_payload!.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect((await induct(inductor, m.voucher, tampered)).error_code).toBe(28);
  });

  it('answers 29 for a please-add whose signature does not verify', async () => {
    const m = await mint(joiner, (await keypair(joiner)).writeCap, 'alice');
    const vp = decodeCbor(m.voucher_payload!) as Record<string, Uint8Array>;
    const spa = decodeCbor(vp.SignedPleaseAdd!) as Record<string, Uint8Array>;
    const sig = spa.Signature!.slice();
    sig[40]! ^= 0x10;
    const forged = encodeCbor({ ...vp, SignedPleaseAdd: encodeCbor({ ...spa, Signature: sig }) });
    const r = await induct(inductor, blake2b256(forged), forged, text('x'));
    expect(r.error_code).toBe(29);
    expect(r.salt).toBeUndefined();
  });

  it('answers 30 for a sealed reply that does not open with the secret key', async () => {
    const k = await keypair(joiner);
    const a = await mint(joiner, k.writeCap, 'alice');
    const b = await mint(joiner, k.writeCap, 'alice again');
    const i = await induct(inductor, a.voucher, a.voucher_payload, text('for alice'));
    expect(i.error_code).toBe(0);
    const wrongKey = await open(joiner, b.voucher_secret_key, i.sealed_reply, k.writeCap);
    expect(wrongKey.error_code).toBe(30);
    expect(wrongKey.who_reply).toBeUndefined();
    expect(wrongKey.mutated_message_write_cap).toBeUndefined();
    expect((await open(joiner, a.voucher_secret_key, text('not a seal'), k.writeCap)).error_code).toBe(30);
    const flipped = i.sealed_reply!.slice();
    flipped[30]! ^= 1;
    expect((await open(joiner, a.voucher_secret_key, flipped, k.writeCap)).error_code).toBe(30);
    // The right key still opens it, with no who_reply when none was sent.
    const none = await induct(inductor, a.voucher, a.voucher_payload);
    const ok = await open(joiner, a.voucher_secret_key, none.sealed_reply, k.writeCap);
    expect(ok.error_code).toBe(0);
    expect(ok.who_reply).toBeUndefined();
    expect(ok.salt).toEqual(none.salt);
  });

  it('answers 3 for malformed input', async () => {
    const k = await keypair(joiner);
    const m = await mint(joiner, k.writeCap, 'alice');
    const i = await induct(inductor, m.voucher, m.voucher_payload, text('x'));
    const codes = {
      mintShortCap: (await mint(joiner, k.writeCap.subarray(1), 'a')).error_code,
      mintNoCap: (await mint(joiner, undefined, 'a')).error_code,
      deriveShort: (await derive(inductor, m.voucher!.subarray(1))).error_code,
      deriveNone: (await derive(inductor, undefined)).error_code,
      inductShortVoucher: (await induct(inductor, m.voucher!.subarray(1), m.voucher_payload)).error_code,
      inductNotCbor: (await induct(inductor, blake2b256(text('junk')), text('junk'))).error_code,
      openShortKey: (await open(joiner, m.voucher_secret_key!.subarray(1), i.sealed_reply, k.writeCap))
        .error_code,
      openNoCap: (await open(joiner, m.voucher_secret_key, i.sealed_reply, undefined)).error_code,
    };
    expect(codes).toEqual({
      mintShortCap: 3,
      mintNoCap: 3,
      deriveShort: 3,
      deriveNone: 3,
      inductShortVoucher: 3,
      inductNotCbor: 3,
      openShortKey: 3,
      openNoCap: 3,
    });
  });
});

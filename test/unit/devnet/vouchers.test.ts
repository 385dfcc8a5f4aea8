/**
 * The devnet's Contact Voucher crypto (src/devnet/daemon/vouchers.ts), checked against what the real
 * daemon produced (test/fixtures/kpclientd/22-vouchers.json, kpclientd v0.0.99 on hpqc v0.0.85) and
 * against hpqc's shared Go/Python voucher vectors (hpqc v0.0.85 voucher/testdata/voucher_vectors.json).
 * Everything but the CTIDH seal is reproduced byte for byte; the seal is the MKEM stand-in.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import {
  deriveVoucherStream,
  goEd25519Sign,
  mutateCap,
  VoucherError,
  verifyVoucherPayload,
  voucherInduct,
  voucherMint,
  voucherOpenReply,
  voucherPayloadFor,
} from '../../../src/devnet/daemon/vouchers.js';
import { Drbg, seedBytes } from '../../../src/devnet/rng.js';
import { decodeCbor, encodeCbor } from '../../../src/wire/codec.js';
import { decodeRequest, decodeResponse } from '../../../src/wire/messages.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const text = (s: string) => new TextEncoder().encode(s);

/** The error code a voucher operation fails with (or 0 when it succeeds). */
function codeOf(op: () => unknown): number {
  try {
    op();
    return 0;
  } catch (err) {
    if (err instanceof VoucherError) return err.code;
    throw err;
  }
}

// ---- the real daemon's frames -------------------------------------------------------------------------------

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/kpclientd/22-vouchers.json');
const frames = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { frames: { kind: string; hex: string }[] })
  .frames;
function body(kind: string, nth = 0): Record<string, unknown> {
  const f = frames.filter((g) => g.kind === kind)[nth];
  if (!f) throw new Error(`no ${kind} frame`);
  const decoded = kind.endsWith('_reply') ? decodeResponse(hex(f.hex)) : decodeRequest(hex(f.hex));
  return decoded.key === 'unknown' ? {} : (decoded.body as Record<string, unknown>);
}
const keypairReply = body('new_keypair_reply');
const mintReq = body('voucher_mint');
const mint = body('voucher_mint_reply');
const induct = body('voucher_induct_reply');
const open = body('voucher_open_reply');
const realWriteCap = keypairReply.write_cap as Uint8Array;
const realReadCap = keypairReply.read_cap as Uint8Array;
const realVoucher = mint.voucher as Uint8Array;
const realPayload = mint.voucher_payload as Uint8Array;

// ---- hpqc's vectors (inputs and the outputs that do not depend on CTIDH) -----------------------------------

const V = {
  messageWriteCap: hex(
    'd7b4cf68d3f1b711924ccded71a241faf8162f7ef6ce748370a10e86b94befc18f96b1ca22c28d71380cfa0e7e7ce8c8006ab4ebc9c09c1ca89abdf3dade473eeae6c2267179241e639ec2da5598d1c6aadb486147ee0a2a4a222d72747591495d836b2eb5dc23a07ce49ccffee18623e88baaf58447ce8e5d93e6f574d59f5dc8e6d258fd969d74c576813883923b9d771d08bbf6e205a48f8efe37b0484b8a73428fdd1122cade',
  ),
  voucherPublicKey: hex(
    '46759bf42ae3107b19512028b466b4e4f6b5d0bc3ed4e0d04cfad85011815013ad72929368c3fe9f6c1c26462859c94bc8d0ea7a5d50c2a91853d542e30db2d7b14651782f129bf88b076d7ac1ac7db04b6938d3ee05baff705d04eb8724efbccd8926df21c104d44074ec80c4410b9c3ae8e5b60173ddabfade2b60fe71caaa01d257d4c7e34b54abec9eb1c0e1279c7c210ee13716e26cf04483e0114bf907',
  ),
  voucher: hex('91c23b45ca09e42167340f1153c00772fab9d703b86b336fc0376a636053e9f6'),
  voucherWriteCap: hex(
    'd00059cf6f0ed3d8ec75d37ce0929bf637c8c3909d064156b6d282d7e5254d83dbed0bbcd7ad62ea7238daba2e2ee509703cf5d13adef74fc30a059563216c87bb01e4116a2096346fb6730f0dc9e74d13121c4d4b20df411a115f8d1d08e61baf4065eb2aaf709c2164d91d4073a84fdfe90ffc42d6dbc1fbcf123481baac3abd63990a8baafb706d7b80fffa5e7cfe8dab68b31c6fa85f26077610c10e5b64305b53c4f4e1d878',
  ),
  salt: hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
  mutatedMessageReadCap: hex(
    '8f96b1ca22c28d71380cfa0e7e7ce8c8006ab4ebc9c09c1ca89abdf3dade473eeae6c2267179241e1802c96d103373dae7de87468a543162a9d5528f81e0db13748aa1641945a01aa27cd6a15709dcb47bf216a2b8ed71e8609061ac9ab397251f744ebaf978cef91d005ce944c3c8cac8a4862eb62cd24942c27aa40743e3581b799b62d79da40e',
  ),
};

describe('devnet vouchers: byte-exact with the real daemon and hpqc', () => {
  it('builds the real daemon’s VoucherPayload and voucher from its write cap, display name and public key', () => {
    const built = voucherPayloadFor(
      realWriteCap,
      mintReq.display_name as string,
      mint.voucher_public_key as Uint8Array,
    );
    expect(built.voucherPayload).toEqual(realPayload);
    expect(built.voucher).toEqual(realVoucher);
    // and hpqc's vector
    expect(voucherPayloadFor(V.messageWriteCap, 'alice', V.voucherPublicKey).voucher).toEqual(V.voucher);
  });

  it('derives the real VoucherStream caps from a voucher (NewWriteCap over SHAKE256)', () => {
    const s = deriveVoucherStream(realVoucher);
    expect(s.voucherWriteCap).toEqual(mint.voucher_write_cap);
    expect(s.voucherReadCap).toEqual(mint.voucher_read_cap);
    expect(s.voucherWriteCap).toEqual(induct.voucher_write_cap);
    expect(deriveVoucherStream(V.voucher).voucherWriteCap).toEqual(V.voucherWriteCap);
  });

  it('accepts the real payload’s hash and signature and mutates both caps by the salt as the real daemon did', () => {
    const v = verifyVoucherPayload(realVoucher, realPayload);
    expect(v.displayName).toBe('alice');
    expect(v.messageReadCap).toEqual(realReadCap);
    expect(mutateCap(realReadCap, induct.salt as Uint8Array)).toEqual(induct.mutated_message_read_cap);
    expect(mutateCap(realWriteCap, open.salt as Uint8Array)).toEqual(open.mutated_message_write_cap);
    // The counter is kept: only K, E and H change.
    expect(mutateCap(realReadCap, V.salt).subarray(0, 40)).toEqual(realReadCap.subarray(0, 40));
    expect(mutateCap(realReadCap, V.salt).subarray(40)).not.toEqual(realReadCap.subarray(40));
    const vectorReadCap = V.messageWriteCap.slice(32);
    expect(mutateCap(vectorReadCap, V.salt)).toEqual(V.mutatedMessageReadCap);
    expect(mutateCap(V.messageWriteCap, V.salt).subarray(64)).toEqual(V.mutatedMessageReadCap.subarray(32));
  });

  it('signs as Go’s ed25519.Sign: the same bytes as RFC 8032 for a consistent key', () => {
    const priv = realWriteCap.subarray(0, 64);
    const msg = text('please add me');
    expect(goEd25519Sign(priv, msg)).toEqual(ed25519.sign(msg, priv.subarray(0, 32)));
  });

  it('[stand-in] cannot use the real CTIDH keys: inducting the real payload answers 3, opening the real seal 30', () => {
    const rng = new Drbg(seedBytes('real keys'));
    expect(codeOf(() => voucherInduct(rng, realVoucher, realPayload, text('x')))).toBe(3);
    const secret = body('voucher_open').voucher_secret_key as Uint8Array;
    expect(codeOf(() => voucherOpenReply(secret, induct.sealed_reply as Uint8Array, realWriteCap))).toBe(30);
  });
});

describe('devnet vouchers: the protocol and its errors', () => {
  const rng = new Drbg(seedBytes('vouchers'));
  const joinerCap = hex(Buffer.from(realWriteCap).toString('hex'));
  const minted = voucherMint(rng, joinerCap, 'alice');

  it('mints, inducts and opens with the real sizes; the mutated caps belong together', () => {
    expect(minted.voucher.length).toBe(32);
    expect(minted.voucherPayload.length).toBe(457);
    expect(minted.voucherSecretKey.length).toBe(162);
    expect(minted.voucherPublicKey.length).toBe(160);
    const who = text('bob says hi');
    const i = voucherInduct(rng, minted.voucher, minted.voucherPayload, who);
    expect(i.displayName).toBe('alice');
    expect(i.sealedReply.length).toBe(367);
    expect(i.salt.length).toBe(32);
    const o = voucherOpenReply(minted.voucherSecretKey, i.sealedReply, joinerCap);
    expect(o.whoReply).toEqual(who);
    expect(o.salt).toEqual(i.salt);
    expect(o.mutatedMessageWriteCap.subarray(32)).toEqual(i.mutatedMessageReadCap);
    // The sealed reply is hpqc's Ciphertext: {Envelope, DEKCiphertexts, EphemeralPublicKey}, canonical order.
    expect(Object.keys(decodeCbor(i.sealedReply) as object)).toEqual([
      'Envelope',
      'DEKCiphertexts',
      'EphemeralPublicKey',
    ]);
  });

  it('keeps a nil who_reply nil and an empty one empty', () => {
    const i = voucherInduct(rng, minted.voucher, minted.voucherPayload, undefined);
    expect(voucherOpenReply(minted.voucherSecretKey, i.sealedReply, joinerCap).whoReply).toBeUndefined();
    const j = voucherInduct(rng, minted.voucher, minted.voucherPayload, new Uint8Array(0));
    expect(voucherOpenReply(minted.voucherSecretKey, j.sealedReply, joinerCap).whoReply).toEqual(
      new Uint8Array(0),
    );
  });

  /** A payload re-encoded with `edit` applied to its decoded SignedPleaseAdd, and its own voucher. */
  function reissue(edit: (spa: Record<string, Uint8Array>) => Record<string, unknown>) {
    const vp = decodeCbor(minted.voucherPayload) as Record<string, Uint8Array>;
    const spa = decodeCbor(vp.SignedPleaseAdd!) as Record<string, Uint8Array>;
    const payload = encodeCbor({ ...vp, SignedPleaseAdd: encodeCbor(edit(spa)) });
    return { voucher: blake2b256(payload), payload };
  }

  it('answers 28, 29 and 3 in Go’s order of checks', () => {
    const who = text('x');
    expect(codeOf(() => voucherInduct(rng, new Uint8Array(32).fill(7), minted.voucherPayload, who))).toBe(28);
    expect(codeOf(() => voucherInduct(rng, minted.voucher.subarray(1), minted.voucherPayload, who))).toBe(3);
    expect(codeOf(() => voucherInduct(rng, minted.voucher, undefined, who))).toBe(28);
    const badSig = reissue((spa) => ({
      ...spa,
      Signature: spa.Signature!.map((b, k) => (k === 0 ? b ^ 1 : b)),
    }));
    expect(codeOf(() => voucherInduct(rng, badSig.voucher, badSig.payload, who))).toBe(29);
    const shortSig = reissue((spa) => ({ ...spa, Signature: spa.Signature!.subarray(1) }));
    expect(codeOf(() => voucherInduct(rng, shortSig.voucher, shortSig.payload, who))).toBe(29);
    const garbage = text('not cbor at all');
    expect(codeOf(() => voucherInduct(rng, blake2b256(garbage), garbage, who))).toBe(3);
    const nullPayload = Uint8Array.of(0xf6);
    expect(codeOf(() => voucherInduct(rng, blake2b256(nullPayload), nullPayload, who))).toBe(3);
    const trailing = Uint8Array.from([...minted.voucherPayload, 0]);
    expect(codeOf(() => voucherInduct(rng, blake2b256(trailing), trailing, who))).toBe(3);
    // A valid signature over a please-add whose read cap is not 136 bytes: 3, before the signature.
    const vp = decodeCbor(minted.voucherPayload) as Record<string, Uint8Array>;
    const bad = encodeCbor({ ...vp, VoucherPubKey: new Uint8Array(160) });
    expect(codeOf(() => voucherInduct(rng, blake2b256(bad), bad, who))).toBe(3); // key checked after the signature
  });

  it('reads CBOR as Go does: unknown keys ignored, field names matched case-insensitively', () => {
    const vp = decodeCbor(minted.voucherPayload) as Record<string, Uint8Array>;
    const payload = encodeCbor({
      voucherpubkey: vp.VoucherPubKey,
      SIGNEDPLEASEADD: vp.SignedPleaseAdd,
      Extra: 'ignored',
    });
    const i = voucherInduct(rng, blake2b256(payload), payload, text('hi'));
    expect(i.displayName).toBe('alice');
    expect(voucherOpenReply(minted.voucherSecretKey, i.sealedReply, joinerCap).whoReply).toEqual(text('hi'));
  });

  it('answers 30 for a seal that does not open and 3 for malformed keys and caps, in Go’s order', () => {
    const i = voucherInduct(rng, minted.voucher, minted.voucherPayload, text('x'));
    const other = voucherMint(rng, joinerCap, 'mallory');
    expect(codeOf(() => voucherOpenReply(other.voucherSecretKey, i.sealedReply, joinerCap))).toBe(30);
    expect(codeOf(() => voucherOpenReply(minted.voucherSecretKey, text('garbage'), joinerCap))).toBe(30);
    const tampered = i.sealedReply.slice();
    tampered[20]! ^= 1; // inside the envelope
    expect(codeOf(() => voucherOpenReply(minted.voucherSecretKey, tampered, joinerCap))).toBe(30);
    expect(
      codeOf(() => voucherOpenReply(minted.voucherSecretKey.subarray(1), i.sealedReply, joinerCap)),
    ).toBe(3);
    // The write cap is checked only once the seal is open.
    expect(
      codeOf(() => voucherOpenReply(minted.voucherSecretKey, i.sealedReply, joinerCap.subarray(1))),
    ).toBe(3);
    expect(
      codeOf(() => voucherOpenReply(minted.voucherSecretKey, text('garbage'), joinerCap.subarray(1))),
    ).toBe(30);
    expect(codeOf(() => voucherMint(rng, joinerCap.subarray(1), 'a'))).toBe(3);
    expect(codeOf(() => deriveVoucherStream(new Uint8Array(31)))).toBe(3);
    expect(codeOf(() => deriveVoucherStream(undefined))).toBe(3);
  });
});

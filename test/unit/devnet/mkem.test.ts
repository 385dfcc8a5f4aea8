import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  decapsulate,
  encapsulate,
  envelopeReply,
  isValidPublicKey,
  nikeKeypair,
  openEnvelopeReply,
} from '../../../src/devnet/pigeonhole/mkem.js';
import { Drbg, seedBytes } from '../../../src/devnet/rng.js';

describe('MKEM stand-in', () => {
  const rng = new Drbg(seedBytes('mkem'));
  const r1 = nikeKeypair(rng.bytes(32));
  const r2 = nikeKeypair(rng.bytes(32));

  it('keeps the CTIDH1024-X25519 sizes: 160-byte public keys, 162-byte private keys, 60-byte DEKs, +28 envelope', () => {
    expect(r1.publicKey.length).toBe(160);
    expect(r1.privateKey.length).toBe(162);
    const e = encapsulate(rng, [r1.publicKey, r2.publicKey], new Uint8Array(1674));
    expect(e.publicKey.length).toBe(160);
    expect(e.privateKey.length).toBe(162);
    expect(e.deks.map((d) => d.length)).toEqual([60, 60]);
    expect(e.envelope.length).toBe(1702);
  });

  it('lets each recipient open the envelope with its own DEK, and nobody else', () => {
    const msg = new TextEncoder().encode('inner message');
    const e = encapsulate(rng, [r1.publicKey, r2.publicKey], msg);
    expect(decapsulate(r1.privateKey, e.publicKey, e.deks[0]!, e.envelope)).toEqual(msg);
    expect(decapsulate(r2.privateKey, e.publicKey, e.deks[1]!, e.envelope)).toEqual(msg);
    expect(decapsulate(r1.privateKey, e.publicKey, e.deks[1]!, e.envelope)).toBeNull();
    const tampered = e.envelope.slice();
    tampered[20]! ^= 1;
    expect(decapsulate(r1.privateKey, e.publicKey, e.deks[0]!, tampered)).toBeNull();
  });

  it('encrypts replies to the sender, who opens them with the replica public key', () => {
    const e = encapsulate(rng, [r1.publicKey, r2.publicKey], new Uint8Array(4));
    const reply = envelopeReply(rng, r2.privateKey, e.publicKey, new Uint8Array(1675).fill(1));
    expect(reply.length).toBe(1703);
    expect(openEnvelopeReply(e.privateKey, r2.publicKey, reply)).toEqual(new Uint8Array(1675).fill(1));
    expect(openEnvelopeReply(e.privateKey, r1.publicKey, reply)).toBeNull();
  });

  it('computes X25519 exactly as RFC 7748 (cross-checked with noble)', () => {
    const a = rng.bytes(32);
    const b = rng.bytes(32);
    const ka = nikeKeypair(a);
    const kb = nikeKeypair(b);
    expect(ka.publicKey.subarray(0, 32)).toEqual(x25519.getPublicKey(a));
    // Both sides derive the same reply key: a reply sealed by b opens with a and b's public key.
    const sealed = envelopeReply(rng, kb.privateKey, ka.publicKey, Uint8Array.of(1, 2, 3));
    expect(openEnvelopeReply(ka.privateKey, kb.publicKey, sealed)).toEqual(Uint8Array.of(1, 2, 3));
    expect(x25519.getSharedSecret(a, x25519.getPublicKey(b))).toEqual(
      x25519.getSharedSecret(b, x25519.getPublicKey(a)),
    );
  });

  it('rejects a public key whose CTIDH stand-in half does not match its X25519 half', () => {
    expect(isValidPublicKey(r1.publicKey)).toBe(true);
    const bad = r1.publicKey.slice();
    bad[100]! ^= 1;
    expect(isValidPublicKey(bad)).toBe(false);
    expect(isValidPublicKey(new Uint8Array(32))).toBe(false);
    const e = encapsulate(rng, [r1.publicKey], new Uint8Array(4));
    expect(decapsulate(r1.privateKey, bad, e.deks[0]!, e.envelope)).toBeNull();
  });
});

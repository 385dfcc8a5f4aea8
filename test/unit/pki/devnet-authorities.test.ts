import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { authorityTrustRoot, createAuthoritySet, publicKeyPem } from '../../../src/devnet/pki/index.js';
import { publicKeySum256 } from '../../../src/pki/index.js';

describe('devnet authorities', () => {
  it('are named auth1..authN and reproducible from a seed', () => {
    const seed = new Uint8Array(32).fill(4);
    const a = createAuthoritySet({ count: 3, scheme: 'ed25519', seed });
    const b = createAuthoritySet({ count: 3, scheme: 'Ed25519', seed });
    expect(a.map((x) => x.name)).toEqual(['auth1', 'auth2', 'auth3']);
    expect(a.map((x) => x.scheme)).toEqual(['Ed25519', 'Ed25519', 'Ed25519']);
    expect(a.map((x) => bytesToHex(x.publicKey))).toEqual(b.map((x) => bytesToHex(x.publicKey)));
    expect(new Set(a.map((x) => bytesToHex(x.publicKey))).size).toBe(3);
    expect(a[0]!.identityKeyHash).toEqual(publicKeySum256(a[0]!.publicKey));
    expect(a[0]!.secretKey.length).toBe(64);
  });

  it('keep the secret key out of enumeration, JSON and the trust root', () => {
    const [a] = createAuthoritySet({ count: 1 });
    expect(Object.keys(a!)).not.toContain('secretKey');
    expect(JSON.stringify(a)).not.toContain('secretKey');
    expect(authorityTrustRoot([a!])).toEqual([{ name: 'auth1', scheme: 'Ed25519', publicKey: a!.publicKey }]);
  });

  it('refuse a count below one and an unknown scheme', () => {
    expect(() => createAuthoritySet({ count: 0 })).toThrow(RangeError);
    expect(() => createAuthoritySet({ count: 1, scheme: 'Ed448' })).toThrow(RangeError);
  });

  it('write public keys as hpqc PEM, byte-identical to Go’s pem.ToPublicPEMString', () => {
    const key = hexToBytes('519b6a583e70a86a194d3bd131f4cf065f7d481171446bb76e974e008c87c5a1');
    expect(publicKeyPem('Ed25519', key)).toBe(
      '-----BEGIN ED25519 PUBLIC KEY-----\nUZtqWD5wqGoZTTvRMfTPBl99SBFxRGu3bpdOAIyHxaE=\n-----END ED25519 PUBLIC KEY-----\n',
    );
    const hybrid = publicKeyPem('Falcon-padded-512-Ed25519', new Uint8Array(929));
    const lines = hybrid.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN FALCON-PADDED-512-ED25519 PUBLIC KEY-----');
    expect(lines.slice(1, -1).every((l) => l.length <= 64)).toBe(true);
    expect(lines.slice(1, -1).join('').length).toBe(1240);
  });
});

import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authorityTrustRoot,
  type DevnetAuthority,
  type DevnetCertificateSignature,
  encodeCertificate,
  signCertificate,
  signWithAuthority,
} from '../../../src/devnet/pki/index.js';
import { InvalidArgumentError, PkiVerificationError, ProtocolError } from '../../../src/errors.js';
import {
  certificateMessage,
  decodeCertificate,
  publicKeySum256,
  verifyPkiDocument,
  verifyPkiDocumentDetailed,
} from '../../../src/pki/index.js';
import { EPOCH, loadGoSignedFixture, makeNetwork, type Network } from './helpers.js';

/** Re-encodes a certificate after `edit` changes its signatures (or other fields). */
function reencode(
  signed: Uint8Array,
  edit: (sigs: DevnetCertificateSignature[]) => DevnetCertificateSignature[],
  fields: { version?: number; keyType?: string } = {},
): Uint8Array {
  const cert = decodeCertificate(signed);
  const sigs = cert.signatures.map((s) => ({
    key: s.key,
    publicKeySum256: s.publicKeySum256 ?? s.key,
    payload: s.payload,
  }));
  return encodeCertificate({
    version: fields.version ?? cert.version,
    expiration: cert.expiration,
    keyType: fields.keyType ?? cert.keyType,
    certified: cert.certified,
    signatures: edit(sigs),
  });
}

function slotOf(sigs: DevnetCertificateSignature[], authority: DevnetAuthority): number {
  const h = bytesToHex(publicKeySum256(authority.publicKey));
  const i = sigs.findIndex((s) => bytesToHex(s.key) === h);
  if (i < 0) throw new Error('no slot');
  return i;
}

function expectPkiError(fn: () => unknown, verified: number, threshold: number, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(PkiVerificationError);
  const err = caught as PkiVerificationError;
  expect(err.verified).toBe(verified);
  expect(err.threshold).toBe(threshold);
  if (message) expect(err.message).toMatch(message);
}

describe.each(['Ed25519', 'Falcon-padded-512-Ed25519'])(
  'verifyPkiDocument with three %s authorities',
  (scheme) => {
    let net: Network;
    let trusted: Uint8Array[];

    beforeAll(() => {
      net = makeNetwork(scheme);
      trusted = net.authorities.map((a) => a.publicKey);
    });

    it('returns the certified document, which is the stripped document, when all three signed', () => {
      const certified = verifyPkiDocument(net.doc.signed, trusted);
      expect(bytesToHex(certified)).toBe(bytesToHex(net.doc.stripped));
      expect(certified.constructor).toBe(Uint8Array);
      const detail = verifyPkiDocumentDetailed(net.doc.signed, trusted);
      expect(detail).toMatchObject({ verified: 3, threshold: 2, keyType: scheme, expiration: EPOCH + 5n });
      expect(detail.signers.map(bytesToHex).sort()).toEqual(
        net.authorities.map((a) => bytesToHex(a.identityKeyHash)).sort(),
      );
    });

    it('accepts the trust root as {scheme, publicKey} entries, the shape net.authorities has', () => {
      const certified = verifyPkiDocument(net.doc.signed, authorityTrustRoot(net.authorities), { scheme });
      expect(bytesToHex(certified)).toBe(bytesToHex(net.doc.stripped));
    });

    it('still verifies with one forged signature, but that signature does not count', () => {
      const forged = reencode(net.doc.signed, (sigs) => {
        const i = slotOf(sigs, net.authorities[1]!);
        const payload = sigs[i]!.payload.slice();
        payload[payload.length - 1]! ^= 0x80; // breaks the Ed25519 half (and so the hybrid)
        sigs[i] = { ...sigs[i]!, payload };
        return sigs;
      });
      expect(verifyPkiDocumentDetailed(forged, trusted).verified).toBe(2);
      expectPkiError(() => verifyPkiDocument(forged, trusted, { threshold: 3 }), 2, 3, /2 of 3/);
    });

    it('rejects a document whose signatures were moved to another authority’s slot', () => {
      const swapped = reencode(net.doc.signed, (sigs) => {
        const a = slotOf(sigs, net.authorities[0]!);
        const b = slotOf(sigs, net.authorities[1]!);
        const pa = sigs[a]!.payload;
        sigs[a] = { ...sigs[a]!, payload: sigs[b]!.payload };
        sigs[b] = { ...sigs[b]!, payload: pa };
        return sigs;
      });
      expectPkiError(() => verifyPkiDocument(swapped, trusted), 1, 2);
    });

    it('counts a key listed several times in the trust root once', () => {
      const onlyFirst = signCertificate(net.doc.stripped, [net.authorities[0]!], { expiration: EPOCH + 5n });
      const a = net.authorities[0]!.publicKey;
      // n = 2 distinct keys → threshold 2; the duplicate must not make A's signature count twice.
      expectPkiError(() => verifyPkiDocument(onlyFirst, [a, a.slice(), a, trusted[1]!]), 1, 2, /1 of 2/);
      // Listing the same key three times is one trusted authority: threshold 1, met once.
      expect(verifyPkiDocumentDetailed(onlyFirst, [a, a, a])).toMatchObject({ verified: 1, threshold: 1 });
      expect(() => verifyPkiDocument(onlyFirst, [a, a, a], { threshold: 2 })).toThrow(InvalidArgumentError);
    });

    it('ignores a valid signature by a key outside the trust root', () => {
      const withOutsider = signCertificate(net.doc.stripped, [net.authorities[0]!, net.outsider], {
        expiration: EPOCH + 5n,
      });
      expectPkiError(() => verifyPkiDocument(withOutsider, trusted), 1, 2, /1 of 3/);
    });

    it('does not credit a trusted authority with an outsider’s signature filed under its key hash', () => {
      const message = certificateMessage(decodeCertificate(net.doc.signed));
      const byOutsider = signWithAuthority(net.outsider, message);
      const impersonated = reencode(net.doc.signed, (sigs) => {
        for (const victim of net.authorities.slice(1)) {
          const i = slotOf(sigs, victim);
          sigs[i] = { ...sigs[i]!, payload: byOutsider };
        }
        return sigs;
      });
      expectPkiError(() => verifyPkiDocument(impersonated, trusted), 1, 2);
    });

    it('reports how many verified and how many were needed when below threshold', () => {
      const one = signCertificate(net.doc.stripped, [net.authorities[2]!], { expiration: EPOCH + 5n });
      expectPkiError(() => verifyPkiDocument(one, trusted), 1, 2, /threshold not met: 1 of 3 .* 2 required/);
      const none = encodeCertificate({
        expiration: EPOCH + 5n,
        keyType: scheme,
        certified: net.doc.stripped,
        signatures: null,
      });
      expectPkiError(() => verifyPkiDocument(none, trusted), 0, 2);
    });

    it('rejects a certificate whose KeyType is not a supported scheme or not the expected one', () => {
      const ed448 = signCertificate(net.doc.stripped, net.authorities, {
        expiration: EPOCH + 5n,
        keyType: 'Ed448',
        allowKeyTypeMismatch: true,
      });
      expectPkiError(() => verifyPkiDocument(ed448, trusted), 0, 2, /KeyType "Ed448"/);
      const other = scheme === 'Ed25519' ? 'Falcon-padded-512-Ed25519' : 'Ed25519';
      // The application expects the other scheme (its keys say which they are): the KeyType must match it.
      const typed = net.authorities.map((a) => ({ scheme: a.scheme, publicKey: a.publicKey }));
      expectPkiError(() => verifyPkiDocument(net.doc.signed, typed, { scheme: other }), 0, 2, /unexpected/);
      // Renaming the KeyType also changes the signed message, so the signatures no longer verify either.
      const renamed = reencode(net.doc.signed, (s) => s, { keyType: other });
      expect(() => verifyPkiDocument(renamed, trusted)).toThrow(PkiVerificationError);
    });

    it('rejects a certificate with an unknown Version', () => {
      const v1 = reencode(net.doc.signed, (s) => s, { version: 1 });
      expectPkiError(() => verifyPkiDocument(v1, trusted), 0, 2, /version 1/);
    });
  },
);

describe('verifyPkiDocument on malformed input (Ed25519)', () => {
  let net: Network;
  let trusted: Uint8Array[];

  beforeAll(() => {
    net = makeNetwork('Ed25519');
    trusted = net.authorities.map((a) => a.publicKey);
  });

  const rejectsCleanly = (payload: Uint8Array) => {
    try {
      verifyPkiDocument(payload, trusted);
    } catch (e) {
      if (e instanceof ProtocolError || e instanceof PkiVerificationError) return true;
      throw e;
    }
    return false;
  };

  it('throws ProtocolError for empty, truncated and non-certificate payloads', () => {
    expect(() => verifyPkiDocument(new Uint8Array(0), trusted)).toThrow(ProtocolError);
    for (const cut of [1, 5, 40, 1000, net.doc.signed.length - 1]) {
      expect(() => verifyPkiDocument(net.doc.signed.subarray(0, cut), trusted)).toThrow(ProtocolError);
    }
    expect(() => verifyPkiDocument(Uint8Array.of(0x83, 1, 2, 3), trusted)).toThrow(ProtocolError); // an array
    expect(() => verifyPkiDocument(new TextEncoder().encode('hello'), trusted)).toThrow(ProtocolError);
    expect(() => verifyPkiDocument(Uint8Array.of(...net.doc.signed, 0), trusted)).toThrow(ProtocolError);
  });

  it('never crashes on random bytes, truncations or single-byte corruptions', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(rejectsCleanly(bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
    const signed = net.doc.signed;
    fc.assert(
      fc.property(fc.nat(signed.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = signed.slice();
        bad[at]! ^= xor;
        // Corrupting a byte may leave a verifiable document (e.g. inside an unused signature); it must never
        // throw anything but the two documented errors.
        try {
          verifyPkiDocument(bad, trusted);
        } catch (e) {
          expect(e instanceof ProtocolError || e instanceof PkiVerificationError).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('rejects an expired certificate when the current epoch is given, as Go does', () => {
    expect(() => verifyPkiDocument(net.doc.signed, trusted, { currentEpoch: EPOCH + 4n })).not.toThrow();
    expectPkiError(
      () => verifyPkiDocument(net.doc.signed, trusted, { currentEpoch: EPOCH + 5n }),
      0,
      2,
      /expired/,
    );
  });

  it('rejects unusable arguments with InvalidArgumentError before looking at the payload', () => {
    expect(() => verifyPkiDocument(net.doc.signed, [])).toThrow(InvalidArgumentError);
    expect(() => verifyPkiDocument(net.doc.signed, trusted, { threshold: 0 })).toThrow(InvalidArgumentError);
    expect(() => verifyPkiDocument(net.doc.signed, trusted, { threshold: 4 })).toThrow(InvalidArgumentError);
    expect(() => verifyPkiDocument(net.doc.signed, trusted, { threshold: 1.5 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => verifyPkiDocument(net.doc.signed, trusted, { scheme: 'RSA' })).toThrow(InvalidArgumentError);
    expect(() =>
      verifyPkiDocument(net.doc.signed, [{ scheme: 'Falcon-padded-512-Ed25519', publicKey: trusted[0]! }]),
    ).toThrow(InvalidArgumentError);
    expect(() => verifyPkiDocument(new Uint8Array(0), [new Uint8Array(0)])).toThrow(InvalidArgumentError);
  });

  it('lets an explicit threshold be stricter than the default', () => {
    expect(verifyPkiDocumentDetailed(net.doc.signed, trusted, { threshold: 3 }).verified).toBe(3);
    const two = signCertificate(net.doc.stripped, net.authorities.slice(0, 2), { expiration: EPOCH + 5n });
    expect(() => verifyPkiDocument(two, trusted)).not.toThrow();
    expectPkiError(() => verifyPkiDocument(two, trusted, { threshold: 3 }), 2, 3);
  });
});

describe('interoperability with Katzenpost’s Go code (fixture built by core/pki + core/cert)', () => {
  const go = loadGoSignedFixture();

  it('verifies a document that Go built and three Go authorities signed', () => {
    const detail = verifyPkiDocumentDetailed(go.signed, go.authorityPublicKeys, { scheme: 'Ed25519' });
    expect(detail.verified).toBe(3);
    expect(bytesToHex(detail.certified)).toBe(bytesToHex(go.certified));
    expect(detail.expiration).toBe(BigInt(go.epoch) + 5n);
  });

  it('has the devnet signer reproduce Go’s certificate byte for byte from the same keys', () => {
    const authorities = go.authorityPrivateKeys.map((secretKey, i) => ({
      name: `go${i + 1}`,
      scheme: 'Ed25519' as const,
      publicKey: go.authorityPublicKeys[i]!,
      identityKeyHash: publicKeySum256(go.authorityPublicKeys[i]!),
      secretKey,
    }));
    const ours = signCertificate(go.certified, authorities, { expiration: BigInt(go.epoch) + 5n });
    expect(bytesToHex(ours)).toBe(bytesToHex(go.signed));
  });
});

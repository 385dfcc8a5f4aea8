/**
 * Katzenpost certificates (katzenpost `core/cert/cert.go`).
 *
 * A certificate is a CBOR map `{Version, Expiration, KeyType, Certified, Signatures}` where `Signatures` maps
 * BLAKE2b-256(signer public key) (a 32-byte byte string) to `{PublicKeySum256, Payload}`. Every signature
 * covers `u32LE(Version) ‖ u64LE(Expiration) ‖ UTF-8(KeyType) ‖ Certified`, with no separators.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import type { SignatureScheme } from '../crypto/sign.js';
import { ProtocolError } from '../errors.js';
import {
  asBytes,
  asBytesOrNull,
  asMap,
  asMapOrNull,
  asText,
  asUint64,
  asUintSmall,
  decodeCbor,
  describe,
  field,
  toHex,
} from './cbor.js';

/** `cert.CertVersion`: the only certificate format version. */
export const CERTIFICATE_VERSION = 0;

export interface CertificateSignature {
  /** The map key under which the signature was stored (BLAKE2b-256 of the signer's key, when honest). */
  key: Uint8Array;
  /** The embedded `PublicKeySum256`, or null when the entry has none (then `key` identifies the signer). */
  publicKeySum256: Uint8Array | null;
  /** The signature bytes. */
  payload: Uint8Array;
}

export interface Certificate {
  version: number;
  expiration: bigint;
  keyType: string;
  certified: Uint8Array;
  /** In the order they appear in the encoding. */
  signatures: CertificateSignature[];
}

/** BLAKE2b-256 of a public key: the certificate's signature index and `PublicKeySum256`. */
export function publicKeySum256(publicKey: Uint8Array): Uint8Array {
  return blake2b(publicKey, { dkLen: 32 });
}

/**
 * Decodes a certificate. Structural problems (not CBOR, not a map, a field of the wrong type, a Version that
 * does not fit a uint32) throw ProtocolError. Semantic checks (Version, KeyType, expiry, signatures) are left
 * to the verifier.
 */
export function decodeCertificate(bytes: Uint8Array): Certificate {
  const map = asMap(decodeCbor(bytes, 'certificate'), 'certificate');
  const version = asUintSmall(field(map, 'Version'), 'certificate Version', 0xffff_ffff);
  const expiration = asUint64(field(map, 'Expiration'), 'certificate Expiration');
  const keyType = asText(field(map, 'KeyType'), 'certificate KeyType');
  const certified = asBytesOrNull(field(map, 'Certified'), 'certificate Certified') ?? new Uint8Array(0);
  const signatureMap = asMapOrNull(field(map, 'Signatures'), 'certificate Signatures');
  const signatures: CertificateSignature[] = [];
  if (signatureMap !== null) {
    for (const [key, value] of signatureMap) {
      if (!(key instanceof Uint8Array)) {
        throw new ProtocolError(`certificate Signatures: expected byte-string keys, got ${describe(key)}`);
      }
      const entry = asMap(value, 'certificate signature');
      signatures.push({
        key: asBytes(key, 'certificate signature key'),
        publicKeySum256: asBytesOrNull(
          field(entry, 'PublicKeySum256'),
          'certificate signature PublicKeySum256',
        ),
        payload: asBytesOrNull(field(entry, 'Payload'), 'certificate signature Payload') ?? new Uint8Array(0),
      });
    }
  }
  return { version, expiration, keyType, certified, signatures };
}

/** The bytes every signature covers: `u32LE(Version) ‖ u64LE(Expiration) ‖ UTF-8(KeyType) ‖ Certified`. */
export function certificateMessage(
  cert: Pick<Certificate, 'version' | 'expiration' | 'keyType' | 'certified'>,
): Uint8Array {
  const keyType = new TextEncoder().encode(cert.keyType);
  const out = new Uint8Array(4 + 8 + keyType.length + cert.certified.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, cert.version >>> 0, true);
  view.setBigUint64(4, BigInt.asUintN(64, cert.expiration), true);
  out.set(keyType, 12);
  out.set(cert.certified, 12 + keyType.length);
  return out;
}

export interface CertificateVerifier {
  scheme: SignatureScheme;
  publicKey: Uint8Array;
}

export type SignatureCheck = 'verified' | 'not-found' | 'bad-signature';

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Checks one verifier's signature, like Go's `cert.Verify` without its sanity checks: the entry is found by
 * its embedded `PublicKeySum256` (or by its map key when it has none) equal to BLAKE2b-256(verifier key), and
 * its `Payload` must verify over `certificateMessage`. Go stops at the first matching entry; a certificate
 * with several entries claiming the same signer is malformed, and here any one of them that verifies counts
 * (it is a valid signature by that key either way).
 */
export function verifyCertificateSignature(
  cert: Certificate,
  verifier: CertificateVerifier,
  message: Uint8Array = certificateMessage(cert),
): SignatureCheck {
  const sum = publicKeySum256(verifier.publicKey);
  let found = false;
  for (const sig of cert.signatures) {
    if (!equal(sig.publicKeySum256 ?? sig.key, sum)) continue;
    found = true;
    if (verifier.scheme.verify(verifier.publicKey, message, sig.payload)) return 'verified';
  }
  return found ? 'bad-signature' : 'not-found';
}

export interface ThresholdResult {
  /** True iff at least `threshold` distinct verifiers verified. */
  ok: boolean;
  certified: Uint8Array;
  /** How many distinct verifier keys verified. */
  verified: number;
  threshold: number;
  /** Distinct verifiers whose signature verified. */
  good: CertificateVerifier[];
  /** Distinct verifiers without a valid signature, with the reason. */
  bad: { verifier: CertificateVerifier; reason: Exclude<SignatureCheck, 'verified'> }[];
}

/**
 * Go's `cert.VerifyThreshold` over an already decoded certificate, minus the sanity checks (the caller checks
 * Version, KeyType and expiry). Verifiers are de-duplicated by BLAKE2b-256 of their key, so a key listed twice
 * counts once. Does not throw: the caller decides what a failure means.
 */
export function verifyThreshold(
  cert: Certificate,
  verifiers: readonly CertificateVerifier[],
  threshold: number,
): ThresholdResult {
  const message = certificateMessage(cert);
  const seen = new Set<string>();
  const good: CertificateVerifier[] = [];
  const bad: ThresholdResult['bad'] = [];
  for (const verifier of verifiers) {
    const id = toHex(publicKeySum256(verifier.publicKey));
    if (seen.has(id)) continue;
    seen.add(id);
    const check = verifyCertificateSignature(cert, verifier, message);
    if (check === 'verified') good.push(verifier);
    else bad.push({ verifier, reason: check });
  }
  return {
    ok: good.length >= threshold,
    certified: cert.certified.slice(),
    verified: good.length,
    threshold,
    good,
    bad,
  };
}

/**
 * Hash helpers with hpqc's exact parameters (hpqc `hash/hash.go`; HKDF as `hkdf.New(blake2b.New512, …)`).
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';

/**
 * BLAKE2b with the digest-length parameter set to 32 (Go's `blake2b.Sum256`). This is not a truncated
 * BLAKE2b-512. Used for WriteCapHash, EnvelopeHash, certificate key hashes and MKEM keys (katzenpost
 * pigeonhole/helpers.go, client/pigeonhole.go, core/cert/cert.go; hpqc kem/mkem/mkem.go).
 */
export function blake2b256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

/**
 * HKDF over unkeyed BLAKE2b-512 (Go's `hkdf.New(blake2b.New512, ikm, salt, info)`), returning the first
 * `length` bytes of the stream. An absent or empty salt behaves like Go's nil salt (HMAC zero-pads the key).
 */
export function hkdfBlake2b512(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array | undefined,
  length: number,
): Uint8Array {
  return hkdf(blake2b, ikm, salt, info, length);
}

/**
 * Directory-authority signing keys for the devnet, in hpqc's byte layouts (hpqc sign/ed25519/eddsa.go,
 * sign/hybrid/hybrid.go).
 *
 * Written directly on noble, independently of the client's `src/crypto/sign.ts`, so that a layout mistake on
 * one side shows up as a verification failure instead of being mirrored.
 *
 * - Ed25519: public 32 bytes; private 64 bytes = seed ‖ public (Go's `ed25519.PrivateKey`).
 * - Falcon-padded-512-Ed25519: public = Falcon pk (897) ‖ Ed25519 pk (32); private = Falcon sk (1281) ‖
 *   Ed25519 private (64); signature = Falcon padded signature (666) ‖ Ed25519 signature (64), both over the
 *   same message.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { falcon512padded } from '@noble/post-quantum/falcon.js';
import { joinBytes } from '../bytes.js';

export type DevnetSchemeName = 'Ed25519' | 'Falcon-padded-512-Ed25519';

/** The hpqc spelling of a scheme name given in any case (hpqc's `schemes.ByName` is case-insensitive). */
export function canonicalSchemeName(name: string): DevnetSchemeName {
  switch (name.toLowerCase()) {
    case 'ed25519':
      return 'Ed25519';
    case 'falcon-padded-512-ed25519':
      return 'Falcon-padded-512-Ed25519';
    default:
      throw new RangeError(`devnet: unsupported PKI signature scheme ${JSON.stringify(name)}`);
  }
}

/** Bytes of key material one keypair takes: Ed25519 seed 32; hybrid = Falcon keygen randomness 48 + 32. */
export function keyMaterialLength(scheme: DevnetSchemeName): number {
  return scheme === 'Ed25519' ? 32 : 48 + 32;
}

export interface DevnetKeypair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

const join = (...parts: Uint8Array[]): Uint8Array => joinBytes(parts);

function edFromSeed(seed: Uint8Array): DevnetKeypair {
  const pub = ed25519.getPublicKey(seed);
  return { publicKey: pub, secretKey: join(seed, pub) };
}

/** A keypair from `keyMaterialLength(scheme)` bytes. */
export function keypairFromMaterial(scheme: DevnetSchemeName, material: Uint8Array): DevnetKeypair {
  if (material.length !== keyMaterialLength(scheme)) {
    throw new RangeError(`devnet: ${scheme} key material must be ${keyMaterialLength(scheme)} bytes`);
  }
  if (scheme === 'Ed25519') return edFromSeed(material.slice());
  const falcon = falcon512padded.keygen(material.slice(0, 48));
  const ed = edFromSeed(material.slice(48, 80));
  return { publicKey: join(falcon.publicKey, ed.publicKey), secretKey: join(falcon.secretKey, ed.secretKey) };
}

/**
 * Key material for keypair number `index`: from `seed` by HKDF-BLAKE2b-512 when given (a reproducible
 * network), otherwise random.
 */
export function keyMaterial(
  scheme: DevnetSchemeName,
  seed: Uint8Array | undefined,
  label: string,
): Uint8Array {
  const n = keyMaterialLength(scheme);
  if (seed === undefined) return crypto.getRandomValues(new Uint8Array(n));
  const enc = new TextEncoder();
  return hkdf(blake2b, seed, enc.encode('katzenpost-ts devnet pki v1'), enc.encode(`${scheme}/${label}`), n);
}

/** Ed25519 with a Go 64-byte private key (RFC 8032 over the seed half). */
function edSign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (secretKey.length !== 64) throw new RangeError('devnet: Ed25519 private key must be 64 bytes');
  return ed25519.sign(message, secretKey.subarray(0, 32));
}

/** `scheme.Sign(priv, message, nil)`: randomized for the Falcon half, as in Go. */
export function schemeSign(scheme: DevnetSchemeName, secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (scheme === 'Ed25519') return edSign(secretKey, message);
  if (secretKey.length !== 1281 + 64) throw new RangeError('devnet: hybrid private key must be 1345 bytes');
  const falconSig = falcon512padded.sign(message, secretKey.subarray(0, 1281));
  return join(falconSig, edSign(secretKey.subarray(1281), message));
}

/** BLAKE2b-256, hpqc's `hash.Sum256`. */
export function sum256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

/**
 * Signature schemes by their hpqc names, with hpqc's exact wire layouts (hpqc `sign/ed25519/eddsa.go`,
 * `sign/hybrid/hybrid.go` and `sign/hybrid/falcon.go`).
 *
 * - `Ed25519`: public key 32 bytes, secret key 64 bytes (Go layout: seed ‖ public key), signature 64 bytes,
 *   pure RFC 8032.
 * - `Falcon-padded-512-Ed25519` (hpqc `sign/hybrid`): every object is the Falcon-padded-512 half followed by
 *   the Ed25519 half. Public key 897 + 32 = 929 bytes, secret key 1281 + 64 = 1345 bytes, signature
 *   666 + 64 = 730 bytes. Both halves sign the same raw message, with no prefix or prehash, and both must
 *   verify.
 *
 * `verify` never throws: a key or signature of the wrong length, or any malformed input, gives `false`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { falcon512padded } from '@noble/post-quantum/falcon.js';
import { InvalidArgumentError } from '../errors.js';

export type SignatureSchemeName = 'Ed25519' | 'Falcon-padded-512-Ed25519';

export interface SignatureKeypair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface SignOptions {
  /**
   * Randomness for the Falcon half (a 40-byte nonce is drawn first, then the 48-byte sampler seed). Only for
   * reproducing test vectors; leave unset in production so that signing is randomized, as in Go.
   * Ignored by Ed25519, which is deterministic.
   */
  falconRandom?: (length: number) => Uint8Array;
}

export interface SignatureScheme {
  /** The hpqc scheme name, exactly as it appears in a certificate's `KeyType`. */
  readonly name: SignatureSchemeName;
  readonly publicKeySize: number;
  readonly secretKeySize: number;
  readonly signatureSize: number;
  /** Bytes `keypairFromSeed` takes. */
  readonly seedSize: number;
  /**
   * A deterministic keypair. Ed25519: the 32-byte RFC 8032 seed. Hybrid: 80 bytes = the 48 bytes PQClean's
   * Falcon keygen draws from `randombytes` ‖ the 32-byte Ed25519 seed. (hpqc has no key derivation for
   * Falcon; this layout is ours, chosen so that hpqc's vector recipe is reproducible.)
   */
  keypairFromSeed(seed: Uint8Array): SignatureKeypair;
  /** A fresh random keypair. */
  generateKeypair(): SignatureKeypair;
  sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

const ED_PK = 32;
const ED_SK = 64;
const ED_SIG = 64;
const ED_SEED = 32;
const FALCON_PK = 897;
const FALCON_SK = 1281;
const FALCON_SIG = 666;
const FALCON_SEED = 48;

function checkLength(field: string, value: Uint8Array, length: number): void {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(field, `expected a Uint8Array of ${length} bytes`);
  }
  if (value.length !== length) {
    throw new InvalidArgumentError(field, `expected ${length} bytes, got ${value.length}`);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function edKeypair(seed: Uint8Array): SignatureKeypair {
  const publicKey = ed25519.getPublicKey(seed);
  return { publicKey, secretKey: concat(seed, publicKey) };
}

/**
 * Ed25519 signing with a Go-layout 64-byte key. Go signs with the stored public half; a key whose stored half
 * does not belong to its seed would make signatures that never verify, so such a key is refused.
 */
function edSign(secretKey: Uint8Array, message: Uint8Array, field: string): Uint8Array {
  checkLength(field, secretKey, ED_SK);
  const seed = secretKey.subarray(0, ED_SEED);
  if (!bytesEqual(ed25519.getPublicKey(seed), secretKey.subarray(ED_SEED))) {
    throw new InvalidArgumentError(field, 'the stored Ed25519 public key does not match the seed');
  }
  return ed25519.sign(message, seed);
}

function edVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED_PK || signature.length !== ED_SIG) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function isBytes(...values: unknown[]): boolean {
  return values.every((v) => v instanceof Uint8Array);
}

const ed25519Scheme: SignatureScheme = Object.freeze({
  name: 'Ed25519' as const,
  publicKeySize: ED_PK,
  secretKeySize: ED_SK,
  signatureSize: ED_SIG,
  seedSize: ED_SEED,
  keypairFromSeed(seed: Uint8Array): SignatureKeypair {
    checkLength('seed', seed, ED_SEED);
    return edKeypair(Uint8Array.from(seed));
  },
  generateKeypair(): SignatureKeypair {
    return edKeypair(ed25519.utils.randomSecretKey());
  },
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
    return edSign(secretKey, message, 'secretKey');
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!isBytes(publicKey, message, signature)) return false;
    return edVerify(publicKey, message, signature);
  },
});

/** noble's Falcon `sign` takes a `random` hook that its exported `Signer` type does not declare. */
const falconSignWithRandom = falcon512padded.sign as (
  message: Uint8Array,
  secretKey: Uint8Array,
  options: { random: (length: number) => Uint8Array },
) => Uint8Array;

function hybridKeypair(falconSeed: Uint8Array, edSeed: Uint8Array): SignatureKeypair {
  const f = falcon512padded.keygen(falconSeed);
  const e = edKeypair(edSeed);
  return { publicKey: concat(f.publicKey, e.publicKey), secretKey: concat(f.secretKey, e.secretKey) };
}

const falconPadded512Ed25519Scheme: SignatureScheme = Object.freeze({
  name: 'Falcon-padded-512-Ed25519' as const,
  publicKeySize: FALCON_PK + ED_PK,
  secretKeySize: FALCON_SK + ED_SK,
  signatureSize: FALCON_SIG + ED_SIG,
  seedSize: FALCON_SEED + ED_SEED,
  keypairFromSeed(seed: Uint8Array): SignatureKeypair {
    checkLength('seed', seed, FALCON_SEED + ED_SEED);
    return hybridKeypair(seed.slice(0, FALCON_SEED), seed.slice(FALCON_SEED));
  },
  generateKeypair(): SignatureKeypair {
    const seed = new Uint8Array(FALCON_SEED + ED_SEED);
    crypto.getRandomValues(seed);
    return hybridKeypair(seed.slice(0, FALCON_SEED), seed.slice(FALCON_SEED));
  },
  sign(secretKey: Uint8Array, message: Uint8Array, options: SignOptions = {}): Uint8Array {
    checkLength('secretKey', secretKey, FALCON_SK + ED_SK);
    const falconSecret = secretKey.subarray(0, FALCON_SK);
    const edSecret = secretKey.subarray(FALCON_SK);
    const falconSig =
      options.falconRandom === undefined
        ? falcon512padded.sign(message, falconSecret)
        : falconSignWithRandom(message, falconSecret, { random: options.falconRandom });
    if (falconSig.length !== FALCON_SIG) {
      // The padded variant always pads to 666 bytes; anything else would break the hybrid layout.
      throw new InvalidArgumentError('secretKey', `Falcon produced a ${falconSig.length}-byte signature`);
    }
    return concat(falconSig, edSign(edSecret, message, 'secretKey'));
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!isBytes(publicKey, message, signature)) return false;
    if (publicKey.length !== FALCON_PK + ED_PK || signature.length !== FALCON_SIG + ED_SIG) return false;
    let falconOk: boolean;
    try {
      falconOk = falcon512padded.verify(
        signature.subarray(0, FALCON_SIG),
        message,
        publicKey.subarray(0, FALCON_PK),
      );
    } catch {
      return false;
    }
    if (!falconOk) return false;
    return edVerify(publicKey.subarray(FALCON_PK), message, signature.subarray(FALCON_SIG));
  },
});

const SCHEMES: readonly SignatureScheme[] = [ed25519Scheme, falconPadded512Ed25519Scheme];

/** The scheme names this module implements, in hpqc spelling. */
export const SIGNATURE_SCHEME_NAMES: readonly SignatureSchemeName[] = SCHEMES.map((s) => s.name);

/** Like `getSignatureScheme`, but `undefined` for an unknown name. */
export function findSignatureScheme(name: string): SignatureScheme | undefined {
  if (typeof name !== 'string') return undefined;
  // hpqc's schemes.ByName lower-cases the name before the lookup.
  const wanted = name.toLowerCase();
  return SCHEMES.find((s) => s.name.toLowerCase() === wanted);
}

/**
 * The scheme with this hpqc name, matched case-insensitively like hpqc's `schemes.ByName`.
 * @throws InvalidArgumentError for a name this module does not implement.
 */
export function getSignatureScheme(name: string): SignatureScheme {
  const scheme = findSignatureScheme(name);
  if (scheme === undefined) {
    throw new InvalidArgumentError(
      'scheme',
      `unsupported signature scheme ${JSON.stringify(name)}; supported: ${SIGNATURE_SCHEME_NAMES.join(', ')}`,
    );
  }
  return scheme;
}

export { ed25519Scheme, falconPadded512Ed25519Scheme };

/**
 * `verifyPkiDocument`: check the daemon's raw signed PKI document (the `payload` of
 * `get_pki_document_reply`) against authority keys the application trusts, and return the certified
 * document bytes, as katzenpost `core/cert/cert.go` VerifyThreshold does.
 */
import { findSignatureScheme, type SignatureScheme } from '../crypto/sign.js';
import { InvalidArgumentError, PkiVerificationError } from '../errors.js';
import { toHex } from './cbor.js';
import {
  CERTIFICATE_VERSION,
  type CertificateVerifier,
  decodeCertificate,
  publicKeySum256,
  verifyThreshold,
} from './cert.js';

/** A trusted authority key: its raw bytes, or the bytes with the scheme they belong to. */
export type TrustedPublicKey =
  | Uint8Array
  | {
      /** The key's signature scheme (e.g. `Ed25519`); default: the `scheme` option, else the certificate's `KeyType`. */
      scheme?: string;
      /** The raw public key bytes. */
      publicKey: Uint8Array;
    };

/** Options of `verifyPkiDocument` and `verifyPkiDocumentDetailed`. */
export interface VerifyPkiDocumentOptions {
  /** Distinct trusted keys that must have signed. Default floor(n/2)+1, n = distinct trusted keys. */
  threshold?: number;
  /**
   * The scheme the caller expects (e.g. `Falcon-padded-512-Ed25519`). When set, a certificate whose `KeyType`
   * names another scheme is rejected. When unset, the scheme named by `KeyType` is used for keys that do not
   * carry their own.
   */
  scheme?: string;
  /**
   * The current Katzenpost epoch. When given, a certificate with `Expiration <= currentEpoch` is rejected
   * as expired, as Go's sanity check does. Not checked when absent: the epoch clock depends on the network.
   */
  currentEpoch?: bigint | number;
}

/** What `verifyPkiDocumentDetailed` returns. */
export interface PkiVerificationResult {
  /** The certified bytes: the CBOR Document. */
  certified: Uint8Array;
  /** The certificate's `KeyType`: the signature scheme it names. */
  keyType: string;
  /** The certificate's `Expiration` epoch. */
  expiration: bigint;
  /** Distinct trusted keys whose signature verified. */
  verified: number;
  /** How many were required. */
  threshold: number;
  /** BLAKE2b-256 of each trusted key that verified (the `identity_key_hash` of the authority). */
  signers: Uint8Array[];
}

interface TrustedKey {
  publicKey: Uint8Array;
  /** Explicit scheme (from the key or the options), or undefined: take the certificate's. */
  scheme: SignatureScheme | undefined;
}

function resolveScheme(name: unknown, field: string): SignatureScheme {
  if (typeof name !== 'string') throw new InvalidArgumentError(field, 'expected a scheme name');
  const scheme = findSignatureScheme(name);
  if (scheme === undefined) {
    throw new InvalidArgumentError(field, `unsupported signature scheme ${JSON.stringify(name)}`);
  }
  return scheme;
}

function normalizeTrusted(
  trustedPublicKeys: readonly TrustedPublicKey[],
  optionScheme: SignatureScheme | undefined,
): TrustedKey[] {
  if (!Array.isArray(trustedPublicKeys) || trustedPublicKeys.length === 0) {
    throw new InvalidArgumentError('trustedPublicKeys', 'expected a non-empty array of public keys');
  }
  const seen = new Set<string>();
  const keys: TrustedKey[] = [];
  trustedPublicKeys.forEach((entry, i) => {
    const field = `trustedPublicKeys[${i}]`;
    let publicKey: unknown;
    let scheme = optionScheme;
    if (entry instanceof Uint8Array) {
      publicKey = entry;
    } else if (typeof entry === 'object' && entry !== null) {
      publicKey = entry.publicKey;
      if (entry.scheme !== undefined) scheme = resolveScheme(entry.scheme, `${field}.scheme`);
    }
    if (!(publicKey instanceof Uint8Array) || publicKey.length === 0) {
      throw new InvalidArgumentError(field, 'expected a public key as a non-empty Uint8Array');
    }
    if (scheme !== undefined && publicKey.length !== scheme.publicKeySize) {
      throw new InvalidArgumentError(
        field,
        `a ${scheme.name} public key is ${scheme.publicKeySize} bytes, got ${publicKey.length}`,
      );
    }
    // Distinct by key bytes, as Go's VerifyThreshold de-duplicates by key hash: a key listed twice is one
    // authority, and counts once both towards n and towards the verified signatures.
    const id = toHex(publicKeySum256(publicKey));
    if (seen.has(id)) return;
    seen.add(id);
    keys.push({ publicKey: publicKey.slice(), scheme });
  });
  return keys;
}

function resolveThreshold(threshold: number | undefined, distinct: number): number {
  if (threshold === undefined) return Math.floor(distinct / 2) + 1;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new InvalidArgumentError('threshold', `expected an integer ≥ 1, got ${threshold}`);
  }
  if (threshold > distinct) {
    throw new InvalidArgumentError(
      'threshold',
      `${threshold} exceeds the ${distinct} distinct trusted key(s); it could never be met`,
    );
  }
  return threshold;
}

/**
 * Like `verifyPkiDocument`, returning the details (signers, KeyType, expiration) as well.
 * @throws InvalidArgumentError for unusable arguments (no keys, a bad threshold, an unknown scheme name).
 * @throws ProtocolError when the payload is not a CBOR certificate.
 * @throws PkiVerificationError when the certificate is well formed but does not verify.
 */
export function verifyPkiDocumentDetailed(
  payload: Uint8Array,
  trustedPublicKeys: readonly TrustedPublicKey[],
  options: VerifyPkiDocumentOptions = {},
): PkiVerificationResult {
  if (!(payload instanceof Uint8Array)) {
    throw new InvalidArgumentError('payload', 'expected the signed document as a Uint8Array');
  }
  const optionScheme = options.scheme === undefined ? undefined : resolveScheme(options.scheme, 'scheme');
  const trusted = normalizeTrusted(trustedPublicKeys, optionScheme);
  const threshold = resolveThreshold(options.threshold, trusted.length);
  let currentEpoch: bigint | undefined;
  if (options.currentEpoch !== undefined) {
    if (typeof options.currentEpoch === 'number' && !Number.isSafeInteger(options.currentEpoch)) {
      throw new InvalidArgumentError('currentEpoch', 'expected an integer epoch');
    }
    currentEpoch = BigInt(options.currentEpoch);
  }

  const cert = decodeCertificate(payload);
  const reject = (message: string): never => {
    throw new PkiVerificationError(message, 0, threshold);
  };

  if (cert.version !== CERTIFICATE_VERSION) {
    reject(`unknown certificate version ${cert.version} (expected ${CERTIFICATE_VERSION})`);
  }
  if (cert.keyType === '') reject('the certificate has no KeyType');
  const certScheme = findSignatureScheme(cert.keyType);
  if (certScheme === undefined) {
    reject(`the certificate's KeyType ${JSON.stringify(cert.keyType)} is not a supported signature scheme`);
  }
  const scheme = certScheme as SignatureScheme;
  if (optionScheme !== undefined && optionScheme !== scheme) {
    reject(`unexpected certificate KeyType ${JSON.stringify(cert.keyType)}, expected ${optionScheme.name}`);
  }
  if (currentEpoch !== undefined && currentEpoch >= cert.expiration) {
    reject(`the certificate expired at epoch ${cert.expiration} (current epoch ${currentEpoch})`);
  }
  if (cert.certified.length === 0) reject('the certificate certifies no document');

  // A key whose scheme is not the certificate's can never verify it; it stays in n but cannot count.
  const verifiers: CertificateVerifier[] = [];
  for (const key of trusted) {
    const keyScheme = key.scheme ?? scheme;
    if (keyScheme !== scheme) continue;
    verifiers.push({ scheme, publicKey: key.publicKey });
  }
  const result = verifyThreshold(cert, verifiers, threshold);
  if (!result.ok) {
    throw new PkiVerificationError(
      `PKI document signature threshold not met: ${result.verified} of ${trusted.length} trusted ` +
        `authorities verified, ${threshold} required (KeyType ${cert.keyType}, ` +
        `${cert.signatures.length} signature(s) in the certificate)`,
      result.verified,
      threshold,
    );
  }
  return {
    certified: result.certified,
    keyType: cert.keyType,
    expiration: cert.expiration,
    verified: result.verified,
    threshold,
    signers: result.good.map((v) => publicKeySum256(v.publicKey)),
  };
}

/**
 * Verifies the signed PKI document (`get_pki_document_reply.payload`, a `cert.Certificate`) against the
 * application's trusted authority keys and returns the certified document bytes (decode them with
 * `decodePkiDocument`).
 *
 * Each distinct trusted key counts at most once, however often it is listed and however many signatures the
 * certificate carries for it; a signature counts only if it verifies under that key over the certificate's
 * message. Default threshold: floor(n/2)+1 over the distinct trusted keys.
 *
 * @throws InvalidArgumentError for unusable arguments (no keys, a bad threshold, an unknown scheme name).
 * @throws ProtocolError when the payload is not a CBOR certificate.
 * @throws PkiVerificationError (with `verified` and `threshold`) when it does not verify: wrong Version, an
 *   unsupported or unexpected KeyType, expiry (when `currentEpoch` is given), or too few valid signatures.
 */
export function verifyPkiDocument(
  payload: Uint8Array,
  trustedPublicKeys: readonly TrustedPublicKey[],
  options: VerifyPkiDocumentOptions = {},
): Uint8Array {
  return verifyPkiDocumentDetailed(payload, trustedPublicKeys, options).certified;
}

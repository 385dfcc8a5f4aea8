/**
 * Certificates as katzenpost's `core/cert/cert.go` writes them: `cert.Certificate` in canonical CBOR,
 * `{Version uint32, Expiration uint64, KeyType string, Certified []byte,
 *   Signatures map[[32]byte]{PublicKeySum256 [32]byte, Payload []byte}}`.
 */
import type { DevnetAuthority } from './authorities.js';
import { signWithAuthority } from './authorities.js';
import { type CborItem, cbor, encodeCbor } from './cbor.js';
import { sum256 } from './keys.js';

/** `cert.CertVersion`. */
export const CERT_VERSION = 0;

export interface DevnetCertificateSignature {
  /** The map key: BLAKE2b-256 of the signer's public key. */
  key: Uint8Array;
  /** The embedded `PublicKeySum256`; defaults to `key`. */
  publicKeySum256?: Uint8Array;
  payload: Uint8Array;
}

export interface DevnetCertificateFields {
  version?: number;
  expiration: bigint | number;
  keyType: string;
  certified: Uint8Array;
  /** null encodes a nil map (CBOR null), as Go does for a certificate nobody signed. */
  signatures: readonly DevnetCertificateSignature[] | null;
}

/** What each signature covers: `u32LE(Version) ‖ u64LE(Expiration) ‖ KeyType ‖ Certified` (`message()`). */
export function certificateSigningMessage(
  version: number,
  expiration: bigint | number,
  keyType: string,
  certified: Uint8Array,
): Uint8Array {
  const kt = new TextEncoder().encode(keyType);
  const out = new Uint8Array(12 + kt.length + certified.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, version, true);
  view.setBigUint64(4, BigInt(expiration), true);
  out.set(kt, 12);
  out.set(certified, 12 + kt.length);
  return out;
}

/** `cert.Marshal()`: canonical CBOR of the certificate struct. */
export function encodeCertificate(fields: DevnetCertificateFields): Uint8Array {
  let signatures: CborItem = cbor.null();
  if (fields.signatures !== null) {
    signatures = cbor.map(
      fields.signatures.map(
        (s) =>
          [
            cbor.bytes(s.key),
            cbor.struct([
              ['PublicKeySum256', cbor.bytes(s.publicKeySum256 ?? s.key)],
              ['Payload', cbor.bytes(s.payload)],
            ]),
          ] as const,
      ),
    );
  }
  return encodeCbor(
    cbor.struct([
      ['Version', cbor.uint(fields.version ?? CERT_VERSION)],
      ['Expiration', cbor.uint(fields.expiration)],
      ['KeyType', cbor.text(fields.keyType)],
      ['Certified', cbor.bytes(fields.certified)],
      ['Signatures', signatures],
    ]),
    'canonical',
  );
}

export interface SignCertificateOptions {
  /** Katzenpost epoch at which the certificate expires (PKI documents: document epoch + 5). */
  expiration: bigint | number;
  /** Default: the authorities' scheme name. */
  keyType?: string;
  /**
   * Go's `SignMulti` refuses a signer whose scheme name is not the KeyType. Set this to make such a
   * (broken) certificate anyway, e.g. for negative tests.
   */
  allowKeyTypeMismatch?: boolean;
}

/**
 * The raw certificate bytes Go's `cert.Sign` + `cert.SignMulti` produce for `certified` signed by every
 * authority given (a subset of the set makes a partially signed document). One signature per distinct key.
 */
export function signCertificate(
  certified: Uint8Array,
  authorities: readonly DevnetAuthority[],
  options: SignCertificateOptions,
): Uint8Array {
  if (certified.length === 0) throw new RangeError('devnet: a certificate must certify something');
  const keyType = options.keyType ?? authorities[0]?.scheme;
  if (keyType === undefined || keyType === '') throw new RangeError('devnet: a certificate needs a KeyType');
  const message = certificateSigningMessage(CERT_VERSION, options.expiration, keyType, certified);
  const signatures = new Map<string, DevnetCertificateSignature>();
  for (const authority of authorities) {
    if (authority.scheme !== keyType && !options.allowKeyTypeMismatch) {
      throw new RangeError(
        `devnet: authority ${authority.name} (${authority.scheme}) cannot sign KeyType ${keyType}`,
      );
    }
    const key = sum256(authority.publicKey);
    signatures.set(Buffer.from(key).toString('hex'), { key, payload: signWithAuthority(authority, message) });
  }
  return encodeCertificate({
    version: CERT_VERSION,
    expiration: options.expiration,
    keyType,
    certified,
    signatures: signatures.size === 0 ? null : [...signatures.values()],
  });
}

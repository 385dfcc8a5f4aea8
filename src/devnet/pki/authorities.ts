/**
 * The devnet's directory authorities: named signing keys for the PKI document.
 */
import {
  canonicalSchemeName,
  type DevnetSchemeName,
  keyMaterial,
  keypairFromMaterial,
  schemeSign,
  sum256,
} from './keys.js';

export interface DevnetAuthority {
  /** `auth1`, `auth2`, … (docker's names) unless names were given. */
  readonly name: string;
  /** hpqc scheme name, as the certificate's KeyType and the document's PKISignatureScheme. */
  readonly scheme: DevnetSchemeName;
  readonly publicKey: Uint8Array;
  /** BLAKE2b-256(publicKey): the certificate signature index and `identity_key_hash`. */
  readonly identityKeyHash: Uint8Array;
  /** hpqc private key bytes. Not enumerable, so it stays out of logs and JSON. */
  readonly secretKey: Uint8Array;
}

export interface AuthoritySetOptions {
  count: number;
  /** `Ed25519` (docker's default) or `Falcon-padded-512-Ed25519`; any case. Default `Ed25519`. */
  scheme?: string;
  /** Makes the keys reproducible. Without it they are random. */
  seed?: Uint8Array;
  /** Names instead of auth1..authN. */
  names?: readonly string[];
}

export function createAuthoritySet(options: AuthoritySetOptions): DevnetAuthority[] {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1) throw new RangeError('devnet: authority count must be ≥ 1');
  if (options.names !== undefined && options.names.length !== count) {
    throw new RangeError('devnet: need one name per authority');
  }
  const scheme = canonicalSchemeName(options.scheme ?? 'Ed25519');
  const out: DevnetAuthority[] = [];
  for (let i = 0; i < count; i++) {
    const name = options.names?.[i] ?? `auth${i + 1}`;
    const { publicKey, secretKey } = keypairFromMaterial(
      scheme,
      keyMaterial(scheme, options.seed, `authority/${i}`),
    );
    const authority = { name, scheme, publicKey, identityKeyHash: sum256(publicKey) } as DevnetAuthority;
    Object.defineProperty(authority, 'secretKey', { value: secretKey, enumerable: false });
    out.push(Object.freeze(authority));
  }
  return out;
}

/** `scheme.Sign(priv, message)` with the authority's key. */
export function signWithAuthority(authority: DevnetAuthority, message: Uint8Array): Uint8Array {
  return schemeSign(authority.scheme, authority.secretKey, message);
}

/** The public part (`net.authorities`): what a client passes to `verifyPkiDocument`. */
export function authorityTrustRoot(
  authorities: readonly DevnetAuthority[],
): { name: string; scheme: string; publicKey: Uint8Array }[] {
  return authorities.map((a) => ({ name: a.name, scheme: a.scheme, publicKey: a.publicKey.slice() }));
}

/**
 * hpqc's public-key PEM (`sign/pem.ToPublicPEMBytes`, Go `pem.EncodeToMemory`): type = upper-cased scheme name
 * + " PUBLIC KEY", body = the raw key bytes, base64 in 64-character lines. For `identity_public_key_pem` in
 * `get_directory_authorities_reply`.
 */
export function publicKeyPem(scheme: string, publicKey: Uint8Array): string {
  const type = `${scheme.toUpperCase()} PUBLIC KEY`;
  const b64 = Buffer.from(publicKey).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

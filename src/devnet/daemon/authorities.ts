/**
 * `get_directory_authorities`: the daemon's configured voting-authority peers as thin-client
 * DirectoryAuthority records (kp:client/pigeonhole.go `dirauthDescriptor`): keys as hpqc PEM
 * (`<SCHEME NAME IN CAPITALS> PUBLIC KEY`), `identity_key_hash` = BLAKE2b-256 of the identity key.
 */
import { blake2b256 } from '../../crypto/hash.js';
import type { DirectoryAuthorityBody } from '../../wire/schema.js';
import { publicKeyPem } from '../pki/index.js';

export interface AuthorityInfo {
  name: string;
  scheme: string;
  publicKey: Uint8Array;
  /** The authority's link (wire KEM) public key; X-Wing in docker. */
  linkKey: Uint8Array;
  wireKemScheme: string;
  addresses: string[];
}

export function authorityDescriptors(list: readonly AuthorityInfo[]): DirectoryAuthorityBody[] {
  return list.map((a) => ({
    identifier: a.name,
    pki_signature_scheme: a.scheme,
    wire_kem_scheme: a.wireKemScheme,
    addresses: [...a.addresses],
    identity_public_key_pem: publicKeyPem(a.scheme, a.publicKey),
    link_public_key_pem: publicKeyPem(a.wireKemScheme, a.linkKey),
    identity_key_hash: blake2b256(a.publicKey),
  }));
}

export {
  type AuthoritySetOptions,
  authorityTrustRoot,
  createAuthoritySet,
  type DevnetAuthority,
  publicKeyPem,
  signWithAuthority,
} from './authorities.js';
export { type CborEncoding, type CborItem, cbor, encodeCbor } from './cbor.js';
export {
  CERT_VERSION,
  certificateSigningMessage,
  type DevnetCertificateFields,
  type DevnetCertificateSignature,
  encodeCertificate,
  type SignCertificateOptions,
  signCertificate,
} from './certificate.js';
export {
  buildPkiDocument,
  buildSignedPkiDocument,
  computeSharedRandomValue,
  createDevnetNodeList,
  DEFAULT_SERVICE_KAETZCHEN,
  DEVNET_KEY_SIZES,
  type DevnetNodeList,
  type DevnetNodeListOptions,
  type DevnetNodeSpec,
  type DevnetPkiDocumentParams,
  type DevnetReplicaSpec,
  DOCUMENT_VERSION,
  type EpochKeyed,
  type KaetzchenMap,
  type KaetzchenValue,
  type SignedPkiDocument,
  type SignedPkiDocumentOptions,
  sharedRandomCommitReveal,
} from './document.js';
export { canonicalSchemeName, type DevnetKeypair, type DevnetSchemeName } from './keys.js';

export {
  CERTIFICATE_VERSION,
  type Certificate,
  type CertificateSignature,
  type CertificateVerifier,
  certificateMessage,
  decodeCertificate,
  publicKeySum256,
  type SignatureCheck,
  type ThresholdResult,
  verifyCertificateSignature,
  verifyThreshold,
} from './cert.js';
export {
  decodeMixDescriptor,
  decodePkiDocument,
  decodePkiDocumentMap,
  type MixDescriptor,
  PKI_DOCUMENT_VERSION,
  type PkiDocument,
  type ReplicaDescriptor,
} from './document.js';
export { findServices, type ServiceDescriptor } from './services.js';
export {
  type PkiVerificationResult,
  type TrustedPublicKey,
  type VerifyPkiDocumentOptions,
  verifyPkiDocument,
  verifyPkiDocumentDetailed,
} from './verify.js';

/**
 * katzenpost-thin-client: a TypeScript thin client for the Katzenpost mix network (kpclientd).
 *
 * @example
 * import { ThinClient, loadConfig } from 'katzenpost-thin-client';
 * const client = await ThinClient.connect(await loadConfig('thinclient.toml'));
 */

export { loadConfig } from './config.js';
export type { NodeKind } from './inspector/kinds.js';
export {
  createInspectionRecords,
  type InspectionRecords,
  type LifecycleStep,
  type NodeRecord,
  type Phase,
  type RecordChange,
  type RecordsOptions,
} from './inspector/records.js';
export {
  type InspectOption,
  redactInspection,
  sanitize,
  sanitizeInspectionEvent,
} from './inspector/redact.js';
export {
  type InspectorServer,
  type InspectorServerOptions,
  startInspectorServer,
} from './inspector/server.js';
export { createFileTraceRecorder, createTraceRecorder, type TraceRow } from './inspector/trace.js';
export { buildTree, type TreeFilter, type TreeNode } from './inspector/tree.js';
export {
  type FlushReport,
  MemoryOfflineStorage,
  OfflineQueue,
  type OfflineQueueOptions,
  type OfflineQueueStorage,
  type QueuedEnvelope,
  type SendOutcome,
} from './offlineQueue.js';
// ---- Pigeonhole building blocks (src/pigeonhole/) ----
// WriteChannel and ReadChannel live behind katzenpost-thin-client/sqlite (src/sqlite.ts); their errors,
// share strings and types (channelExports.ts) need no SQLite.
export * from './pigeonhole/channelExports.js';
export {
  type CheckpointStore,
  MemoryCheckpointStore,
} from './pigeonhole/checkpoint.js';
export { FileCheckpointStore } from './pigeonhole/checkpointFileStore.js';
export {
  type CopyOptions,
  type CopyResult,
  copyToChannel,
  copyToChannels,
  discardCopy,
  pendingCopies,
  resumeCopy,
  tombstoneRangeViaCopy,
} from './pigeonhole/copy.js';
export {
  chunkPayload,
  FrameReassembler,
  framedBoxCount,
  framePayload,
  LENGTH_PREFIX_SIZE,
  readLengthPrefix,
  reassemblePayload,
} from './pigeonhole/framing.js';
export {
  autoWindow,
  readStream,
  type StreamOptions,
  type StreamProgress,
  writeStream,
} from './pigeonhole/streams.js';
export {
  decodePkiDocument,
  findServices,
  type MixDescriptor,
  type PkiDocument,
  type PkiVerificationResult,
  type ReplicaDescriptor,
  type ServiceDescriptor,
  type TrustedPublicKey,
  type VerifyPkiDocumentOptions,
  verifyPkiDocument,
  verifyPkiDocumentDetailed,
} from './pki/index.js';
export type {
  VoucherInductResult,
  VoucherMintResult,
  VoucherOpenResult,
  VoucherStreamResult,
} from './protocol/voucherTypes.js';
export * from './publicApi.js';

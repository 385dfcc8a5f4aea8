/**
 * The names that the main entry (src/index.ts) and the browser entry (src/browser.ts) both export:
 * the client, its options and results, the config parser, the errors and the events. Kept in one
 * place so that the two entries cannot drift apart.
 */
export type { ReconnectPolicy } from '../machines/connection.js';
export type { WaitingReadsOption } from '../machines/registry.js';
export {
  type BlockingSendOptions,
  type CallOptions,
  type Clock,
  type ConnectOptions,
  type CopyCommandOptions,
  type CourierEnvelopesResult,
  type DestinationPayload,
  type DirectoryAuthority,
  type EncryptResult,
  type KeypairResult,
  type MultiPayloadEnvelopesResult,
  type StartResendingParams,
  type StartResendingResult,
  ThinClient,
  type TombstoneEnvelope,
  type TombstoneRangeEnvelopesResult,
  type TombstoneRangeResult,
} from './client.js';
export { type Config, configToToml, type DialConfig, parseConfig } from './config.js';
export {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  ClientClosedError,
  ConfigError,
  ConnectionLostError,
  CopyCommandFailedError,
  CourierError,
  DaemonError,
  InvalidArgumentError,
  isExpectedOutcome,
  NotConnectedError,
  OperationCancelledError,
  PayloadTooLargeError,
  PkiVerificationError,
  ProtocolError,
  ReplicaError,
  ThinClientError,
  type ThinClientErrorOptions,
  TimeoutError,
  TombstoneError,
  VoucherHashMismatchError,
  VoucherSealOpenFailedError,
  VoucherSignatureInvalidError,
} from './errors.js';
export type {
  ConnectionStatusEvent,
  DaemonConnectedEvent,
  DaemonDisconnectedEvent,
  EventOfType,
  EventsOptions,
  LaggedEvent,
  MessageIdGarbageCollectedEvent,
  MessageReplyEvent,
  MessageSentEvent,
  NewPkiDocumentEvent,
  PigeonholeGeometry,
  ProtocolErrorEvent,
  ShutdownEvent,
  SphinxGeometry,
  ThinClientEvent,
  ThinClientEventType,
  UnknownEvent,
} from './events.js';

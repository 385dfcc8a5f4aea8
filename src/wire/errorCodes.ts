/**
 * The daemon's error codes and how they become error classes (thin-client codes: katzenpost
 * client/thin/thin_messages.go; replica codes: pigeonhole/errors.go).
 *
 * `start_resending_encrypted_message_reply.error_code` is a *mixed* field: replica codes 1–11
 * pass through, plus thin-client codes 3, 4, 12, 13, 22–25, 31, 32. Values collide (3, 4), and we
 * read them the way the daemon actually uses them there: 3 = invalid request, 4 = internal error.
 * That deliberately differs from the Go/Python/Rust clients, which report 3/4 as replica errors.
 */
import {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  CopyCommandFailedError,
  CourierError,
  DaemonError,
  OperationCancelledError,
  PayloadTooLargeError,
  ReplicaError,
  type ThinClientError,
  TombstoneError,
  VoucherHashMismatchError,
  VoucherSealOpenFailedError,
  VoucherSignatureInvalidError,
} from '../errors.js';

/** Thin-client namespace (kp:client/thin/thin_messages.go). */
export const ThinCode = {
  Success: 0,
  ConnectionLost: 1,
  Timeout: 2,
  InvalidRequest: 3,
  InternalError: 4,
  MaxRetries: 5,
  ServiceUnavailable: 10,
  CourierCacheCorruption: 12,
  PropagationError: 13,
  MkemDecryptionFailed: 22,
  BacapDecryptionFailed: 23,
  StartResendingCancelled: 24,
  InvalidTombstoneSignature: 25,
  CopyCommandFailed: 26,
  PayloadTooLarge: 27,
  VoucherHashMismatch: 28,
  VoucherSignatureInvalid: 29,
  VoucherSealOpenFailed: 30,
  CourierInvalidEnvelope: 31,
  CourierInvalidEpoch: 32,
} as const;

/** Pigeonhole replica namespace (kp:pigeonhole/errors.go). */
export const ReplicaCode = {
  Success: 0,
  BoxIdNotFound: 1,
  InvalidBoxId: 2,
  InvalidSignature: 3,
  DatabaseFailure: 4,
  InvalidPayload: 5,
  StorageFull: 6,
  InternalError: 7,
  InvalidEpoch: 8,
  ReplicationFailed: 9,
  BoxAlreadyExists: 10,
  Tombstone: 11,
} as const;

const THIN_STRINGS: Record<number, string> = {
  0: 'Success',
  1: 'Connection lost',
  2: 'Timeout',
  3: 'Invalid request',
  4: 'Internal error',
  5: 'Maximum retries exceeded',
  6: 'Invalid channel',
  7: 'Channel not found',
  8: 'Permission denied',
  9: 'Invalid payload',
  10: 'Service unavailable',
  11: 'Duplicate capability',
  12: 'Courier cache corruption',
  13: 'Propagation error',
  14: 'Invalid write capability',
  15: 'Invalid read capability',
  16: 'Invalid resume write channel request',
  17: 'Invalid resume read channel request',
  18: 'Impossible hash error',
  19: 'Failed to create new write capability',
  20: 'Failed to create new stateful writer',
  21: 'Capability already in use',
  22: 'MKEM decryption failed',
  23: 'BACAP decryption failed',
  24: 'Start resending cancelled',
  25: 'Invalid tombstone signature',
  26: 'Copy command failed',
  27: 'Payload too large',
  28: 'Voucher payload does not hash to the voucher',
  29: 'Voucher signed please-add did not verify',
  30: 'Voucher sealed reply could not be opened',
  31: 'Courier rejected the envelope as malformed',
  32: 'Courier rejected the envelope: replica epoch outside tolerance window',
};

const REPLICA_STRINGS: Record<number, string> = {
  0: 'Success',
  1: 'Box ID not found',
  2: 'Invalid box ID',
  3: 'Invalid signature',
  4: 'Database failure',
  5: 'Invalid payload',
  6: 'Storage full',
  7: 'Replica internal error',
  8: 'Invalid epoch',
  9: 'Replication failed',
  10: 'Box already exists',
  11: 'Tombstone',
};

export function thinCodeString(code: number): string {
  return THIN_STRINGS[code] ?? `Unknown thin client error code: ${code}`;
}

export function replicaCodeString(code: number): string {
  return REPLICA_STRINGS[code] ?? `Unknown replica error code: ${code}`;
}

/** Thin-namespace codes (any reply's error_code except the mixed one). */
export function errorForThinCode(code: number, operation: string): ThinClientError {
  const message = `${operation}: ${thinCodeString(code)} (code ${code})`;
  switch (code) {
    case ThinCode.StartResendingCancelled:
      return new OperationCancelledError(message);
    case ThinCode.PayloadTooLarge:
      return new PayloadTooLargeError(message, { daemonCode: code });
    case ThinCode.VoucherHashMismatch:
      return new VoucherHashMismatchError(message);
    case ThinCode.VoucherSignatureInvalid:
      return new VoucherSignatureInvalidError(message);
    case ThinCode.VoucherSealOpenFailed:
      return new VoucherSealOpenFailedError(message);
    case ThinCode.CourierCacheCorruption:
    case ThinCode.PropagationError:
    case ThinCode.CourierInvalidEnvelope:
    case ThinCode.CourierInvalidEpoch:
      return new CourierError(code, message);
    default:
      return new DaemonError(code, message);
  }
}

/** The mixed `start_resending_encrypted_message_reply.error_code`. */
export function errorForEncryptedMessageCode(code: number): ThinClientError {
  const op = 'start_resending_encrypted_message';
  switch (code) {
    case ReplicaCode.BoxIdNotFound:
      return new BoxIdNotFoundError();
    case ReplicaCode.BoxAlreadyExists:
      return new BoxAlreadyExistsError();
    case ReplicaCode.Tombstone:
      return new TombstoneError();
    case ThinCode.InvalidRequest:
    case ThinCode.InternalError:
      return errorForThinCode(code, op);
    case ReplicaCode.InvalidBoxId:
    case ReplicaCode.InvalidPayload:
    case ReplicaCode.StorageFull:
    case ReplicaCode.InternalError:
    case ReplicaCode.InvalidEpoch:
    case ReplicaCode.ReplicationFailed:
      return new ReplicaError(code, `${op}: replica error: ${replicaCodeString(code)} (code ${code})`);
    default:
      return errorForThinCode(code, op);
  }
}

/** `start_resending_copy_command_reply`: thin namespace, with replica detail on code 26. */
export function errorForCopyCommandReply(
  code: number,
  replicaErrorCode = 0,
  failedEnvelopeIndex = 0n,
): ThinClientError {
  if (code === ThinCode.CopyCommandFailed)
    return new CopyCommandFailedError(replicaErrorCode, failedEnvelopeIndex);
  return errorForThinCode(code, 'start_resending_copy_command');
}

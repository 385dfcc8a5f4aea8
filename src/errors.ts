/**
 * Every error this library throws or rejects with extends ThinClientError.
 *
 * `code` is a stable string for programs to branch on; `daemonCode` and `replicaCode` carry the
 * numbers the daemon sent, when it sent any. Expected outcomes of the Pigeonhole protocol
 * (BoxIDNotFound, BoxAlreadyExists, Tombstone) are errors too, as in the reference clients, and
 * `isExpectedOutcome` tells them apart from real failures.
 */

/** What a ThinClientError may carry besides its code and message. */
export interface ThinClientErrorOptions {
  /** The error that led to this one (kept as the standard `Error.cause`). */
  cause?: unknown;
  /** The daemon's error code (thin-client namespace), when the daemon sent one. */
  daemonCode?: number;
  /** The replica's error code (replica namespace), when the failure came from a storage replica. */
  replicaCode?: number;
}

/**
 * The base class of every error this library throws or rejects with.
 *
 * @example
 * try {
 *   await client.startResendingEncryptedMessage(read);
 * } catch (err) {
 *   if (err instanceof BoxIdNotFoundError) return null; // not written yet: try again later
 *   if (err instanceof ThinClientError) console.error(err.code, err.daemonCode, err.message);
 *   throw err;
 * }
 */
export class ThinClientError extends Error {
  /** A stable string to branch on, e.g. `ERR_BOX_ID_NOT_FOUND`; it never changes between versions. */
  readonly code: string;
  /** The daemon's error code (thin-client namespace), when the daemon sent one; otherwise undefined. */
  readonly daemonCode: number | undefined;
  /** The replica's error code (replica namespace), when a storage replica sent one; otherwise undefined. */
  readonly replicaCode: number | undefined;

  constructor(code: string, message: string, options: ThinClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.daemonCode = options.daemonCode;
    this.replicaCode = options.replicaCode;
  }

  /** The class's own name (`BoxIdNotFoundError`, …), also for the subclasses. */
  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * The shape most errors share: a fixed code, a default message, and default daemon/replica codes that
 * the options may override. `class X extends errorWithDefaults(...) {}` keeps X's own name.
 */
function errorWithDefaults(
  code: string,
  defaultMessage: string,
  defaults: ThinClientErrorOptions = {},
): new (
  message?: string,
  options?: ThinClientErrorOptions,
) => ThinClientError {
  return class extends ThinClientError {
    constructor(message = defaultMessage, options: ThinClientErrorOptions = {}) {
      super(code, message, { ...defaults, ...options });
    }
  };
}

/** A caller's argument is malformed (wrong length, wrong type); nothing was sent. */
export class InvalidArgumentError extends ThinClientError {
  /** The argument (or option path, e.g. `reconnect.factor`) that was rejected; it also starts the message. */
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_INVALID_ARGUMENT', `${field}: ${message}`);
    this.field = field;
  }
}

/** thinclient.toml (or a config object) is unusable. */
export class ConfigError extends ThinClientError {
  /** The offending TOML key or config property (e.g. `Dial.Tcp.Address`), when one is to blame. */
  readonly key: string | undefined;
  constructor(message: string, options: ThinClientErrorOptions & { key?: string } = {}) {
    super('ERR_CONFIG', message, options);
    this.key = options.key;
  }
}

/** The daemon sent bytes that are not a valid frame, CBOR item or message. */
export class ProtocolError extends ThinClientError {
  constructor(message: string, options: ThinClientErrorOptions = {}) {
    super('ERR_PROTOCOL', message, options);
  }
}

/** A network request was made while the client has no usable daemon or mixnet connection. */
export class NotConnectedError extends errorWithDefaults(
  'ERR_NOT_CONNECTED',
  'not connected to the daemon',
) {}

/** The daemon connection went away while a call that cannot be replayed was waiting. */
export class ConnectionLostError extends errorWithDefaults(
  'ERR_CONNECTION_LOST',
  'connection to the daemon lost',
) {}

/** close() was called (or the client is closed) while this call was pending. */
export class ClientClosedError extends errorWithDefaults('ERR_CLIENT_CLOSED', 'the thin client was closed') {}

/** The operation was cancelled (daemon code 24, or a cancel call / AbortSignal). */
export class OperationCancelledError extends errorWithDefaults('ERR_CANCELLED', 'operation cancelled', {
  daemonCode: 24,
}) {}

/** Replica code 1: the box has not been written (yet). An expected outcome. */
export class BoxIdNotFoundError extends errorWithDefaults('ERR_BOX_ID_NOT_FOUND', 'box ID not found', {
  daemonCode: 1,
  replicaCode: 1,
}) {}

/** Replica code 10: the box already holds a different message. An expected outcome. */
export class BoxAlreadyExistsError extends errorWithDefaults('ERR_BOX_ALREADY_EXISTS', 'box already exists', {
  daemonCode: 10,
  replicaCode: 10,
}) {}

/** Replica code 11: the box was deleted with a tombstone. An expected outcome. */
export class TombstoneError extends errorWithDefaults('ERR_TOMBSTONE', 'box is tombstoned', {
  daemonCode: 11,
  replicaCode: 11,
}) {}

/** Daemon code 26: the courier could not execute a copy command. */
export class CopyCommandFailedError extends ThinClientError {
  /** The replica's error code (replica namespace); 0 when the courier gave none. */
  readonly replicaErrorCode: number;
  /** 1-based position of the failing element in the copy stream; 0n when unknown. */
  readonly failedEnvelopeIndex: bigint;
  constructor(replicaErrorCode: number, failedEnvelopeIndex: bigint, options: ThinClientErrorOptions = {}) {
    super(
      'ERR_COPY_COMMAND_FAILED',
      `copy command failed (replica error ${replicaErrorCode}, envelope ${failedEnvelopeIndex})`,
      { daemonCode: 26, replicaCode: replicaErrorCode || undefined, ...options },
    );
    this.replicaErrorCode = replicaErrorCode;
    this.failedEnvelopeIndex = failedEnvelopeIndex;
  }
}

/** A payload exceeds what one box (or one frame) can carry. */
export class PayloadTooLargeError extends ThinClientError {
  constructor(message: string, options: ThinClientErrorOptions = {}) {
    super('ERR_PAYLOAD_TOO_LARGE', message, options);
  }
}

/** The signed PKI document did not verify against the trusted authority keys. */
export class PkiVerificationError extends ThinClientError {
  /** How many distinct trusted authorities' signatures verified. */
  readonly verified: number;
  /** How many were required. */
  readonly threshold: number;
  constructor(message: string, verified: number, threshold: number, options: ThinClientErrorOptions = {}) {
    super('ERR_PKI_VERIFICATION', message, options);
    this.verified = verified;
    this.threshold = threshold;
  }
}

/** A replica error without a class of its own (replica namespace, katzenpost pigeonhole/errors.go). */
export class ReplicaError extends ThinClientError {
  constructor(replicaCode: number, message: string, options: ThinClientErrorOptions = {}) {
    super('ERR_REPLICA', message, { daemonCode: replicaCode, replicaCode, ...options });
  }
}

/** A courier rejected the envelope (daemon codes 12, 13, 31, 32). */
export class CourierError extends ThinClientError {
  constructor(daemonCode: number, message: string, options: ThinClientErrorOptions = {}) {
    super('ERR_COURIER', message, { daemonCode, ...options });
  }
}

/** Any other non-zero daemon error code (thin-client namespace, katzenpost client/thin/thin_messages.go). */
export class DaemonError extends ThinClientError {
  constructor(daemonCode: number, message: string, options: ThinClientErrorOptions = {}) {
    super('ERR_DAEMON', message, { daemonCode, ...options });
  }
}

/** Daemon code 28: the voucher payload does not hash to the voucher (wrong or altered payload). */
export class VoucherHashMismatchError extends errorWithDefaults(
  'ERR_VOUCHER_HASH_MISMATCH',
  'voucher payload does not hash to the voucher',
  { daemonCode: 28 },
) {}

/** Daemon code 29: the voucher payload's signed please-add did not verify under its read cap. */
export class VoucherSignatureInvalidError extends errorWithDefaults(
  'ERR_VOUCHER_SIGNATURE_INVALID',
  'voucher signed please-add did not verify',
  { daemonCode: 29 },
) {}

/** Daemon code 30: the sealed voucher reply could not be opened with this voucher secret key. */
export class VoucherSealOpenFailedError extends errorWithDefaults(
  'ERR_VOUCHER_SEAL_OPEN_FAILED',
  'voucher sealed reply could not be opened',
  { daemonCode: 30 },
) {}

/** The guide's IsExpectedOutcome: true exactly for BoxIDNotFound, BoxAlreadyExists and Tombstone. */
export function isExpectedOutcome(err: unknown): boolean {
  return (
    err instanceof BoxIdNotFoundError || err instanceof BoxAlreadyExistsError || err instanceof TombstoneError
  );
}

/** A request had no answer within its deadline (`requestTimeoutMs`, or the call's `timeoutMs`). */
export class TimeoutError extends errorWithDefaults('ERR_TIMEOUT', 'the request timed out') {}

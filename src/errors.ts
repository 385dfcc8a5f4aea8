/**
 * Every error this library throws or rejects with extends ThinClientError.
 *
 * `code` is a stable string for programs to branch on; `daemonCode` and `replicaCode` carry the
 * numbers the daemon sent, when it sent any. Expected outcomes of the Pigeonhole protocol
 * (BoxIDNotFound, BoxAlreadyExists, Tombstone) are errors too, as in the reference clients, and
 * `isExpectedOutcome` tells them apart from real failures.
 */

export interface ThinClientErrorOptions {
  cause?: unknown;
  daemonCode?: number;
  replicaCode?: number;
}

export class ThinClientError extends Error {
  readonly code: string;
  readonly daemonCode: number | undefined;
  readonly replicaCode: number | undefined;

  constructor(code: string, message: string, options: ThinClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.daemonCode = options.daemonCode;
    this.replicaCode = options.replicaCode;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** A caller's argument is malformed (wrong length, wrong type); nothing was sent. */
export class InvalidArgumentError extends ThinClientError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_INVALID_ARGUMENT', `${field}: ${message}`);
    this.field = field;
  }
}

/** thinclient.toml (or a config object) is unusable. */
export class ConfigError extends ThinClientError {
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
export class NotConnectedError extends ThinClientError {
  constructor(message = 'not connected to the daemon', options: ThinClientErrorOptions = {}) {
    super('ERR_NOT_CONNECTED', message, options);
  }
}

/** The daemon connection went away while a call that cannot be replayed was waiting. */
export class ConnectionLostError extends ThinClientError {
  constructor(message = 'connection to the daemon lost', options: ThinClientErrorOptions = {}) {
    super('ERR_CONNECTION_LOST', message, options);
  }
}

/** close() was called (or the client is closed) while this call was pending. */
export class ClientClosedError extends ThinClientError {
  constructor(message = 'the thin client was closed', options: ThinClientErrorOptions = {}) {
    super('ERR_CLIENT_CLOSED', message, options);
  }
}

/** The operation was cancelled (daemon code 24, or a cancel call / AbortSignal). */
export class OperationCancelledError extends ThinClientError {
  constructor(message = 'operation cancelled', options: ThinClientErrorOptions = {}) {
    super('ERR_CANCELLED', message, { daemonCode: 24, ...options });
  }
}

/** Replica code 1: the box has not been written (yet). An expected outcome. */
export class BoxIdNotFoundError extends ThinClientError {
  constructor(message = 'box ID not found', options: ThinClientErrorOptions = {}) {
    super('ERR_BOX_ID_NOT_FOUND', message, { daemonCode: 1, replicaCode: 1, ...options });
  }
}

/** Replica code 10: the box already holds a different message. An expected outcome. */
export class BoxAlreadyExistsError extends ThinClientError {
  constructor(message = 'box already exists', options: ThinClientErrorOptions = {}) {
    super('ERR_BOX_ALREADY_EXISTS', message, { daemonCode: 10, replicaCode: 10, ...options });
  }
}

/** Replica code 11: the box was deleted with a tombstone. An expected outcome. */
export class TombstoneError extends ThinClientError {
  constructor(message = 'box is tombstoned', options: ThinClientErrorOptions = {}) {
    super('ERR_TOMBSTONE', message, { daemonCode: 11, replicaCode: 11, ...options });
  }
}

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

/** A replica error without a class of its own (replica namespace, spec/wire-protocol.md §6.2). */
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

/** Any other non-zero daemon error code (thin-client namespace, spec/wire-protocol.md §6.1). */
export class DaemonError extends ThinClientError {
  constructor(daemonCode: number, message: string, options: ThinClientErrorOptions = {}) {
    super('ERR_DAEMON', message, { daemonCode, ...options });
  }
}

/** The guide's IsExpectedOutcome: true exactly for BoxIDNotFound, BoxAlreadyExists and Tombstone. */
export function isExpectedOutcome(err: unknown): boolean {
  return (
    err instanceof BoxIdNotFoundError || err instanceof BoxAlreadyExistsError || err instanceof TombstoneError
  );
}

/** A request had no answer within its deadline (`requestTimeoutMs`, or the call's `timeoutMs`). */
export class TimeoutError extends ThinClientError {
  constructor(message = 'the request timed out', options: ThinClientErrorOptions = {}) {
    super('ERR_TIMEOUT', message, options);
  }
}

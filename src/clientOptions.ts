/**
 * The options of ThinClient.connect and of its calls, their defaults, and their checks.
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';
import type { ReconnectPolicy } from '../machines/connection.js';
import type { WaitingReadsOption } from '../machines/registry.js';
import { InvalidArgumentError } from './errors.js';
import type { InspectOption } from './inspector/redact.js';
import type { Logger } from './logger.js';
import { countArg, durationArg } from './protocol/index.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_QUEUE_LIMIT = 65_536;
export const DEFAULT_PARTIAL_FRAME_TIMEOUT_MS = 30_000;

/** XState's clock interface (setTimeout/clearTimeout), e.g. `new SimulatedClock()`. */
export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

/**
 * Options of `ThinClient.connect`. Every one is optional; bad values throw InvalidArgumentError naming the
 * option (e.g. `reconnect.factor`) before anything is dialled.
 *
 * @example
 * ```ts
 * const client = await ThinClient.connect(config, {
 *   reconnect: { initialDelayMs: 500, maxAttempts: 10 },
 *   requestTimeoutMs: 30_000,
 *   logger: console,
 * });
 * ```
 */
export interface ConnectOptions {
  /** Aborts the first connection attempt. */
  signal?: AbortSignal;
  /** How to redial after the connection is lost. Defaults: 1 s doubling to 60 s, ±20 %, forever. */
  reconnect?: Partial<ReconnectPolicy>;
  /** An XState inspection observer; it receives sanitized events only (see `sanitizeInspectionEvent`). */
  inspect?: InspectOption;
  /** Dial plus handshake must complete within this. @default 60000 */
  handshakeTimeoutMs?: number;
  /** The clock for backoff, handshake and request deadlines (tests pass an xstate SimulatedClock). */
  clock?: Clock;
  /** The deadline of every local request; a call's own `timeoutMs` overrides it. @default 60000 */
  requestTimeoutMs?: number;
  /**
   * A frame from the daemon begun but not complete within this is a protocol error: the connection
   * is dropped and redialled (local requests are re-sent), instead of every later reply being read
   * as part of that frame. Infinity for none. @default 30000
   */
  partialFrameTimeoutMs?: number;
  /** Reject at once with NotConnectedError while the client redials, instead of waiting. @default false */
  failFast?: boolean;
  /** Requests held while the client redials, at most; more reject with NotConnectedError. @default 65536 */
  queueLimit?: number;
  /** A pino-compatible logger (debug/info/warn/error); it never receives a secret. */
  logger?: Logger;
  /**
   * How reads of boxes not written yet are polled. By default the client polls them itself (no-retry
   * requests): the oldest back to back, the others one at a time with backoff, each with a fresh
   * envelope when the courier would answer from its cache, so that such reads never starve the client's
   * other requests. `false`: leave them to the daemon, which re-polls every one on every send slot.
   */
  waitingReads?: WaitingReadsOption;
}

/** Options every request method of ThinClient accepts. */
export interface CallOptions {
  /**
   * Aborting it cancels the call (at the daemon too, for network operations) and rejects it with
   * `signal.reason`.
   */
  signal?: AbortSignal;
  /** Local requests and cancels: this call's deadline in ms (Infinity for none). Default: `requestTimeoutMs`. */
  timeoutMs?: number;
}

/** Options of `blockingSendMessage`. */
export interface BlockingSendOptions extends CallOptions {
  /** Gives up (rejecting with a TimeoutError) after this long. @default 30000 */
  timeoutMs?: number;
}

/** Options of `startResendingCopyCommand`. */
export interface CopyCommandOptions extends CallOptions {
  /** Pin the courier (32 bytes); used only together with courierQueueId. */
  courierIdentityHash?: Uint8Array;
  /** Pin the courier's queue ID; used only together with courierIdentityHash. */
  courierQueueId?: Uint8Array;
}

/** Internal: a window parents its box operations. */

/** Throws InvalidArgumentError naming the first bad option. */
export function validateConnectOptions(options: ConnectOptions): void {
  const policy = options.reconnect;
  if (options.requestTimeoutMs !== undefined) durationArg(options.requestTimeoutMs, 'requestTimeoutMs');
  if (options.partialFrameTimeoutMs !== undefined)
    durationArg(options.partialFrameTimeoutMs, 'partialFrameTimeoutMs');
  if (options.queueLimit !== undefined) countArg(options.queueLimit, 'queueLimit', Number.MAX_SAFE_INTEGER);
  validateWaitingReads(options.waitingReads);
  if (!policy) return;
  for (const name of ['initialDelayMs', 'maxDelayMs', 'factor', 'jitter', 'maxAttempts'] as const) {
    const value = policy[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new InvalidArgumentError(
        `reconnect.${name}`,
        `expected a non-negative number, got ${String(value)}`,
      );
    }
  }
  if (policy.factor !== undefined && policy.factor < 1) {
    throw new InvalidArgumentError('reconnect.factor', 'expected a number ≥ 1');
  }
  if (policy.jitter !== undefined && policy.jitter > 1) {
    throw new InvalidArgumentError('reconnect.jitter', 'expected a fraction in [0, 1]');
  }
}

function validateWaitingReads(option: WaitingReadsOption | undefined): void {
  if (option === undefined || option === false) return;
  if (typeof option !== 'object' || option === null)
    throw new InvalidArgumentError('waitingReads', 'expected false or an object');
  for (const [name, value] of Object.entries(option)) {
    if (value === undefined) continue;
    const least = name === 'firstPolls' || name === 'pollsPerEnvelope' ? 1 : 0;
    const unbounded = name === 'whileAppBusy' && value === Number.POSITIVE_INFINITY;
    if (typeof value !== 'number' || (!Number.isFinite(value) && !unbounded) || value < least) {
      throw new InvalidArgumentError(
        `waitingReads.${name}`,
        `expected a finite number ≥ ${least}, got ${String(value)}`,
      );
    }
  }
  if (option.jitter !== undefined && option.jitter > 1)
    throw new InvalidArgumentError('waitingReads.jitter', 'expected a fraction in [0, 1]');
}

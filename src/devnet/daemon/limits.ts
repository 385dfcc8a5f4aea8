/**
 * What one devnet accepts from its thin-client sockets, so that a hostile or broken peer costs it a
 * bounded amount of memory and no connection slot forever. kpclientd has none of these (it reads
 * frames with io.ReadFull, no read deadline, no connection limit) except the write deadline; a
 * well-behaved client never meets any of them. See src/devnet/README.md, "Hostile peers".
 */
import { MAX_FRAME_SIZE } from '../../wire/frame.js';

/** The devnet's defences against hostile or broken peers; every field has a default in DEFAULT_CONNECTION_LIMITS. */
export interface ConnectionLimits {
  /**
   * Open thin-client sockets at most; a socket beyond it is closed at once. Default 1024: an idle
   * socket costs a few KiB (the byte budgets below bound the rest), and benchmarks open 256 clients.
   */
  maxConnections: number;
  /**
   * A socket must deliver its first complete frame within this (a thin client sends session_token
   * right after the two handshake events); otherwise it is closed. Default 30 s.
   */
  handshakeTimeoutMs: number;
  /** A frame started but not complete within this closes the socket (slowloris). Default 30 s. */
  partialFrameTimeoutMs: number;
  /**
   * Bytes of partial frames and of read-but-unhandled requests, across every socket together. A
   * socket whose next chunk would exceed it is closed. Default 128 MiB (three 40 MiB frames).
   */
  maxBufferedBytes: number;
  /**
   * Read-but-unhandled request bytes of one socket above which the daemon stops reading it (TCP
   * backpressure, as kpclientd's blocked reader gives). Default 40 MiB, one maximal frame.
   */
  maxQueuedRequestBytes: number;
  /** Unsent reply bytes of one socket above which the daemon stops reading its requests. Default 1 MiB. */
  outboundHighWaterBytes: number;
  /**
   * Unsent reply and event bytes of one socket above which the socket is closed (a reader that
   * never reads). Events are never dropped one by one: the client would miss replies. Default 64 MiB.
   */
  maxOutboundBytes: number;
  /**
   * Unsent bytes that make no progress for this long close the socket: kpclientd's
   * perClientWriteDeadline (a write blocked for 60 s tears the connection down). Default 60 s.
   */
  writeStallTimeoutMs: number;
}

/** The limits `startDevnet` uses for every field its `limits` option leaves out. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 1024,
  handshakeTimeoutMs: 30_000,
  partialFrameTimeoutMs: 30_000,
  maxBufferedBytes: 128 * 1024 * 1024,
  maxQueuedRequestBytes: MAX_FRAME_SIZE,
  outboundHighWaterBytes: 1024 * 1024,
  maxOutboundBytes: 64 * 1024 * 1024,
  writeStallTimeoutMs: 60_000,
});

/** The defaults with `overrides` applied; RangeError naming the first bad value. */
export function resolveLimits(overrides: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in DEFAULT_CONNECTION_LIMITS))
      throw new RangeError(`devnet: unknown connection limit ${name}`);
    const ok =
      typeof value === 'number' &&
      value > 0 &&
      (Number.isInteger(value) || value === Number.POSITIVE_INFINITY);
    if (!ok)
      throw new RangeError(`devnet: limits.${name} must be a positive integer or Infinity, got ${value}`);
  }
  if (limits.maxBufferedBytes < MAX_FRAME_SIZE + 4)
    throw new RangeError(
      `devnet: limits.maxBufferedBytes must hold one maximal frame (${MAX_FRAME_SIZE + 4} bytes)`,
    );
  return limits;
}

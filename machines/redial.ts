/**
 * Redialling the daemon: how long to wait before each redial, and whether the session a redial
 * brings needs the in-flight operations sent again. Pure; machines/connection.ts uses both.
 */

/** Redial policy. Delays grow `initialDelayMs · factor^(n-1)` up to `maxDelayMs`, ± `jitter`. */
export interface ReconnectPolicy {
  /** @default 1000 */
  initialDelayMs: number;
  /** @default 60000 */
  maxDelayMs: number;
  /** @default 2 */
  factor: number;
  /** Fraction of the delay added or removed at random. @default 0.2 */
  jitter: number;
  /** Redials after a lost connection before giving up. @default Infinity */
  maxAttempts: number;
}

export const DEFAULT_RECONNECT: Readonly<ReconnectPolicy> = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** The delay before redial number `attempt` (1-based); `random` is a sample of [0, 1). */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + 2 * spread * random));
}

/** What `needsReplay` reads of the connection's context (hex instance tokens). */
export interface SessionHistory {
  /** Some session of this client became ready before. */
  everReady: boolean;
  /** The instance token of the daemon of the last session that became ready. */
  sessionInstanceToken: string | null;
  /** The instance token of the daemon on the current socket. */
  instanceToken: string | null;
  /** A protocol error dropped frames (perhaps replies) since the last ready. */
  framesLost: boolean;
}

/** Whether a session that just became ready needs the in-flight operations sent again. */
export function needsReplay(context: SessionHistory, resumed: boolean): boolean {
  if (!context.everReady) return false;
  return context.sessionInstanceToken !== context.instanceToken || !resumed || context.framesLost;
}

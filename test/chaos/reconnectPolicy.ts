/** Redial quickly: a restarted devnet process listens within about a second. */
export const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200, factor: 2, jitter: 0.2 };

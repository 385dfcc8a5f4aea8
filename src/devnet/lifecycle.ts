/**
 * Closing a running devnet: one shutdown, however many times and from wherever it is asked for.
 * `close()` starts it (or joins the one under way); `closed()` resolves once it has finished, whoever
 * started it.
 */
export interface Lifecycle {
  /** Starts the shutdown if it has not started, and resolves when it has finished. */
  close(): Promise<void>;
  /** Resolves when the shutdown has finished. */
  closed(): Promise<void>;
  /** True from the moment the shutdown starts. */
  readonly closing: boolean;
}

/** `shutdown` runs at most once; a failure still settles `closed()` (rejecting it with the error). */
export function lifecycle(shutdown: () => Promise<void>): Lifecycle {
  let started: Promise<void> | null = null;
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Nobody may be listening on closed(); an unobserved failure must not become an unhandled rejection.
  done.catch(() => {});
  return {
    close() {
      if (!started) {
        started = Promise.resolve().then(shutdown);
        started.then(settle.resolve, settle.reject);
      }
      return done;
    },
    closed: () => done,
    get closing() {
      return started !== null;
    },
  };
}

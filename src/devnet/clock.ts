/**
 * Time for the devnet. Every delay in the simulated network and in the emulated daemon goes through a
 * `Clock`, so tests can swap the wall clock for a `VirtualClock` and step time explicitly: no test ever
 * waits for a wall-clock threshold.
 *
 * Timers of 0 ms run on the next macrotask (setImmediate), in the order they were set, with either clock.
 */

/** An opaque timer handle. */
export interface TimerHandle {
  /** The timer's number on its clock. */
  readonly id: number;
}

/**
 * The clock a devnet schedules every delay on: RealClock (the wall clock) or VirtualClock (stepped by tests).
 */
export interface Clock {
  /** Milliseconds on this clock (not necessarily Unix time). */
  now(): number;
  /** Runs `fn` after `ms` milliseconds of this clock. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a handle already fired, cleared, null or undefined is ignored. */
  clearTimer(handle: TimerHandle | null | undefined): void;
}

interface Pending {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

let nextId = 1;

/** The wall clock: setTimeout for positive delays, setImmediate for zero. */
export class RealClock implements Clock {
  private readonly timers = new Map<number, { cancel(): void }>();

  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = nextId++;
    const run = () => {
      this.timers.delete(id);
      runSafely(fn);
    };
    if (!(ms > 0)) {
      const h = setImmediate(run);
      this.timers.set(id, { cancel: () => clearImmediate(h) });
    } else {
      const h = setTimeout(run, Math.min(ms, 2_147_483_647));
      this.timers.set(id, { cancel: () => clearTimeout(h) });
    }
    return { id };
  }

  clearTimer(handle: TimerHandle | null | undefined): void {
    if (!handle) return;
    this.timers.get(handle.id)?.cancel();
    this.timers.delete(handle.id);
  }

  /** Cancels every pending timer (used when the devnet stops). */
  clearAll(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}

/**
 * A clock that only moves when told to. Timers due at the current time run by themselves on the next
 * macrotask (so socket I/O and zero-delay hand-offs keep flowing); later timers wait for `advance`.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private drainScheduled = false;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = nextId++;
    const at = this.current + Math.max(ms, 0);
    this.pending.set(id, { id, at, seq: this.seq++, fn });
    if (at <= this.current) this.scheduleDrain();
    return { id };
  }

  clearTimer(handle: TimerHandle | null | undefined): void {
    if (handle) this.pending.delete(handle.id);
  }

  /** Number of timers not yet run. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** When the earliest pending timer is due, or undefined. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const p of this.pending.values()) if (best === undefined || p.at < best) best = p.at;
    return best;
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due, in time order, with a macrotask
   * between timers so that I/O and promise chains they start can settle.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      await macrotask();
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.pending.delete(next.id);
      if (next.at > this.current) this.current = next.at;
      runSafely(next.fn);
    }
    this.current = target;
    await macrotask();
  }

  /** Advances in steps of `stepMs` until `done()` is true or `maxMs` has passed; returns done(). */
  async advanceUntil(done: () => boolean, stepMs: number, maxMs: number): Promise<boolean> {
    let elapsed = 0;
    while (!done() && elapsed < maxMs) {
      await this.advance(stepMs);
      elapsed += stepMs;
    }
    return done();
  }

  private earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending.values()) {
      if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    }
    return best;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      // Run what is due now, one per macrotask, in order.
      const next = this.earliest();
      if (!next || next.at > this.current) return;
      this.pending.delete(next.id);
      runSafely(next.fn);
      const again = this.earliest();
      if (again && again.at <= this.current) this.scheduleDrain();
    });
  }
}

function runSafely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Timer bodies guard themselves; a throw here must not stop the clock.
  }
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise that resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

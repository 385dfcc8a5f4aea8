/**
 * The daemon instance's timers: every one is forgotten at shutdown, and a timer that fires after the
 * instance stopped does nothing, so a restarted daemon never sees its predecessor's work.
 */
import type { Clock, TimerHandle } from '../clock.js';

export class DaemonTimers {
  private readonly live = new Set<TimerHandle>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs `fn` after `ms`; a throw is logged rather than taking the process down. */
  set(ms: number, fn: () => void): TimerHandle {
    const handle: TimerHandle = this.clock.setTimer(ms, () => {
      this.live.delete(handle);
      if (this.stopped) return;
      guarded(this.log, 'timer', fn);
    });
    this.live.add(handle);
    return handle;
  }

  clear(handle: TimerHandle | null | undefined): void {
    if (!handle) return;
    this.clock.clearTimer(handle);
    this.live.delete(handle);
  }

  /** Clears every timer; later `set` calls still schedule, but their callbacks never run. */
  stop(): void {
    this.stopped = true;
    for (const t of this.live) this.clock.clearTimer(t);
    this.live.clear();
  }
}

/** Runs `fn`, logging (not rethrowing) a failure: one bad request must not stop the daemon. */
export function guarded(log: (line: string) => void, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log(`${what} failed: ${(err as Error).stack}`);
  }
}

/**
 * Deadlines by key on the actor system's clock (tests pass a SimulatedClock), one timer each.
 */
import type { TimerClock } from '../machines/registry.js';

/** setTimeout's largest delay; longer deadlines are clamped (about 24.8 days). */
const MAX_DELAY = 2 ** 31 - 1;

export class Deadlines {
  private readonly timers = new Map<string, unknown>();

  constructor(private readonly clock: TimerClock) {}

  /** Calls `onExpiry` after `ms` unless cleared first; Infinity sets no deadline. */
  set(key: string, ms: number, onExpiry: () => void): void {
    if (!Number.isFinite(ms)) return;
    const id = this.clock.setTimeout(
      () => {
        this.timers.delete(key);
        onExpiry();
      },
      Math.min(MAX_DELAY, Math.max(0, ms)),
    );
    this.timers.set(key, id);
  }

  clear(key: string): void {
    const id = this.timers.get(key);
    if (id === undefined) return;
    this.timers.delete(key);
    this.clock.clearTimeout(id);
  }

  clearAll(): void {
    for (const id of this.timers.values()) this.clock.clearTimeout(id);
    this.timers.clear();
  }
}

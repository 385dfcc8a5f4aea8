/** Stepping a VirtualClock-driven devnet until something happens. */
import type { VirtualClock } from '../../../src/devnet/clock.js';

/** Advances `clock` in `stepMs` steps until `promise` settles; returns its value. */
export async function drive<T>(
  clock: VirtualClock,
  promise: Promise<T>,
  stepMs = 50,
  maxMs = 3_600_000,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => {});
  await clock.advanceUntil(() => settled, stepMs, maxMs);
  if (!settled) throw new Error(`nothing happened within ${maxMs} ms of simulated time`);
  return watched;
}

/** Advances until `predicate()` holds. */
export async function driveUntil(
  clock: VirtualClock,
  predicate: () => boolean,
  stepMs = 50,
  maxMs = 3_600_000,
): Promise<void> {
  if (!(await clock.advanceUntil(predicate, stepMs, maxMs))) throw new Error('condition never held');
}

/**
 * What a chaos run counts and prints: operations started and completed, failures by error class, wrong
 * bytes, restarts, and the wall time. Every failure is kept with its message for the assertion's diff.
 */
import { ThinClientError } from '../../src/errors.js';

export class Tally {
  ops = 0;
  completed = 0;
  restarts = 0;
  wrongBytes = 0;
  inFlight = 0;
  /** In-flight operations at the moment of each kill. */
  readonly inFlightAtKill: number[] = [];
  readonly failures = new Map<string, number>();
  /** Failures that are not a typed error of this library (a plain Error, a TypeError: a bug). */
  readonly untyped: string[] = [];
  readonly wrong: string[] = [];
  private readonly t0 = performance.now();

  /** Runs one operation and counts how it ended. */
  async run(kind: string, op: () => Promise<void>): Promise<void> {
    this.ops++;
    this.inFlight++;
    try {
      await op();
      this.completed++;
    } catch (err) {
      const name = err instanceof Error ? err.name : typeof err;
      this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
      if (!(err instanceof ThinClientError)) this.untyped.push(`${kind}: ${String(err)}`);
    } finally {
      this.inFlight--;
    }
  }

  wrongBytesIn(what: string): void {
    this.wrongBytes++;
    this.wrong.push(what);
  }

  get failed(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }

  print(label: string, extra: Record<string, unknown> = {}): void {
    const failures = Object.fromEntries(this.failures);
    const figures = {
      ops: this.ops,
      restarts: this.restarts,
      completed: this.completed,
      typedFailures: failures,
      wrongBytes: this.wrongBytes,
      minInFlightAtKill: this.inFlightAtKill.length ? Math.min(...this.inFlightAtKill) : 0,
      ...extra,
      durationMs: Math.round(performance.now() - this.t0),
    };
    console.log(`[chaos] ${label}: ${JSON.stringify(figures)}`);
  }
}

/** A seed for the run: CHAOS_SEED if set, else a fresh one; printed so a failing run can be repeated. */
export function chaosSeed(label: string): string {
  const seed = process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 48).toString(16);
  console.log(`[chaos] ${label}: seed ${seed} (repeat with CHAOS_SEED=${seed})`);
  return seed;
}

/**
 * The host's cores, for simulated CTIDH work. On a real Katzenpost network the replicas' MKEM
 * decapsulations and kpclientd's encrypt_read and reply decryptions are CPU-bound: with few cores, each
 * waits for the ones ahead of it, so every poll in flight slows every other client's request. With
 * `timing.ctidhCores` finite, every CTIDH operation of a devnet (replicas and daemon) takes one of that
 * many cores, first come first served; `Infinity` (the default) lets them all run at once.
 */
import { type Clock, sleep } from '../clock.js';
import type { TimingProfile } from '../timing.js';

class Cores {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly count: number) {}

  async run(clock: Clock, ms: number): Promise<void> {
    if (this.busy >= this.count) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy++;
    try {
      await sleep(clock, ms);
    } finally {
      this.busy--;
      this.waiting.shift()?.();
    }
  }
}

/** One set of cores per devnet (its clock). */
const hosts = new WeakMap<Clock, Cores>();

/** Waits for `ops` CTIDH operations of `timing.ctidhMs` each, on the devnet's cores. */
export function ctidhWork(clock: Clock, timing: TimingProfile, ops: number): Promise<void> {
  const ms = timing.ctidhMs * ops;
  if (!(ms > 0)) return Promise.resolve();
  if (timing.ctidhCores === Number.POSITIVE_INFINITY) return sleep(clock, ms);
  let cores = hosts.get(clock);
  if (!cores) {
    cores = new Cores(Math.max(1, Math.floor(timing.ctidhCores)));
    hosts.set(clock, cores);
  }
  return cores.run(clock, ms);
}

/**
 * The loop both mixed-operation chaos tests share: workers keep the workload's operations in flight
 * while the connection to the daemon is disrupted (a kill and restart, a dropped socket) at random,
 * seeded moments, each after some more operations have ended, until enough disruptions and operations
 * have happened. Then the workers drain, and every box written is read back.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { Drbg } from '../../src/devnet/rng.js';
import type { ThinClient } from '../../src/index.js';
import type { Tally } from './tally.js';
import type { Workload } from './workload.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Unhandled rejections seen while the file's tests run (a test expects none). */
export function collectUnhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  beforeAll(() => void process.on('unhandledRejection', onUnhandled));
  afterAll(() => void process.off('unhandledRejection', onUnhandled));
  return unhandled;
}

export interface Campaign {
  client: ThinClient;
  work: Workload;
  tally: Tally;
  /** Draws the moments of the disruptions. */
  rng: Drbg;
  concurrency: number;
  ops: number;
  disruptions: number;
  /** Operations that end between two disruptions: `least` plus up to `spread` more. */
  between: { least: number; spread: number };
  /** Disrupts, and resolves once the client is connected again. */
  disrupt(): Promise<void>;
}

/** Runs the campaign; resolves with the number of boxes verified afterwards. */
export async function runCampaign(c: Campaign): Promise<number> {
  const { client, work, tally, rng } = c;
  let stop = false;
  const pool = Array.from({ length: c.concurrency }, async () => {
    while (!stop) await work.next();
  });
  let disrupted = 0;
  while (disrupted < c.disruptions || tally.ops < c.ops) {
    const target = tally.completed + tally.failed + c.between.least + rng.int(c.between.spread);
    while (tally.completed + tally.failed < target) await sleep(5);
    await sleep(rng.int(20));
    const s = client.stats();
    tally.inFlightAtKill.push(s.requests + s.operations + s.streams);
    await c.disrupt();
    disrupted++;
  }
  stop = true;
  await Promise.all(pool);
  return work.verify();
}

/** Every operation completed exactly once with exact bytes, and nothing is left in the client. */
export function expectEveryOperationCompleted(tally: Tally, client: ThinClient, unhandled: unknown[]): void {
  expect(tally.untyped).toEqual([]);
  expect(Object.fromEntries(tally.failures)).toEqual({});
  expect(tally.wrong).toEqual([]);
  expect(tally.completed).toBe(tally.ops);
  expect(client.stats()).toMatchObject({ requests: 0, operations: 0, streams: 0, waiting: 0 });
  expect(unhandled).toEqual([]);
}

/**
 * The client's socket to the same daemon instance dropped again and again while mixed operations are
 * in flight (local requests, writes, reads, tombstones, copy commands, windowed streams). The devnet
 * keeps each session for its grace period and, as kpclientd, loses an ARQ reply that reaches it while
 * the socket is down (the operation stays with no timer). After each drop the session resumes on the
 * same instance, and the client resynchronises every operation in flight: a cancel, then the same
 * request. Every operation completes exactly once with exact bytes, and nothing is replayed verbatim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { startDevnet } from '../../src/devnet/index.js';
import { Drbg, seedBytes } from '../../src/devnet/rng.js';
import { ThinClient } from '../../src/index.js';
import { TRANSPORTS } from '../helpers/transports.js';
import { FAST_RECONNECT } from './reconnectPolicy.js';
import { chaosSeed, Tally } from './tally.js';
import { Workload } from './workload.js';

const OPS = 300;
const DROPS = 20;
const CONCURRENCY = 24;
/** The test's own deadline: a lost reply that nothing recovers shows as this timeout, not a hang. */
const DEADLINE_MS = 300_000;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Counts what the client's operations were told when a session came back. */
function countRelinks(counts: { resyncs: number; replays: number }) {
  return (ev: InspectionEvent) => {
    if (ev.type !== '@xstate.event' || !(ev.actorRef as AnyActorRef).id.startsWith('op:')) return;
    if (ev.event.type === 'op.resync.begin') counts.resyncs++;
    if (ev.event.type === 'op.replay') counts.replays++;
  };
}

describe.each(TRANSPORTS)(
  'over $type: the socket to the same daemon instance dropped during mixed operations',
  ({ type, listen }) => {
    it(
      `completes ${OPS} mixed operations across ${DROPS} drops exactly once, resyncing and replaying nothing`,
      async () => {
        const seed = chaosSeed(`same-instance-${type}`);
        const rng = new Drbg(seedBytes(seed));
        const dropRng = rng.fork('drops');
        const net = await startDevnet({
          listen: listen(),
          profile: 'instant',
          authorityScheme: 'Ed25519',
          seed,
        });
        const tally = new Tally();
        const counts = { resyncs: 0, replays: 0 };
        let client: ThinClient | undefined;
        try {
          client = await ThinClient.connect(net.thinClientConfig, {
            reconnect: FAST_RECONNECT,
            inspect: countRelinks(counts),
          });
          const tokens = new Set<string>([hex(net.instanceToken())]);
          let resumed = 0;
          let replayedReported = 0;
          let onConnected: (() => void) | undefined;
          client.on('daemonConnected', (ev) => {
            tokens.add(hex(ev.instanceToken ?? new Uint8Array()));
            if (ev.resumed) resumed++;
            replayedReported += ev.replayed;
            onConnected?.();
          });
          const work = new Workload(client, rng.fork('ops'), tally);
          await work.setup(6);

          let stop = false;
          const pool = Array.from({ length: CONCURRENCY }, async () => {
            while (!stop) await work.next();
          });
          let drops = 0;
          while (drops < DROPS || tally.ops < OPS) {
            // A random moment: after 5 to 30 more operations have ended, mid-flow.
            const target = tally.completed + tally.failed + 5 + dropRng.int(25);
            while (tally.completed + tally.failed < target) await sleep(5);
            await sleep(dropRng.int(20));
            const s = client.stats();
            tally.inFlightAtKill.push(s.requests + s.operations + s.streams);
            const connected = new Promise<void>((resolve) => {
              onConnected = resolve;
            });
            net.dropConnections();
            drops++;
            await connected;
          }
          stop = true;
          await Promise.all(pool);
          const checked = await work.verify();
          tally.print(`same instance over ${type}`, {
            drops,
            resumedSessions: resumed,
            resyncs: counts.resyncs,
            verbatimReplays: counts.replays,
            replayedReported,
            instances: tokens.size,
            completion: `${tally.completed}/${tally.ops}`,
            byKind: Object.fromEntries(work.byKind),
            boxesVerified: checked,
          });

          expect(tally.ops).toBeGreaterThanOrEqual(OPS);
          expect(drops).toBe(resumed);
          expect(Math.min(...tally.inFlightAtKill)).toBeGreaterThan(0);
          expect(tokens.size).toBe(1);
          expect(counts.resyncs).toBeGreaterThan(0);
          expect(counts.replays).toBe(0);
          expect(replayedReported).toBe(0);
          expect(tally.untyped).toEqual([]);
          expect(Object.fromEntries(tally.failures)).toEqual({});
          expect(tally.wrong).toEqual([]);
          expect(tally.completed).toBe(tally.ops);
          expect(client.stats()).toMatchObject({ requests: 0, operations: 0, streams: 0, waiting: 0 });
          expect(unhandled).toEqual([]);
        } finally {
          await client?.close();
          await net.stop();
        }
      },
      DEADLINE_MS,
    );
  },
);

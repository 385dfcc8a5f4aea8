/**
 * The devnet daemon as its own process, killed with SIGKILL and restarted at random moments (seeded)
 * while a client keeps mixed operations in flight: local requests, writes, reads, tombstones, copy
 * commands and windowed streams. Every operation completes exactly once or ends with a typed error;
 * afterwards every box holds exactly what was written, and each restart was a new daemon instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Drbg, seedBytes } from '../../src/devnet/rng.js';
import { ThinClient } from '../../src/index.js';
import { DaemonProcess } from './daemonProcess.js';
import { FAST_RECONNECT } from './reconnectPolicy.js';
import { chaosSeed, Tally } from './tally.js';
import { Workload } from './workload.js';

const OPS = 1000;
const RESTARTS = 20;
const CONCURRENCY = 32;
// A hang guard, not a figure: about 50 s on an idle 2-core machine, several times that under load.
const CHAOS_TIMEOUT_MS = 300_000;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('the devnet daemon killed with SIGKILL and restarted during mixed operations', () => {
  it(`completes ${OPS} mixed operations across ${RESTARTS} restarts exactly once, with every box exact`, {
    timeout: CHAOS_TIMEOUT_MS,
  }, async () => {
    const seed = chaosSeed('mixed');
    const rng = new Drbg(seedBytes(seed));
    const killRng = rng.fork('kills');
    const daemon = new DaemonProcess('kp-chaos-mixed-');
    const tally = new Tally();
    let client: ThinClient | undefined;
    try {
      await daemon.start();
      client = await ThinClient.connect(daemon.config, { reconnect: FAST_RECONNECT });
      // The instance token of every daemon the client connected to after the first.
      const tokens = new Set<string>();
      let replayed = 0;
      let onConnected: (() => void) | undefined;
      client.on('daemonConnected', (ev) => {
        tokens.add(hex(ev.instanceToken ?? new Uint8Array()));
        if (!ev.resumed) replayed += ev.replayed;
        onConnected?.();
      });
      const work = new Workload(client, rng.fork('ops'), tally);
      await work.setup(6);

      let stop = false;
      const pool = Array.from({ length: CONCURRENCY }, async () => {
        while (!stop) await work.next();
      });
      while (tally.restarts < RESTARTS || tally.ops < OPS) {
        // A random moment: after 10 to 70 more operations have ended (about 40 a restart), mid-flow.
        const target = tally.completed + tally.failed + 10 + killRng.int(60);
        while (tally.completed + tally.failed < target) await sleep(5);
        await sleep(killRng.int(20));
        const s = client.stats();
        tally.inFlightAtKill.push(s.requests + s.operations + s.streams);
        await daemon.kill();
        tally.restarts++;
        await sleep(killRng.int(100));
        const connected = new Promise<void>((resolve) => {
          onConnected = resolve;
        });
        await daemon.start();
        await connected;
      }
      stop = true;
      await Promise.all(pool);
      const checked = await work.verify();
      tally.print('mixed', {
        byKind: Object.fromEntries(work.byKind),
        instances: tokens.size,
        replayedAfterRestarts: replayed,
        boxesVerified: checked,
      });

      expect(tally.ops).toBeGreaterThanOrEqual(OPS);
      expect(tally.restarts).toBeGreaterThanOrEqual(RESTARTS);
      expect(Math.min(...tally.inFlightAtKill)).toBeGreaterThan(0);
      expect(tally.untyped).toEqual([]);
      expect(Object.fromEntries(tally.failures)).toEqual({});
      expect(tally.wrong).toEqual([]);
      expect(tally.completed).toBe(tally.ops);
      expect(tokens.size).toBe(tally.restarts);
      expect(client.stats()).toMatchObject({ requests: 0, operations: 0, streams: 0, waiting: 0 });
      expect(unhandled).toEqual([]);
    } finally {
      await client?.close();
      await daemon.dispose();
    }
  });
});

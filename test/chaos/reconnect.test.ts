/**
 * A socket drop without a daemon restart: the client reconnects to the same daemon instance, resumes its
 * session, and sends no operation twice, while mixed operations are in flight at every drop. A relay in
 * this process (wireTap.ts) counts every operation the client sends; a daemon restart at the end shows
 * that the count does see a replay when there is one.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Drbg, seedBytes } from '../../src/devnet/rng.js';
import { ThinClient } from '../../src/index.js';
import { DaemonProcess } from './daemonProcess.js';
import { FAST_RECONNECT } from './reconnectPolicy.js';
import { chaosSeed, Tally } from './tally.js';
import { WireTap } from './wireTap.js';
import { Workload } from './workload.js';

const DROPS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a reconnect to the same daemon instance', () => {
  it('resumes the session and replays nothing, with operations in flight at every drop', async () => {
    const seed = chaosSeed('reconnect');
    const rng = new Drbg(seedBytes(seed));
    const daemon = new DaemonProcess('kp-chaos-reconnect-');
    const tap = new WireTap(join(daemon.dir, 'tap.sock'), daemon.socketPath);
    const tally = new Tally();
    let client: ThinClient | undefined;
    try {
      await daemon.start();
      await tap.listen();
      client = await ThinClient.connect(
        { dial: { type: 'unix', address: tap.path } },
        { reconnect: FAST_RECONNECT },
      );
      const sessions: { resumed: boolean; replayed: number }[] = [];
      let onConnected: (() => void) | undefined;
      client.on('daemonConnected', (ev) => {
        sessions.push({ resumed: ev.resumed, replayed: ev.replayed });
        onConnected?.();
      });
      const work = new Workload(client, rng.fork('ops'), tally);
      await work.setup(4);
      let stop = false;
      const pool = Array.from({ length: 16 }, async () => {
        while (!stop) await work.next();
      });
      const inFlightAtDrop: number[] = [];
      for (let i = 0; i < DROPS; i++) {
        const target = tally.completed + tally.failed + 10 + rng.int(30);
        while (tally.completed + tally.failed < target) await sleep(5);
        inFlightAtDrop.push(client.stats().operations);
        const connected = new Promise<void>((resolve) => {
          onConnected = resolve;
        });
        tap.sever();
        await connected;
      }
      stop = true;
      await Promise.all(pool);
      const replaysOnSameInstance = tap.resent();
      tally.print('reconnect', {
        drops: DROPS,
        replaysOnSameInstanceReconnect: replaysOnSameInstance,
        minOperationsInFlightAtDrop: Math.min(...inFlightAtDrop),
      });
      expect(sessions).toEqual(Array.from({ length: DROPS }, () => ({ resumed: true, replayed: 0 })));
      expect(Math.min(...inFlightAtDrop)).toBeGreaterThan(0);
      expect(replaysOnSameInstance).toBe(0);
      expect(Object.fromEntries(tally.failures)).toEqual({});
      expect(tally.wrong).toEqual([]);

      // The control: a restart loses the daemon's operations, and the client's replay shows on the wire.
      const ops = Array.from({ length: 20 }, () => work.next());
      while (client.stats().operations === 0) await sleep(1);
      const connected = new Promise<void>((resolve) => {
        onConnected = resolve;
      });
      await daemon.kill();
      await daemon.start();
      await connected;
      await Promise.all(ops);
      expect(sessions.at(-1)!.resumed).toBe(false);
      expect(tap.resent()).toBeGreaterThan(0);
    } finally {
      await client?.close();
      await tap.close();
      await daemon.dispose();
    }
  });
});

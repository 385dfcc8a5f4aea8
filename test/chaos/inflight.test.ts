/**
 * Ten thousand operations in flight at once when the devnet process is killed with SIGKILL: local
 * requests (re-sent to the new daemon) and ARQ writes (replayed to it). Every one completes, with the
 * right answer, and every box holds its message.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nextIndex } from '../../src/crypto/bacap.js';
import { ThinClient } from '../../src/index.js';
import { readBox } from '../helpers/boxes.js';
import { DaemonProcess } from './daemonProcess.js';
import { FAST_RECONNECT } from './reconnectPolicy.js';
import { Tally } from './tally.js';

const TOTAL = 10_000;
const WRITES = 300;

describe('ten thousand operations in flight across a daemon kill', () => {
  it(`completes all ${TOTAL} after the restart, each with the right answer`, async () => {
    const daemon = new DaemonProcess('kp-chaos-inflight-');
    const tally = new Tally();
    let client: ThinClient | undefined;
    try {
      await daemon.start();
      client = await ThinClient.connect(daemon.config, { reconnect: FAST_RECONNECT });
      const c = client;
      const kp = await c.newKeypair(new Uint8Array(randomBytes(32)));
      const indices: Uint8Array[] = [kp.firstMessageIndex];
      while (indices.length < WRITES) indices.push(nextIndex(indices.at(-1)!));
      const messages = indices.map(() => new Uint8Array(randomBytes(64)));
      const envelopes = await Promise.all(
        indices.map((at, i) => c.encryptWrite(messages[i]!, kp.writeCap, at)),
      );

      const work: Promise<void>[] = envelopes.map((w) =>
        tally.run('write', async () => {
          await c.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w });
        }),
      );
      for (let i = work.length; i < TOTAL; i++) {
        const at = indices[i % WRITES]!;
        work.push(
          tally.run('local', async () => {
            const got = await c.nextMessageBoxIndex(at);
            if (!Buffer.from(got).equals(Buffer.from(nextIndex(at))))
              tally.wrongBytesIn('nextMessageBoxIndex');
          }),
        );
      }
      const s = c.stats();
      const inFlightAtKill = s.requests + s.operations;
      tally.inFlightAtKill.push(inFlightAtKill);
      await daemon.kill();
      tally.restarts++;
      await daemon.start();
      await Promise.all(work);
      const reads = await Promise.all(indices.map((at) => readBox(c, kp.readCap, at)));
      reads.forEach((got, i) => {
        if (!Buffer.from(got).equals(Buffer.from(messages[i]!))) tally.wrongBytesIn(`box ${i}`);
      });
      tally.print('inflight', { inFlightAtKill });

      expect(inFlightAtKill).toBe(TOTAL);
      expect(tally.ops).toBe(TOTAL);
      expect(tally.completed).toBe(TOTAL);
      expect(Object.fromEntries(tally.failures)).toEqual({});
      expect(tally.wrong).toEqual([]);
      expect(c.stats()).toMatchObject({ requests: 0, operations: 0, waiting: 0 });
    } finally {
      await client?.close();
      await daemon.dispose();
    }
  });
});

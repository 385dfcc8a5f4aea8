/**
 * A copy stream under two kinds of crash at once: the devnet process is killed with SIGKILL and
 * restarted while a client process (test/fixtures/copy-child.ts) runs the stream, then that client is
 * killed with SIGKILL too, the devnet once more, and a new client process resumes the stream from its
 * file checkpoint. Every destination then holds exactly its payload, once, in order.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoxIdNotFoundError } from '../../src/errors.js';
import { ThinClient } from '../../src/index.js';
import { pendingCopies } from '../../src/pigeonhole/checkpoint.js';
import { FileCheckpointStore } from '../../src/pigeonhole/checkpointFileStore.js';
import { readStream, streamBoxCount } from '../../src/pigeonhole/streams.js';
import { encodeCbor } from '../../src/wire/codec.js';
import { type ChildLine, spawnChild } from '../helpers/crashHarness.js';
import { DaemonProcess } from './daemonProcess.js';
import { FAST_RECONNECT } from './reconnectPolicy.js';

const CHILD = new URL('../fixtures/copy-child.ts', import.meta.url);
const progressPast = (n: number) => (l: ChildLine) =>
  l.event === 'progress' && (l.batchesDone as number) >= n;

describe('a copy stream with its client and the daemon killed with SIGKILL', () => {
  it('resumes from the checkpoint in a new process and writes every destination exactly', async () => {
    const daemon = new DaemonProcess('kp-chaos-copy-');
    let client: ThinClient | undefined;
    const t0 = performance.now();
    try {
      await daemon.start();
      client = await ThinClient.connect(daemon.config, { reconnect: FAST_RECONNECT });
      const c = client;
      const per = c.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
      const dests = await Promise.all(
        [5 * per + 3, 2 * per, 7, 3 * per + Math.floor(per / 2)].map(async (length) => {
          const kp = await c.newKeypair(new Uint8Array(randomBytes(32)));
          return { payload: new Uint8Array(randomBytes(length)), kp };
        }),
      );
      const jobPath = join(daemon.dir, 'job.cbor');
      writeFileSync(
        jobPath,
        encodeCbor({
          destinations: dests.map((d) => ({
            payload: d.payload,
            writeCap: d.kp.writeCap,
            startIndex: d.kp.firstMessageIndex,
          })),
          batchBoxes: 2,
        }),
      );
      const storeDir = join(daemon.dir, 'checkpoints');
      const env = { KP_CONFIG: daemon.configPath, KP_STORE: storeDir, KP_ID: 'chaos', KP_JOB: jobPath };

      const first = spawnChild(CHILD, { ...env, KP_MODE: 'start' });
      await first.waitFor(progressPast(2));
      await daemon.kill();
      await daemon.start();
      // The client process carries on across the daemon restart, then dies itself.
      await first.waitFor(progressPast(4));
      first.proc.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(first.lines.some((l) => l.event === 'done')).toBe(false);
      await daemon.kill();
      await daemon.start();
      expect(await pendingCopies(new FileCheckpointStore(storeDir))).toEqual(['chaos']);

      const second = spawnChild(CHILD, { ...env, KP_MODE: 'resume' });
      const done = await second.waitFor((l) => l.event === 'done' || l.event === 'error');
      expect(done, second.stderr()).toMatchObject({ event: 'done' });
      const resumedAt = second.lines.find((l) => l.event === 'progress')!;
      expect(resumedAt.batchesDone as number).toBeGreaterThanOrEqual(4);

      let wrongBytes = 0;
      for (const d of dests) {
        const boxes = streamBoxCount(d.payload.length, per);
        const got = await readStream(c, d.kp.readCap, d.kp.firstMessageIndex, boxes, 0, { pacing: false });
        if (!Buffer.from(got.data).equals(Buffer.from(d.payload))) wrongBytes++;
        const after = await c.encryptRead(d.kp.readCap, got.nextIndex);
        await expect(
          c.startResendingEncryptedMessage({
            readCap: d.kp.readCap,
            messageBoxIndex: got.nextIndex,
            ...after,
            noRetryOnBoxIdNotFound: true,
          }),
        ).rejects.toBeInstanceOf(BoxIdNotFoundError);
      }
      expect(await pendingCopies(new FileCheckpointStore(storeDir))).toEqual([]);
      console.log(
        `[chaos] copy-crash: ${JSON.stringify({
          daemonRestarts: daemon.starts - 1,
          clientKills: 1,
          resumedAtBatch: resumedAt.batchesDone,
          destinations: dests.length,
          wrongBytes,
          durationMs: Math.round(performance.now() - t0),
        })}`,
      );
      expect(wrongBytes).toBe(0);
    } finally {
      await client?.close();
      await daemon.dispose();
    }
  });
});

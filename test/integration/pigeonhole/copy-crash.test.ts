/**
 * Crash recovery of a multi-call copy stream, end to end: a child process (test/fixtures/copy-child.ts)
 * runs copyToChannels against the devnet, which lives in this test process and so outlives it; the
 * child is killed with SIGKILL in the middle of the stream; a second process resumes the stream from
 * the file checkpoint; every destination then reads back exactly its payload, once, in order.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { indexCounter } from '../../../src/crypto/bacap.js';
import { BoxIdNotFoundError } from '../../../src/errors.js';
import { loadCopy, pendingCopies } from '../../../src/pigeonhole/checkpoint.js';
import { FileCheckpointStore } from '../../../src/pigeonhole/checkpointFileStore.js';
import { readStream, streamBoxCount, streamBoxPayloadLength } from '../../../src/pigeonhole/streams.js';
import { encodeCbor } from '../../../src/wire/codec.js';
import { type ChildLine as Line, spawnChild, useCrashNet } from '../../helpers/crashHarness.js';

const CHILD = new URL('../../fixtures/copy-child.ts', import.meta.url);
const crash = useCrashNet('kp-copy-crash-');
let per: number;

beforeAll(() => {
  per = streamBoxPayloadLength(crash.client);
});

/** A copy-child process and its JSON lines as they arrive. */
const child = (env: Record<string, string>) => spawnChild(CHILD, env);

interface Dest {
  payload: Uint8Array;
  writeCap: Uint8Array;
  readCap: Uint8Array;
  startIndex: Uint8Array;
}

async function destinations(lengths: number[]): Promise<Dest[]> {
  return Promise.all(
    lengths.map(async (length) => {
      const kp = await crash.client.newKeypair(new Uint8Array(randomBytes(32)));
      return {
        payload: new Uint8Array(randomBytes(length)),
        writeCap: kp.writeCap,
        readCap: kp.readCap,
        startIndex: kp.firstMessageIndex,
      };
    }),
  );
}

/** Exactly the payload, and no box after it: written once, in order. */
async function expectExactlyOnce(d: Dest): Promise<void> {
  const boxes = streamBoxCount(d.payload.length, per);
  const { client } = crash;
  const got = await readStream(client, d.readCap, d.startIndex, boxes, 0, { pacing: false });
  expect(got.data).toEqual(d.payload);
  const after = await client.encryptRead(d.readCap, got.nextIndex);
  await expect(
    client.startResendingEncryptedMessage({
      readCap: d.readCap,
      messageBoxIndex: got.nextIndex,
      envelopeDescriptor: after.envelopeDescriptor,
      messageCiphertext: after.messageCiphertext,
      envelopeHash: after.envelopeHash,
      noRetryOnBoxIdNotFound: true,
    }),
  ).rejects.toBeInstanceOf(BoxIdNotFoundError);
}

/**
 * Starts the stream in a child, kills it with SIGKILL where `killWhen` says, resumes it in a second
 * child, and checks every destination.
 */
async function crashAndResume(name: string, killWhen: { freeze?: string; line?: (l: Line) => boolean }) {
  const { dir, configPath } = crash;
  const storeDir = join(dir, `store-${name}`);
  const dests = await destinations([5 * per + 3, 2 * per, 7, 3 * per + Math.floor(per / 2)]);
  const jobPath = join(dir, `job-${name}.cbor`);
  const batchBoxes = 2;
  writeFileSync(
    jobPath,
    encodeCbor({
      destinations: dests.map((d) => ({
        payload: d.payload,
        writeCap: d.writeCap,
        startIndex: d.startIndex,
      })),
      batchBoxes,
    }),
  );
  const env = { KP_CONFIG: configPath, KP_STORE: storeDir, KP_ID: name, KP_JOB: jobPath };

  const first = child({
    ...env,
    KP_MODE: 'start',
    ...(killWhen.freeze ? { KP_FREEZE: killWhen.freeze } : {}),
  });
  await first.waitFor(killWhen.freeze ? (l) => l.event === 'frozen' : killWhen.line!);
  first.proc.kill('SIGKILL');
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  expect(first.lines.some((l) => l.event === 'done')).toBe(false);

  // The stream is interrupted in the middle: a checkpoint past the first call, before the end.
  const store = new FileCheckpointStore(storeDir);
  expect(await pendingCopies(store)).toEqual([name]);
  const stored = (await loadCopy(store, name))!;
  expect(stored.progress!.batchCursor).toBeGreaterThanOrEqual(1);

  const second = child({ ...env, KP_MODE: 'resume' });
  const done = await second.waitFor((l) => l.event === 'done' || l.event === 'error');
  expect(done, second.stderr()).toMatchObject({ event: 'done' });
  expect((await second.exited).code).toBe(0);

  // The resumed process continued from the checkpoint rather than starting over.
  const firstProgress = second.lines.find((l) => l.event === 'progress')!;
  expect(firstProgress).toMatchObject({
    batchesDone: stored.progress!.batchCursor,
    tempBoxesWritten: stored.progress!.tempBoxesWritten,
  });

  for (const d of dests) await expectExactlyOnce(d);
  (done.nextDestIndices as string[]).forEach((hex, i) => {
    const next = new Uint8Array(Buffer.from(hex, 'hex'));
    const d = dests[i]!;
    expect(indexCounter(next) - indexCounter(d.startIndex)).toBe(
      BigInt(streamBoxCount(d.payload.length, per)),
    );
  });
  expect(await pendingCopies(store)).toEqual([]);
  return { first, second, stored };
}

describe('a copy stream killed with SIGKILL and resumed by another process', () => {
  it('delivers every payload exactly once when killed while running in the middle of the calls', async () => {
    const { stored } = await crashAndResume('running', {
      line: (l) => l.event === 'progress' && (l.batchesDone as number) >= 3,
    });
    expect(stored.progress!.phase).toBe('filling');
  });

  it('delivers every payload exactly once when killed right after a call was checkpointed', async () => {
    const { stored } = await crashAndResume('after-call', { freeze: 'batch:4' });
    expect(stored.progress).toMatchObject({ phase: 'filling', batchCursor: 4, envelopeCursor: 0 });
    expect(stored.progress!.buffer.length).toBeGreaterThan(0);
  });

  it('delivers every payload exactly once when killed while the copy command is under way', async () => {
    const { stored } = await crashAndResume('copying', {
      line: (l) => l.event === 'progress' && l.phase === 'copying',
    });
    expect(stored.progress!.phase).toBe('copying');
  });
});

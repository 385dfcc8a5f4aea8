/**
 * Copy streams against the devnet over a real socket: one destination, several destinations over many
 * calls (with the file and the SQLite checkpoint store), a tombstone range, the courier's failure
 * report, cancellation while filling and while copying, and resumption after an error in the same
 * process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThinClient } from '../../../src/client.js';
import { indexCounter } from '../../../src/crypto/bacap.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { ClientClosedError, CopyCommandFailedError, TombstoneError } from '../../../src/errors.js';
import {
  CheckpointError,
  type CheckpointStore,
  loadCopy,
  MemoryCheckpointStore,
  pendingCopies,
} from '../../../src/pigeonhole/checkpoint.js';
import { FileCheckpointStore } from '../../../src/pigeonhole/checkpointFileStore.js';
import { SqliteCheckpointStore } from '../../../src/pigeonhole/checkpointSqliteStore.js';
import {
  type CopyProgress,
  copyToChannel,
  copyToChannels,
  discardCopy,
  resumeCopy,
  tombstoneRangeViaCopy,
} from '../../../src/pigeonhole/copy.js';
import {
  readStream,
  streamBoxCount,
  streamBoxPayloadLength,
  writeStream,
} from '../../../src/pigeonhole/streams.js';

let net: Devnet;
let client: ThinClient;
let dir: string;
let per: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kp-copy-'));
  net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', authorityScheme: 'Ed25519' });
  client = await ThinClient.connect(net.thinClientConfig);
  per = streamBoxPayloadLength(client);
});

afterAll(async () => {
  await client?.close();
  await net?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fast = { pacing: false } as const;

async function destination(length: number, c: ThinClient = client) {
  const kp = await c.newKeypair(new Uint8Array(randomBytes(32)));
  return {
    payload: new Uint8Array(randomBytes(length)),
    writeCap: kp.writeCap,
    readCap: kp.readCap,
    startIndex: kp.firstMessageIndex,
  };
}

async function readBack(d: { payload: Uint8Array; readCap: Uint8Array; startIndex: Uint8Array }, c = client) {
  return (await readStream(c, d.readCap, d.startIndex, streamBoxCount(d.payload.length, per), 0, fast)).data;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

const stores: [string, () => CheckpointStore][] = [
  ['file', () => new FileCheckpointStore(mkdtempSync(join(dir, 'files-')))],
  ['SQLite', () => new SqliteCheckpointStore(join(mkdtempSync(join(dir, 'db-')), 'checkpoints.db'))],
];

describe('copy streams on the devnet', () => {
  it('copies a payload into one channel, where readStream finds exactly it', async () => {
    const store = new MemoryCheckpointStore();
    const d = await destination(3 * per + 10);
    const result = await copyToChannel(client, d.payload, d.writeCap, d.startIndex, {
      checkpointStore: store,
    });
    expect(await readBack(d)).toEqual(d.payload);
    expect(indexCounter(result.nextDestIndex) - indexCounter(d.startIndex)).toBe(4n);
    expect(result.tempBoxesWritten).toBeGreaterThan(4);
    expect(await store.keys()).toEqual([]);
  });

  it.each(stores)(
    'copies several payloads over many calls with the Buffer carried between them (%s store)',
    async (_name, makeStore) => {
      const store = makeStore();
      const dests = await Promise.all([5 * per + 1, per, 9, 2 * per].map((n) => destination(n)));
      const seen: CopyProgress[] = [];
      const result = await copyToChannels(client, dests, {
        checkpointStore: store,
        batchBoxes: 2,
        onProgress: (p) => seen.push(p),
      });
      for (const d of dests) expect(await readBack(d)).toEqual(d.payload);
      result.nextDestIndices.forEach((next, i) => {
        const d = dests[i]!;
        expect(indexCounter(next) - indexCounter(d.startIndex)).toBe(
          BigInt(streamBoxCount(d.payload.length, per)),
        );
      });
      // 6 + 1 + 1 + 2 boxes in calls of 2: five calls, each reported once it was durable.
      expect(seen.at(-1)).toMatchObject({ phase: 'copying', batchesDone: 5, batchCount: 5 });
      expect(seen.filter((p) => p.tempBoxesWritten === 0).map((p) => p.batchesDone)).toContain(1);
      expect(await store.keys()).toEqual([]);
      await store.close?.();
    },
  );

  it('tombstones a range through the courier, over several calls', async () => {
    const d = await destination(5 * per);
    await writeStream(client, d.writeCap, d.startIndex, d.payload, 0, fast);
    const result = await tombstoneRangeViaCopy(client, d.writeCap, d.startIndex, 5, {
      checkpointStore: new MemoryCheckpointStore(),
      batchBoxes: 2,
    });
    expect(indexCounter(result.nextDestIndices[0]!) - indexCounter(d.startIndex)).toBe(5n);
    let index = d.startIndex;
    for (let k = 0; k < 5; k++) {
      const r = await client.encryptRead(d.readCap, index);
      await expect(
        client.startResendingEncryptedMessage({
          readCap: d.readCap,
          messageBoxIndex: index,
          envelopeDescriptor: r.envelopeDescriptor,
          messageCiphertext: r.messageCiphertext,
          envelopeHash: r.envelopeHash,
        }),
      ).rejects.toBeInstanceOf(TombstoneError);
      index = r.nextMessageBoxIndex;
    }
  });

  it("rejects with the courier's replica error and failed envelope index, and keeps the checkpoint for a retry", async () => {
    const store = new MemoryCheckpointStore();
    const d = await destination(2 * per);
    // Someone else already wrote the second destination box.
    const other = new Uint8Array(randomBytes(per));
    const second = await client.nextMessageBoxIndex(d.startIndex);
    await writeStream(client, d.writeCap, second, other, 1, fast);
    const err = await copyToChannel(client, d.payload, d.writeCap, d.startIndex, {
      checkpointStore: store,
      id: 'conflict',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyCommandFailedError);
    expect((err as CopyCommandFailedError).replicaErrorCode).toBe(10);
    expect((err as CopyCommandFailedError).failedEnvelopeIndex).toBeGreaterThan(0n);
    expect(await pendingCopies(store)).toEqual(['conflict']);
    expect((await loadCopy(store, 'conflict'))!.progress!.phase).toBe('copying');
    await discardCopy(store, 'conflict');
    expect(await store.keys()).toEqual([]);
  });

  it('rejects with the abort reason, stops the pending temp write and forgets the stream when aborted while filling', async () => {
    const store = new MemoryCheckpointStore();
    const d = await destination(4 * per);
    const controller = new AbortController();
    const reason = new Error('changed my mind');
    const promise = copyToChannel(client, d.payload, d.writeCap, d.startIndex, {
      checkpointStore: store,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.tempBoxesWritten === 2) controller.abort(reason);
      },
    });
    await expect(promise).rejects.toBe(reason);
    expect(await store.keys()).toEqual([]);
    await until(() => net.stats().arqsInFlight === 0);
  });

  it('rejects a signal that is already aborted without touching the store', async () => {
    const store = new MemoryCheckpointStore();
    const d = await destination(10);
    const reason = new Error('too late');
    await expect(
      copyToChannel(client, d.payload, d.writeCap, d.startIndex, {
        checkpointStore: store,
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
    expect(await store.keys()).toEqual([]);
  });

  it('finishes a stream in the same process with resumeCopy after the client it ran on was closed', async () => {
    const store = new MemoryCheckpointStore();
    const first = await ThinClient.connect(net.thinClientConfig);
    const d = await destination(6 * per);
    const err = await copyToChannel(first, d.payload, d.writeCap, d.startIndex, {
      checkpointStore: store,
      id: 'interrupted',
      batchBoxes: 2,
      onProgress: (p) => {
        if (p.batchesDone === 2 && p.tempBoxesWritten > 0) void first.close();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientClosedError);
    expect(await pendingCopies(store)).toEqual(['interrupted']);
    const result = await resumeCopy(client, store, 'interrupted');
    expect(result.id).toBe('interrupted');
    expect(await readBack(d)).toEqual(d.payload);
    expect(await store.keys()).toEqual([]);
  });

  it('shows an inspector the copy-stream actor without its write caps, payloads or any other bytes', async () => {
    const d = await destination(2 * per);
    const events: unknown[] = [];
    await copyToChannel(client, d.payload, d.writeCap, d.startIndex, {
      checkpointStore: new MemoryCheckpointStore(),
      inspect: (e) => events.push(e),
    });
    expect(events.length).toBeGreaterThan(10);
    const bytesIn = (v: unknown, seen = new Set<unknown>()): boolean => {
      if (v instanceof Uint8Array) return true;
      if (v === null || typeof v !== 'object' || seen.has(v)) return false;
      seen.add(v);
      return Object.values(v).some((x) => bytesIn(x, seen));
    };
    const plain = events.map((e) => {
      const { actorRef: _a, sourceRef: _s, ...rest } = e as Record<string, unknown>;
      return rest;
    });
    expect(plain.some((e) => bytesIn(e))).toBe(false);
    expect(JSON.stringify(plain)).toContain('[redacted]');
  });

  it('refuses to resume a stream the store does not hold', async () => {
    await expect(resumeCopy(client, new MemoryCheckpointStore(), 'nope')).rejects.toBeInstanceOf(
      CheckpointError,
    );
  });
});

describe('cancelling a copy command the courier is still executing', () => {
  let slow: Devnet;
  let c: ThinClient;
  beforeAll(async () => {
    // The daemon polls an in-progress copy only every minute, so the copy stays in flight.
    slow = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
      timing: { copyPollMs: 60_000 },
    });
    c = await ThinClient.connect(slow.thinClientConfig);
  });
  afterAll(async () => {
    await c?.close();
    await slow?.stop();
  });

  it('sends CancelResendingCopyCommand for the temp write cap, rejects with the reason and forgets the stream', async () => {
    const store = new MemoryCheckpointStore();
    const d = await destination(2 * per, c);
    const controller = new AbortController();
    const reason = new Error('stop the copy');
    let copying = false;
    const promise = copyToChannel(c, d.payload, d.writeCap, d.startIndex, {
      checkpointStore: store,
      signal: controller.signal,
      onProgress: (p) => {
        copying ||= p.phase === 'copying';
      },
    });
    await until(() => copying && slow.stats().arqsInFlight === 1);
    controller.abort(reason);
    await expect(promise).rejects.toBe(reason);
    await until(() => slow.stats().arqsInFlight === 0);
    expect(await store.keys()).toEqual([]);
  });
});

/**
 * Copy-stream checkpoints: the CBOR records (round trips, refusal of foreign or damaged records), the
 * three stores behind one contract (memory, file with atomic replace, SQLite), and the per-stream
 * ordering of saves and deletes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type CopyJob, type CopyProgress, initialProgress } from '../../../machines/copyStream.js';
import {
  CheckpointError,
  type CheckpointStore,
  COPY_CHECKPOINT_SCHEMA_VERSION,
  decodeCopyCheckpoint,
  decodeCopyJob,
  discardCopy,
  encodeCopyCheckpoint,
  encodeCopyJob,
  loadCopy,
  MemoryCheckpointStore,
  pendingCopies,
  saveCopyCheckpoint,
  saveCopyJob,
} from '../../../src/pigeonhole/checkpoint.js';
import { FileCheckpointStore } from '../../../src/pigeonhole/checkpointFileStore.js';
import { SqliteCheckpointStore } from '../../../src/pigeonhole/checkpointSqliteStore.js';
import { decodeCbor, encodeCbor } from '../../../src/wire/codec.js';

const dir = mkdtempSync(join(tmpdir(), 'kp-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const filled = (n: number, v: number) => new Uint8Array(n).fill(v);

const payloadJob: CopyJob = {
  kind: 'payload',
  destinations: [
    { payload: filled(3000, 1), writeCap: filled(168, 2), startIndex: filled(104, 3) },
    { payload: filled(5, 4), writeCap: filled(168, 5), startIndex: filled(104, 6) },
  ],
  chunkLength: 1545,
  batchBoxes: 16,
};
const tombstoneJob: CopyJob = {
  kind: 'tombstone',
  writeCap: filled(168, 7),
  startIndex: filled(104, 8),
  count: 40,
  batchBoxes: 8,
};
const progress: CopyProgress = {
  phase: 'filling',
  tempWriteCap: filled(168, 9),
  tempIndex: filled(104, 10),
  buffer: filled(700, 11),
  nextDestIndices: [filled(104, 12), filled(104, 13)],
  batchCursor: 3,
  elements: [filled(1549, 14), filled(1549, 15), filled(12, 16)],
  envelopeCursor: 1,
  tempBoxesWritten: 17,
};

describe('copy-stream checkpoint records', () => {
  it('round-trip the job and the progress, byte strings staying byte strings', () => {
    expect(decodeCopyJob(encodeCopyJob(payloadJob))).toEqual(payloadJob);
    expect(decodeCopyJob(encodeCopyJob(tombstoneJob))).toEqual(tombstoneJob);
    expect(decodeCopyCheckpoint(encodeCopyCheckpoint(progress))).toEqual(progress);
    const fresh = initialProgress(payloadJob);
    expect(decodeCopyCheckpoint(encodeCopyCheckpoint(fresh))).toEqual(fresh);
    const raw = decodeCbor(encodeCopyCheckpoint(progress)) as Record<string, unknown>;
    expect(raw.tempWriteCap).toBeInstanceOf(Uint8Array);
    expect(raw).toMatchObject({
      schemaVersion: COPY_CHECKPOINT_SCHEMA_VERSION,
      type: 'copy-checkpoint',
      phase: 'filling',
    });
  });

  it('hold the fields a resuming process needs, under their documented names', () => {
    const raw = decodeCbor(encodeCopyCheckpoint(progress)) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(
      [
        'schemaVersion',
        'type',
        'phase',
        'tempWriteCap',
        'tempIndex',
        'buffer',
        'nextDestIndices',
        'batchCursor',
        'elements',
        'envelopeCursor',
        'tempBoxesWritten',
      ].sort(),
    );
  });

  it('refuse another schema version, another record type, damaged fields and bytes that are not CBOR', () => {
    const raw = decodeCbor(encodeCopyCheckpoint(progress)) as Record<string, unknown>;
    const variants: Record<string, unknown>[] = [
      { ...raw, schemaVersion: COPY_CHECKPOINT_SCHEMA_VERSION + 1 },
      { ...raw, type: 'copy-job' },
      { ...raw, phase: 'done' },
      { ...raw, tempWriteCap: filled(167, 0) },
      { ...raw, nextDestIndices: [filled(103, 0)] },
      { ...raw, envelopeCursor: 4 },
      { ...raw, batchCursor: -1 },
      { ...raw, tempIndex: null },
    ];
    for (const v of variants) expect(() => decodeCopyCheckpoint(encodeCbor(v))).toThrow(CheckpointError);
    expect(() => decodeCopyCheckpoint(new Uint8Array([0xff, 0x00]))).toThrow(CheckpointError);
    expect(() => decodeCopyJob(encodeCopyCheckpoint(progress))).toThrow(CheckpointError);
    const job = decodeCbor(encodeCopyJob(payloadJob)) as Record<string, unknown>;
    expect(() => decodeCopyJob(encodeCbor({ ...job, destinations: [] }))).toThrow(CheckpointError);
    expect(() => decodeCopyJob(encodeCbor({ ...job, kind: 'other' }))).toThrow(CheckpointError);
  });
});

const stores: [string, () => CheckpointStore][] = [
  ['memory', () => new MemoryCheckpointStore()],
  ['file', () => new FileCheckpointStore(mkdtempSync(join(dir, 'f-')))],
  ['SQLite', () => new SqliteCheckpointStore(join(mkdtempSync(join(dir, 's-')), 'c.db'))],
];

describe.each(stores)('the %s checkpoint store', (_name, make) => {
  it('puts, gets, overwrites, lists and deletes records', async () => {
    const store = make();
    expect(await store.get('a')).toBeUndefined();
    await store.put('a', new Uint8Array([1, 2, 3]));
    await store.put('b.c', new Uint8Array([4]));
    await store.put('a', new Uint8Array([5, 6]));
    expect(await store.get('a')).toEqual(new Uint8Array([5, 6]));
    expect(await store.keys()).toEqual(['a', 'b.c']);
    await store.delete('a');
    await store.delete('a');
    expect(await store.get('a')).toBeUndefined();
    expect(await store.keys()).toEqual(['b.c']);
    await store.close?.();
  });

  it('hands back Uint8Arrays that do not alias what it stores', async () => {
    const store = make();
    const value = new Uint8Array([1, 2, 3]);
    await store.put('k', value);
    value[0] = 9;
    const got = (await store.get('k'))!;
    expect(got.constructor).toBe(Uint8Array);
    expect(got).toEqual(new Uint8Array([1, 2, 3]));
    await store.close?.();
  });

  it('refuses keys that could escape the store', async () => {
    const store = make();
    for (const key of ['../x', 'a/b', '.hidden', '', 'a b']) {
      await expect(store.put(key, new Uint8Array(1))).rejects.toBeInstanceOf(CheckpointError);
    }
    await store.close?.();
  });

  it('saves, loads, lists and discards copy streams', async () => {
    const store = make();
    await saveCopyJob(store, 'one', payloadJob);
    expect(await loadCopy(store, 'one')).toEqual({ id: 'one', job: payloadJob, progress: undefined });
    await saveCopyCheckpoint(store, 'one', progress);
    await saveCopyJob(store, 'two', tombstoneJob);
    expect(await loadCopy(store, 'one')).toEqual({ id: 'one', job: payloadJob, progress });
    expect(await pendingCopies(store)).toEqual(['one', 'two']);
    await discardCopy(store, 'one');
    expect(await loadCopy(store, 'one')).toBeUndefined();
    expect(await pendingCopies(store)).toEqual(['two']);
    await store.close?.();
  });
});

describe('checkpoint ordering and durability', () => {
  it('applies a discard issued during a save after that save, so a cancelled stream leaves nothing', async () => {
    const inner = new MemoryCheckpointStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: CheckpointStore = {
      put: async (k, v) => {
        await gate;
        await inner.put(k, v);
      },
      get: (k) => inner.get(k),
      delete: (k) => inner.delete(k),
      keys: () => inner.keys(),
    };
    await inner.put('copy.s.job', encodeCopyJob(payloadJob));
    const saving = saveCopyCheckpoint(slow, 's', progress);
    const discarding = discardCopy(slow, 's');
    release();
    await Promise.all([saving, discarding]);
    expect(await inner.keys()).toEqual([]);
  });

  it('replaces a file atomically: no torn record, no temp file left, owner-only permissions', async () => {
    const d = mkdtempSync(join(dir, 'atomic-'));
    const store = new FileCheckpointStore(join(d, 'nested', 'dir'));
    await store.put('k', new Uint8Array(100_000).fill(1));
    await store.put('k', new Uint8Array(10).fill(2));
    const files = readdirSync(join(d, 'nested', 'dir'));
    expect(files).toEqual(['k.ckpt']);
    expect(readFileSync(join(d, 'nested', 'dir', 'k.ckpt'))).toEqual(Buffer.alloc(10, 2));
    expect(statSync(join(d, 'nested', 'dir', 'k.ckpt')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'nested', 'dir')).mode & 0o777).toBe(0o700);
  });

  it('ignores the temp file a killed writer left behind', async () => {
    const d = mkdtempSync(join(dir, 'torn-'));
    const store = new FileCheckpointStore(d);
    await store.put('k', new Uint8Array([1]));
    writeFileSync(join(d, '.k.ckpt.999.abcdef.tmp'), 'half a rec');
    expect(await store.keys()).toEqual(['k']);
    expect(await store.get('k')).toEqual(new Uint8Array([1]));
  });

  it('shares an application database: the SQLite store uses its own table in a handle it does not close', async () => {
    const db = new Database(join(mkdtempSync(join(dir, 'shared-')), 'app.db'));
    db.exec('CREATE TABLE app (x INTEGER)');
    const store = new SqliteCheckpointStore(db, { table: 'copies' });
    await store.put('k', new Uint8Array([7]));
    store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) AS n FROM copies').get()).toEqual({ n: 1 });
    db.close();
  });
});

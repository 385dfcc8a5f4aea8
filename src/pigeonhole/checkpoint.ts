/**
 * Durable state of copy streams (machines/copyStream.ts), so that a stream interrupted by a crash, a
 * kill or a reboot can be finished by another process with resumeCopy.
 *
 * Two records per stream, both CBOR (src/wire/codec.ts: byte strings stay byte strings; never JSON of
 * typed arrays), under keys derived from the stream id:
 * - `copy.<id>.job`: what to copy (destinations with their payloads and write caps, or a tombstone
 *   range) and how it is cut into calls. Written once, before anything is sent.
 * - `copy.<id>.checkpoint`: the progress, rewritten after every create-courier-envelopes call and every
 *   temp write: `{schemaVersion, phase, tempWriteCap, tempIndex, buffer, nextDestIndices, batchCursor,
 *   elements, envelopeCursor, tempBoxesWritten}`: what the stateless daemon cannot give back, as
 *   thin_client's `src/persistent/channel.rs` CopyStreamBuilder keeps it.
 * Splitting them keeps the frequent write small: a 10 MiB payload is not rewritten per temp box.
 *
 * Both records hold secrets (write caps, and the payload until the copy is done). The file store
 * creates its directory 0700 and files 0600; a stream that finishes or is cancelled deletes its records.
 *
 * Stores are plain key → bytes maps (CheckpointStore). Operations on one stream are serialised here, so
 * a delete issued after a save (cancel during a checkpoint write) cannot be overtaken by it.
 */
import type { CopyJob, CopyPhase, CopyProgress } from '../../machines/copyStream.js';
import { ThinClientError } from '../errors.js';
import { decodeCbor, encodeCbor } from '../wire/codec.js';
import { SIZES } from '../wire/schema.js';

/** Bumped whenever the meaning of a record changes; older records are refused, not guessed at. */
export const COPY_CHECKPOINT_SCHEMA_VERSION = 1;

/** A key → bytes map that survives the process. Implementations must make `put` atomic. */
export interface CheckpointStore {
  /**
   * Stores `value` under `key`, replacing what was there, atomically (all or nothing, even across a crash).
   */
  put(key: string, value: Uint8Array): Promise<void>;
  /** undefined when the key is absent. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key present, in any order. */
  keys(): Promise<string[]>;
  /** Releases the store's resources; optional. */
  close?(): Promise<void> | void;
}

/** A checkpoint record is missing, corrupt or of another schema version. */
export class CheckpointError extends ThinClientError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_CHECKPOINT', message, options);
  }
}

/** Keys may be used as file names: letters, digits, `.`, `_`, `-`, not starting with a dot. */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || !/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(key)) {
    throw new CheckpointError(`invalid checkpoint key ${JSON.stringify(key)}`);
  }
  return key;
}

/** Stream ids: 1–128 of letters, digits, `_` and `-`. */
export function checkCopyId(id: string): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) {
    throw new CheckpointError(`invalid copy stream id ${JSON.stringify(id)}`);
  }
  return id;
}

const jobKey = (id: string) => `copy.${checkCopyId(id)}.job`;
const checkpointKey = (id: string) => `copy.${checkCopyId(id)}.checkpoint`;

// ---- encoding ---------------------------------------------------------------------------------

export function encodeCopyJob(job: CopyJob): Uint8Array {
  const common = { schemaVersion: COPY_CHECKPOINT_SCHEMA_VERSION, type: 'copy-job', kind: job.kind };
  if (job.kind === 'payload') {
    return encodeCbor({
      ...common,
      destinations: job.destinations.map((d) => ({
        payload: d.payload,
        writeCap: d.writeCap,
        startIndex: d.startIndex,
      })),
      chunkLength: job.chunkLength,
      batchBoxes: job.batchBoxes,
    });
  }
  return encodeCbor({
    ...common,
    writeCap: job.writeCap,
    startIndex: job.startIndex,
    count: job.count,
    batchBoxes: job.batchBoxes,
  });
}

export function decodeCopyJob(bytes: Uint8Array): CopyJob {
  const r = record(bytes, 'copy-job');
  const batchBoxes = int(r, 'batchBoxes', 1);
  if (r.kind === 'payload') {
    const list = r.destinations;
    if (!Array.isArray(list) || list.length === 0) throw bad('destinations');
    return {
      kind: 'payload',
      destinations: list.map((d, i) => {
        if (d === null || typeof d !== 'object') throw bad(`destinations[${i}]`);
        const o = d as Record<string, unknown>;
        return {
          payload: bytesField(o, 'payload'),
          writeCap: bytesField(o, 'writeCap', SIZES.writeCap),
          startIndex: bytesField(o, 'startIndex', SIZES.messageBoxIndex),
        };
      }),
      chunkLength: int(r, 'chunkLength', 1),
      batchBoxes,
    };
  }
  if (r.kind === 'tombstone') {
    return {
      kind: 'tombstone',
      writeCap: bytesField(r, 'writeCap', SIZES.writeCap),
      startIndex: bytesField(r, 'startIndex', SIZES.messageBoxIndex),
      count: int(r, 'count', 1),
      batchBoxes,
    };
  }
  throw bad('kind');
}

export function encodeCopyCheckpoint(p: CopyProgress): Uint8Array {
  return encodeCbor({
    schemaVersion: COPY_CHECKPOINT_SCHEMA_VERSION,
    type: 'copy-checkpoint',
    phase: p.phase,
    tempWriteCap: p.tempWriteCap,
    tempIndex: p.tempIndex,
    buffer: p.buffer,
    nextDestIndices: p.nextDestIndices,
    batchCursor: p.batchCursor,
    elements: p.elements,
    envelopeCursor: p.envelopeCursor,
    tempBoxesWritten: p.tempBoxesWritten,
  });
}

export function decodeCopyCheckpoint(bytes: Uint8Array): CopyProgress {
  const r = record(bytes, 'copy-checkpoint');
  if (r.phase !== 'filling' && r.phase !== 'copying') throw bad('phase');
  const nextDestIndices = bytesList(r, 'nextDestIndices', SIZES.messageBoxIndex);
  const elements = bytesList(r, 'elements');
  const envelopeCursor = int(r, 'envelopeCursor', 0);
  if (envelopeCursor > elements.length) throw bad('envelopeCursor');
  const tempWriteCap = r.tempWriteCap === null ? null : bytesField(r, 'tempWriteCap', SIZES.writeCap);
  const tempIndex = r.tempIndex === null ? null : bytesField(r, 'tempIndex', SIZES.messageBoxIndex);
  if ((tempWriteCap === null) !== (tempIndex === null)) throw bad('tempIndex');
  return {
    phase: r.phase as CopyPhase,
    tempWriteCap,
    tempIndex,
    buffer: bytesField(r, 'buffer'),
    nextDestIndices,
    batchCursor: int(r, 'batchCursor', 0),
    elements,
    envelopeCursor,
    tempBoxesWritten: int(r, 'tempBoxesWritten', 0),
  };
}

function record(bytes: Uint8Array, type: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = decodeCbor(bytes);
  } catch (cause) {
    throw new CheckpointError(`${type} record is not valid CBOR`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new CheckpointError(`${type} record is not a map`);
  }
  const r = value as Record<string, unknown>;
  if (r.type !== type) throw new CheckpointError(`expected a ${type} record, got ${String(r.type)}`);
  if (r.schemaVersion !== COPY_CHECKPOINT_SCHEMA_VERSION) {
    throw new CheckpointError(
      `${type} record has schema version ${String(r.schemaVersion)}; this library reads ${COPY_CHECKPOINT_SCHEMA_VERSION}`,
    );
  }
  return r;
}

const bad = (field: string) => new CheckpointError(`checkpoint field ${field} is missing or malformed`);

function int(r: Record<string, unknown>, field: string, min: number): number {
  const v = r[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(field);
  return v;
}

function bytesField(r: Record<string, unknown>, field: string, size?: number): Uint8Array {
  const v = r[field];
  if (!(v instanceof Uint8Array) || (size !== undefined && v.length !== size)) throw bad(field);
  return v;
}

function bytesList(r: Record<string, unknown>, field: string, size?: number): Uint8Array[] {
  const v = r[field];
  if (!Array.isArray(v)) throw bad(field);
  return v.map((b, i) => {
    if (!(b instanceof Uint8Array) || (size !== undefined && b.length !== size)) throw bad(`${field}[${i}]`);
    return b;
  });
}

// ---- typed access, serialised per stream ------------------------------------------------------

const queues = new WeakMap<CheckpointStore, Map<string, Promise<unknown>>>();

/** Runs `op` after every earlier operation on the same stream of the same store. */
function serial<T>(store: CheckpointStore, id: string, op: () => Promise<T>): Promise<T> {
  let perStore = queues.get(store);
  if (perStore === undefined) {
    perStore = new Map();
    queues.set(store, perStore);
  }
  const previous = perStore.get(id) ?? Promise.resolve();
  const next = previous.then(op, op);
  const settled = next.catch(() => undefined);
  perStore.set(id, settled);
  void settled.then(() => {
    if (perStore.get(id) === settled) perStore.delete(id);
  });
  return next;
}

export function saveCopyJob(store: CheckpointStore, id: string, job: CopyJob): Promise<void> {
  const bytes = encodeCopyJob(job);
  return serial(store, id, () => store.put(jobKey(id), bytes));
}

export function saveCopyCheckpoint(
  store: CheckpointStore,
  id: string,
  progress: CopyProgress,
): Promise<void> {
  const bytes = encodeCopyCheckpoint(progress);
  return serial(store, id, () => store.put(checkpointKey(id), bytes));
}

export interface StoredCopy {
  id: string;
  job: CopyJob;
  /** undefined when the process stopped after saving the job and before the first checkpoint. */
  progress: CopyProgress | undefined;
}

/** The job and last checkpoint of a stream, or undefined when the store has no such stream. */
export function loadCopy(store: CheckpointStore, id: string): Promise<StoredCopy | undefined> {
  return serial(store, id, async () => {
    const jobBytes = await store.get(jobKey(id));
    if (jobBytes === undefined) return undefined;
    const progressBytes = await store.get(checkpointKey(id));
    return {
      id,
      job: decodeCopyJob(jobBytes),
      progress: progressBytes === undefined ? undefined : decodeCopyCheckpoint(progressBytes),
    };
  });
}

/** Forgets a stream: its checkpoint, then its job. Safe to call for an unknown id. */
export function discardCopy(store: CheckpointStore, id: string): Promise<void> {
  return serial(store, id, async () => {
    await store.delete(checkpointKey(id));
    await store.delete(jobKey(id));
  });
}

/** Ids of the streams the store holds (unfinished, failed or interrupted), sorted. */
export async function pendingCopies(store: CheckpointStore): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await store.keys()) {
    const m = /^copy\.([A-Za-z0-9_-]{1,128})\.job$/.exec(key);
    if (m) ids.push(m[1]!);
  }
  return ids.sort();
}

/** A store in memory, for tests and for callers who do not need to survive the process. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #map = new Map<string, Uint8Array>();
  async put(key: string, value: Uint8Array): Promise<void> {
    this.#map.set(checkKey(key), value.slice());
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.#map.get(checkKey(key))?.slice();
  }
  async delete(key: string): Promise<void> {
    this.#map.delete(checkKey(key));
  }
  async keys(): Promise<string[]> {
    return [...this.#map.keys()].sort();
  }
}

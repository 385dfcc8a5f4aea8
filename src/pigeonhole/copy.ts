/**
 * Copy commands as one call each: a payload to one channel, payloads to several channels atomically,
 * a tombstone range, and the resumption of any of them from its checkpoint in another process.
 *
 * Every call runs one copy-stream actor (machines/copyStream.ts): temp channel from a random seed,
 * create-courier-envelopes calls batch by batch with the Buffer passed on, each element written to the
 * temp channel, then StartResendingCopyCommand(tempWriteCap). Progress is checkpointed after every call
 * and every temp write (checkpoint.ts), by default in files under the user's state directory.
 *
 * Outcomes: resolves when the courier reports success; rejects with CopyCommandFailedError
 * (`replicaErrorCode`, `failedEnvelopeIndex`) when it reports failure — the checkpoint is kept, so
 * resumeCopy sends the copy command again (a re-run converges: destination writes are idempotent) —
 * with `signal.reason` when the signal aborts (the copy command and the pending temp write are
 * cancelled at the daemon, the checkpoint is deleted), or with the error of a daemon call or of the
 * store (the checkpoint is kept for resumeCopy).
 */
import { randomBytes } from 'node:crypto';
import { type CopyClient, type RunCopyOptions, runCopyStream } from '../../actors/copyStream.js';
import type {
  CopyDestination,
  CopyJob,
  CopyStreamOutput,
  CopyStreamProgressEvent,
} from '../../machines/copyStream.js';
import type { ThinClient } from '../client.js';
import { CopyCommandFailedError, InvalidArgumentError } from '../errors.js';
import { bytesArg } from '../protocol/args.js';
import { SIZES } from '../wire/schema.js';
import { CheckpointError, type CheckpointStore, checkCopyId, loadCopy } from './checkpoint.js';
import { FileCheckpointStore } from './checkpointFileStore.js';
import { streamBoxPayloadLength } from './streams.js';

export type { CopyClient } from '../../actors/copyStream.js';
export type { CopyDestination } from '../../machines/copyStream.js';
export { discardCopy, pendingCopies } from './checkpoint.js';

/** What `onProgress` of a copy receives after each durable step. */
export type CopyProgress = Omit<CopyStreamProgressEvent, 'type'>;

/** Options of `copyToChannel`, `copyToChannels`, `tombstoneRangeViaCopy` and `resumeCopy`. */
export interface CopyOptions {
  /** Aborting cancels the copy command and the pending temp write at the daemon, and deletes the checkpoint. */
  signal?: AbortSignal;
  /** Where progress is checkpointed. Default: a FileCheckpointStore in the user's state directory. */
  checkpointStore?: CheckpointStore;
  /** Called after each durable step (a batch built, a temp box written, the copy phase entered). */
  onProgress?: (progress: CopyProgress) => void;
  /** The stream id under which it is checkpointed (resumeCopy takes it). Default: 16 random bytes, hex. */
  id?: string;
  /** Destination boxes per create-courier-envelopes call. Default 16. */
  batchBoxes?: number;
  /** Pin the courier that runs the copy command (a different courier re-runs a failed copy). */
  courier?: {
    /** The courier's identity hash (32 bytes). */
    identityHash: Uint8Array;
    /** The courier's queue ID. */
    queueId: Uint8Array;
  };
  /** Sees the copy-stream actor (XState inspection, sanitized). */
  inspect?: RunCopyOptions['inspect'];
}

/** What a finished copy stream reports. */
export interface CopyResult {
  /** The stream id. */
  id: string;
  /** Each destination's index after the boxes the copy wrote (one entry for a tombstone range). */
  nextDestIndices: Uint8Array[];
  /** Temp-channel boxes written by this process and earlier ones. */
  tempBoxesWritten: number;
}

export const DEFAULT_BATCH_BOXES = 16;

function batchBoxesOf(options: CopyOptions): number {
  const n = options.batchBoxes ?? DEFAULT_BATCH_BOXES;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('batchBoxes', 'must be a positive integer');
  return n;
}

async function start(client: CopyClient, job: CopyJob, options: CopyOptions): Promise<CopyResult> {
  const id = checkCopyId(options.id ?? randomBytes(16).toString('hex'));
  options.signal?.throwIfAborted();
  const store = options.checkpointStore ?? new FileCheckpointStore();
  return settle(await runCopyStream(client, store, { id, job }, runOptions(options)));
}

function runOptions(options: CopyOptions): RunCopyOptions {
  const { onProgress } = options;
  return {
    signal: options.signal,
    courier: options.courier,
    inspect: options.inspect,
    onProgress: onProgress ? ({ type: _type, ...p }) => onProgress(p) : undefined,
  };
}

function settle(out: CopyStreamOutput): CopyResult {
  switch (out.status) {
    case 'done':
      return { id: out.id, nextDestIndices: out.nextDestIndices, tempBoxesWritten: out.tempBoxesWritten };
    case 'failed':
      throw new CopyCommandFailedError(out.replicaErrorCode, out.failedEnvelopeIndex);
    case 'cancelled':
      throw out.reason;
    case 'errored':
      throw out.error;
  }
}

/**
 * Copies `payload` into the channel of `destWriteCap` from `destStartIndex`, atomically via a courier
 * (the guide's "send to one channel atomically"). The destination's boxes hold MaxPlaintextPayloadLength
 * − 4 bytes each, so a reader gets the payload back with readStream(…, ceil(len / (Max − 4)), …).
 *
 * @throws CopyCommandFailedError when the courier reports failure (the checkpoint is kept: `resumeCopy`
 * sends the copy command again).
 * @throws InvalidArgumentError when `payload` is empty, a cap or index has the wrong length, or
 * `batchBoxes` is not a positive integer.
 * @throws CheckpointError when the checkpoint store cannot be used; a daemon call's error as it came
 * (the checkpoint is kept for `resumeCopy`); `signal.reason` when aborted.
 * @example
 * ```ts
 * const { nextDestIndex } = await copyToChannel(client, payload, writeCap, firstMessageIndex, {
 *   onProgress: (p) => console.log(p),
 * });
 * ```
 */
export async function copyToChannel(
  client: CopyClient & Pick<ThinClient, 'pigeonholeGeometry'>,
  payload: Uint8Array,
  destWriteCap: Uint8Array,
  destStartIndex: Uint8Array,
  options: CopyOptions = {},
): Promise<
  CopyResult & {
    /** The destination's index after the boxes the copy wrote. */
    nextDestIndex: Uint8Array;
  }
> {
  const r = await copyToChannels(
    client,
    [{ payload, writeCap: destWriteCap, startIndex: destStartIndex }],
    options,
  );
  return { ...r, nextDestIndex: r.nextDestIndices[0]! };
}

/**
 * Copies each destination's payload into its channel in one copy stream: the courier executes all of
 * it or reports where it stopped (the guide's "send to multiple channels atomically" with multi-call
 * buffer passing). Payloads are split over calls at box boundaries.
 *
 * @throws CopyCommandFailedError when the courier reports failure (the checkpoint is kept).
 * @throws InvalidArgumentError when `destinations` is empty, or a payload is empty or a cap or index
 * has the wrong length.
 * @throws CheckpointError when the checkpoint store cannot be used; a daemon call's error as it came;
 * `signal.reason` when aborted.
 * @example
 * ```ts
 * await copyToChannels(client, [
 *   { payload: toBob, writeCap: bobCap, startIndex: bobIndex },
 *   { payload: toCarol, writeCap: carolCap, startIndex: carolIndex },
 * ]);
 * ```
 */
export async function copyToChannels(
  client: CopyClient & Pick<ThinClient, 'pigeonholeGeometry'>,
  destinations: CopyDestination[],
  options: CopyOptions = {},
): Promise<CopyResult> {
  if (!Array.isArray(destinations) || destinations.length === 0) {
    throw new InvalidArgumentError('destinations', 'must be a non-empty array');
  }
  destinations.forEach((d, i) => {
    if (!(d.payload instanceof Uint8Array) || d.payload.length === 0) {
      throw new InvalidArgumentError(`destinations[${i}].payload`, 'must be a non-empty Uint8Array');
    }
    bytesArg(d.writeCap, `destinations[${i}].writeCap`, SIZES.writeCap);
    bytesArg(d.startIndex, `destinations[${i}].startIndex`, SIZES.messageBoxIndex);
  });
  const job: CopyJob = {
    kind: 'payload',
    destinations: destinations.map((d) => ({
      payload: d.payload,
      writeCap: d.writeCap,
      startIndex: d.startIndex,
    })),
    chunkLength: streamBoxPayloadLength(client),
    batchBoxes: batchBoxesOf(options),
  };
  return start(client, job, options);
}

/**
 * Tombstones `maxCount` boxes from `destStartIndex` through a copy stream: the courier writes the
 * tombstones, so either all of them land or the copy reports failure (the guide's "tombstone a range
 * via copy stream").
 *
 * @throws InvalidArgumentError when a cap or index has the wrong length, or `maxCount` is not an
 * integer in [1, 2³²).
 * @throws CopyCommandFailedError when the courier reports failure (the checkpoint is kept).
 */
export async function tombstoneRangeViaCopy(
  client: CopyClient,
  destWriteCap: Uint8Array,
  destStartIndex: Uint8Array,
  maxCount: number,
  options: CopyOptions = {},
): Promise<CopyResult> {
  bytesArg(destWriteCap, 'destWriteCap', SIZES.writeCap);
  bytesArg(destStartIndex, 'destStartIndex', SIZES.messageBoxIndex);
  // MaxCount 0 makes the daemon ignore IsLast (katzenpost client/pigeonhole.go, FromTombstoneRange), so
  // the stream would never be final.
  if (!Number.isSafeInteger(maxCount) || maxCount < 1 || maxCount > 0xffff_ffff) {
    throw new InvalidArgumentError('maxCount', 'must be an integer in [1, 2^32)');
  }
  const job: CopyJob = {
    kind: 'tombstone',
    writeCap: destWriteCap,
    startIndex: destStartIndex,
    count: maxCount,
    batchBoxes: batchBoxesOf(options),
  };
  return start(client, job, options);
}

/**
 * Continues the copy stream `id` from its last checkpoint in `store` (after a crash, a kill, an error
 * or a courier failure) and runs it to the end. Temp writes that may already have landed are sent again;
 * they are byte-identical, so replicas accept them as idempotent.
 *
 * @throws CheckpointError when the store holds no stream `id`, or its records are corrupt or of another
 * schema version.
 * @throws CopyCommandFailedError when the courier reports failure again.
 * @example
 * ```ts
 * const store = new FileCheckpointStore();
 * for (const id of await pendingCopies(store)) await resumeCopy(client, store, id);
 * ```
 */
export async function resumeCopy(
  client: CopyClient,
  store: CheckpointStore,
  id: string,
  options: Omit<CopyOptions, 'checkpointStore' | 'id' | 'batchBoxes'> = {},
): Promise<CopyResult> {
  options.signal?.throwIfAborted();
  const stored = await loadCopy(store, id);
  if (stored === undefined)
    throw new CheckpointError(`no copy stream ${JSON.stringify(id)} in the checkpoint store`);
  // Without a checkpoint the process stopped between saving the job and the first checkpoint: nothing
  // went out yet, and the machine starts afresh.
  const input =
    stored.progress === undefined
      ? { id, job: stored.job }
      : { id, job: stored.job, progress: stored.progress };
  return settle(await runCopyStream(client, store, input, runOptions(options)));
}

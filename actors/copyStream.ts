/**
 * The I/O bodies of machines/copyStream.ts: daemon calls through the thin client, the checkpoint
 * store, the temp channel's random seed and the BLAKE2b-256 cancel key.
 */
import { type AnyActorRef, createActor, fromPromise, type InspectionEvent, type Observer } from 'xstate';
import {
  type BuildBatchInput,
  type BuildBatchOutput,
  type CancelInput,
  type CopyCommandOutput,
  type CopyJob,
  type CopyProgress,
  type CopyStreamOutput,
  type CopyStreamProgressEvent,
  copyStreamMachine,
  type EncryptTempBoxInput,
  type PendingTempWrite,
  type TempChannel,
} from '../machines/copyStream.js';
import type { ThinClient } from '../src/client.js';
import { blake2b256 } from '../src/crypto/hash.js';
import { CopyCommandFailedError } from '../src/errors.js';
import { redactInspection } from '../src/inspector/redact.js';
import {
  type CheckpointStore,
  discardCopy,
  saveCopyCheckpoint,
  saveCopyJob,
} from '../src/pigeonhole/checkpoint.js';
import { SPAWN_WORK, type SpawnsWork } from '../src/workSpawner.js';
import { inspectSubtree } from './inspectSubtree.js';

/** The part of ThinClient's public API a copy stream uses. */
export type CopyClient = SpawnsWork &
  Pick<
    ThinClient,
    | 'newKeypair'
    | 'encryptWrite'
    | 'startResendingEncryptedMessage'
    | 'cancelResendingEncryptedMessage'
    | 'startResendingCopyCommand'
    | 'cancelResendingCopyCommand'
    | 'createCourierEnvelopesFromPayload'
    | 'createCourierEnvelopesFromMultiPayload'
    | 'createCourierEnvelopesFromTombstoneRange'
  >;

export interface CopyActorsOptions {
  /** Pin the courier that executes the copy command (otherwise the daemon picks one at random). */
  courier?: { identityHash: Uint8Array; queueId: Uint8Array };
}

const EMPTY = new Uint8Array(0);

/** One create-courier-envelopes call for a batch of the plan. */
export async function buildBatch(client: CopyClient, input: BuildBatchInput): Promise<BuildBatchOutput> {
  const { job, spec, isStart, isLast } = input;
  const buffer = input.buffer.length > 0 ? input.buffer : null;
  if (job.kind === 'tombstone' && spec.kind === 'tombstone') {
    const r = await client.createCourierEnvelopesFromTombstoneRange(
      job.writeCap,
      input.nextDestIndices[0]!,
      spec.count,
      isStart,
      isLast,
      buffer,
    );
    return { elements: r.envelopes, buffer: r.buffer ?? EMPTY, nextDestIndices: [r.nextDestIndex] };
  }
  if (job.kind !== 'payload' || spec.kind !== 'payload')
    throw new Error('copy stream: batch does not match the job');
  const next = input.nextDestIndices.slice();
  const destinations = spec.parts.map((p) => {
    const d = job.destinations[p.dest]!;
    return {
      payload: d.payload.subarray(p.offset, p.offset + p.length),
      writeCap: d.writeCap,
      startIndex: next[p.dest]!,
    };
  });
  // A whole single-destination stream in one call is the guide's one-channel recipe.
  if (isStart && isLast && buffer === null && destinations.length === 1) {
    const d = destinations[0]!;
    const r = await client.createCourierEnvelopesFromPayload(d.payload, d.writeCap, d.startIndex, true, true);
    next[spec.parts[0]!.dest] = r.nextDestIndex;
    return { elements: r.envelopes, buffer: EMPTY, nextDestIndices: next };
  }
  const r = await client.createCourierEnvelopesFromMultiPayload(destinations, isStart, isLast, buffer);
  spec.parts.forEach((p, i) => {
    next[p.dest] = r.nextDestIndices[i]!;
  });
  return { elements: r.envelopes, buffer: r.buffer ?? EMPTY, nextDestIndices: next };
}

/** The copy-stream machine with its I/O bound to `client` and `store`. */
export function copyStreamLogic(client: CopyClient, store: CheckpointStore, options: CopyActorsOptions = {}) {
  return copyStreamMachine.provide({
    actors: {
      saveJob: fromPromise<void, { id: string; job: CopyJob }>(({ input }) =>
        saveCopyJob(store, input.id, input.job),
      ),
      newTempChannel: fromPromise<TempChannel, void>(async () => {
        const kp = await client.newKeypair(crypto.getRandomValues(new Uint8Array(32)));
        return { tempWriteCap: kp.writeCap, tempIndex: kp.firstMessageIndex };
      }),
      buildBatch: fromPromise<BuildBatchOutput, BuildBatchInput>(({ input }) => buildBatch(client, input)),
      encryptTempBox: fromPromise<PendingTempWrite, EncryptTempBoxInput>(async ({ input }) => {
        const env = await client.encryptWrite(input.element, input.tempWriteCap, input.tempIndex);
        return {
          messageCiphertext: env.messageCiphertext,
          envelopeDescriptor: env.envelopeDescriptor,
          envelopeHash: env.envelopeHash,
          nextMessageBoxIndex: env.nextMessageBoxIndex,
        };
      }),
      sendTempBox: fromPromise<void, { tempWriteCap: Uint8Array; pending: PendingTempWrite }>(
        async ({ input, signal }) => {
          await client.startResendingEncryptedMessage(
            {
              writeCap: input.tempWriteCap,
              envelopeDescriptor: input.pending.envelopeDescriptor,
              messageCiphertext: input.pending.messageCiphertext,
              envelopeHash: input.pending.envelopeHash,
            },
            { signal },
          );
        },
      ),
      saveCheckpoint: fromPromise<void, { id: string; progress: CopyProgress }>(({ input }) =>
        saveCopyCheckpoint(store, input.id, input.progress),
      ),
      sendCopyCommand: fromPromise<CopyCommandOutput, { tempWriteCap: Uint8Array }>(
        async ({ input, signal }) => {
          try {
            await client.startResendingCopyCommand(input.tempWriteCap, {
              ...(options.courier
                ? {
                    courierIdentityHash: options.courier.identityHash,
                    courierQueueId: options.courier.queueId,
                  }
                : {}),
              signal,
            });
            return { status: 'succeeded' };
          } catch (err) {
            if (err instanceof CopyCommandFailedError) {
              return {
                status: 'failed',
                replicaErrorCode: err.replicaErrorCode,
                failedEnvelopeIndex: err.failedEnvelopeIndex,
              };
            }
            throw err;
          }
        },
      ),
      cancelOperations: fromPromise<void, CancelInput>(async ({ input }) => {
        const calls: Promise<unknown>[] = [];
        if (input.pendingEnvelopeHash !== null) {
          calls.push(client.cancelResendingEncryptedMessage(input.pendingEnvelopeHash));
        }
        if (input.copying && input.tempWriteCap !== null) {
          calls.push(client.cancelResendingCopyCommand(blake2b256(input.tempWriteCap)));
        }
        // A cancel for something already finished is answered with success; other failures are moot.
        await Promise.allSettled(calls);
      }),
      discardCheckpoint: fromPromise<void, { id: string }>(({ input }) => discardCopy(store, input.id)),
    },
  });
}

export interface RunCopyOptions extends CopyActorsOptions {
  signal?: AbortSignal;
  onProgress?: (progress: CopyStreamProgressEvent) => void;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/**
 * Runs one copy stream (new or resumed) to a final state and returns the machine's output. Under a
 * ThinClient it runs as the client actor's `copy:<id>` child (one tree, stopped by close()).
 */
export async function runCopyStream(
  client: CopyClient,
  store: CheckpointStore,
  input: { id: string; job: CopyJob; progress?: CopyProgress },
  options: RunCopyOptions = {},
): Promise<CopyStreamOutput> {
  const { signal, onProgress } = options;
  const logic = copyStreamLogic(client, store, options);
  const attach = (actor: AnyActorRef) => {
    const onAbort = () => actor.send({ type: 'CANCEL', reason: signal?.reason });
    const detach = () => signal?.removeEventListener('abort', onAbort);
    actor.subscribe({ complete: detach, error: detach });
    if (onProgress) actor.on('progress', (e: CopyStreamProgressEvent) => onProgress(e));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) queueMicrotask(onAbort);
  };
  const systemId = `copy:${input.id}`;
  const spawn = client[SPAWN_WORK];
  if (spawn) {
    const attachUnder = (actor: AnyActorRef) => {
      if (options.inspect) inspectSubtree(actor, options.inspect);
      attach(actor);
    };
    return (await spawn({ systemId, logic, input, attach: attachUnder })) as CopyStreamOutput;
  }
  return new Promise<CopyStreamOutput>((resolve, reject) => {
    const actor = createActor(logic, {
      input,
      systemId,
      // Contexts hold write caps and payloads: an inspector only ever sees sanitized events.
      inspect: options.inspect ? redactInspection(options.inspect) : undefined,
    });
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
    attach(actor);
    actor.start();
  });
}

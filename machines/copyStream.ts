/**
 * One copy-stream actor for the three uses of the courier copy command (katzenpost client/pigeonhole.go,
 * courier/server/plugin.go; the guide's "send to one / multiple channels atomically", "multi-call buffer
 * passing" and "tombstone a range via copy stream"):
 *
 *   savingJob → creatingTempChannel → persisting → route ─┬─ building ─────────────▶ persisting ─┐
 *                                                         ├─ encryptingTempBox → sendingTempBox ─▶┤
 *                                                         └─ copying ─┬─▶ finishing → done        │
 *                                                                     └─▶ failed                  │
 *      route ◀────────────────────────────────────────────────────────────────────────────────────┘
 *   CANCEL (anywhere before the copy is acknowledged) → cancelling → discarding → cancelled
 *   an I/O error                                     → errored (the checkpoint stays: resume later)
 *
 * Envelopes are built batch by batch (one create-courier-envelopes call per batch: IsStart on the
 * first, IsLast on the last, the residual Buffer handed from each call to the next), every element is
 * written to the temp channel in order, and the copy command names the temp write cap. After every
 * batch and every temp write the progress is checkpointed, so that another process can pick the stream
 * up where it stopped: the checkpoint holds the emitted-but-unwritten elements, the Buffer and the
 * destinations' next indices, which the stateless daemon cannot give back (katzenpost
 * pigeonhole/copy_stream.go). Re-sending a temp write after a crash is safe: BACAP is deterministic, so
 * the same element at the same index is a byte-identical, idempotent write (katzenpost replica/state.go).
 *
 * Pure: the I/O (daemon calls, checkpoint store) is named in `setup({ actors })` and provided by
 * actors/copyStream.ts. Expected outcomes (the courier's Failed, a cancel) are final states with output.
 */
import { assign, emit, fromPromise, setup } from 'xstate';
import {
  type BatchSpec,
  type CopyJob,
  type CopyPhase,
  type CopyProgress,
  initialProgress,
  planBatches,
} from './copyJob.js';
import {
  type BuildBatchInput,
  type BuildBatchOutput,
  type CancelInput,
  type CopyCommandOutput,
  type EncryptTempBoxInput,
  missing,
  type PendingTempWrite,
  type TempChannel,
} from './copyStreamIo.js';

export * from './copyJob.js';
export type {
  BuildBatchInput,
  BuildBatchOutput,
  CancelInput,
  CopyCommandOutput,
  EncryptTempBoxInput,
  PendingTempWrite,
  TempChannel,
} from './copyStreamIo.js';

export interface CopyStreamInput {
  id: string;
  job: CopyJob;
  /** Present when resuming: the last checkpoint. Absent for a new stream (the job is saved first). */
  progress?: CopyProgress;
}

export interface CopyStreamContext {
  id: string;
  job: CopyJob;
  plan: BatchSpec[];
  progress: CopyProgress;
  /** The temp write that is encrypted and possibly in flight. */
  pending: PendingTempWrite | null;
  failure: { replicaErrorCode: number; failedEnvelopeIndex: bigint } | null;
  error: unknown;
  cancelReason: unknown;
  outcome: 'done' | 'cancelled' | null;
}

export type CopyStreamEvent = { type: 'CANCEL'; reason?: unknown };

export interface CopyStreamProgressEvent {
  type: 'progress';
  id: string;
  phase: CopyPhase;
  batchesDone: number;
  batchCount: number;
  tempBoxesWritten: number;
}

export type CopyStreamOutput =
  | { status: 'done'; id: string; nextDestIndices: Uint8Array[]; tempBoxesWritten: number }
  | { status: 'failed'; id: string; replicaErrorCode: number; failedEnvelopeIndex: bigint }
  | { status: 'cancelled'; id: string; reason: unknown }
  | { status: 'errored'; id: string; error: unknown };

const toErrored = { target: '#copyStream.errored', actions: 'recordError' } as const;

export const copyStreamMachine = setup({
  types: {
    input: {} as CopyStreamInput,
    context: {} as CopyStreamContext,
    events: {} as CopyStreamEvent,
    emitted: {} as CopyStreamProgressEvent,
    output: {} as CopyStreamOutput,
  },
  actors: {
    saveJob: fromPromise<void, { id: string; job: CopyJob }>(missing('saveJob')),
    newTempChannel: fromPromise<TempChannel, void>(missing('newTempChannel')),
    buildBatch: fromPromise<BuildBatchOutput, BuildBatchInput>(missing('buildBatch')),
    encryptTempBox: fromPromise<PendingTempWrite, EncryptTempBoxInput>(missing('encryptTempBox')),
    sendTempBox: fromPromise<void, { tempWriteCap: Uint8Array; pending: PendingTempWrite }>(
      missing('sendTempBox'),
    ),
    saveCheckpoint: fromPromise<void, { id: string; progress: CopyProgress }>(missing('saveCheckpoint')),
    sendCopyCommand: fromPromise<CopyCommandOutput, { tempWriteCap: Uint8Array }>(missing('sendCopyCommand')),
    cancelOperations: fromPromise<void, CancelInput>(missing('cancelOperations')),
    discardCheckpoint: fromPromise<void, { id: string }>(missing('discardCheckpoint')),
  },
  guards: {
    isNew: ({ context }) => context.progress.tempWriteCap === null && context.progress.batchCursor === 0,
    needsTempChannel: ({ context }) => context.progress.tempWriteCap === null,
    isCopying: ({ context }) => context.progress.phase === 'copying',
    hasUnwrittenElement: ({ context }) => context.progress.envelopeCursor < context.progress.elements.length,
    hasUnbuiltBatch: ({ context }) => context.progress.batchCursor < context.plan.length,
    wasCancelled: ({ context }) => context.outcome === 'cancelled',
  },
  actions: {
    recordError: assign({ error: ({ event }) => ('error' in event ? event.error : undefined) }),
    emitProgress: emit(({ context }) => ({
      type: 'progress' as const,
      id: context.id,
      phase: context.progress.phase,
      batchesDone: context.progress.batchCursor,
      batchCount: context.plan.length,
      tempBoxesWritten: context.progress.tempBoxesWritten,
    })),
  },
}).createMachine({
  id: 'copyStream',
  context: ({ input }) => ({
    id: input.id,
    job: input.job,
    plan: planBatches(input.job),
    progress: input.progress ?? initialProgress(input.job),
    pending: null,
    failure: null,
    error: undefined,
    cancelReason: undefined,
    outcome: null,
  }),
  initial: 'active',
  states: {
    active: {
      on: {
        CANCEL: { target: 'cancelling', actions: assign({ cancelReason: ({ event }) => event.reason }) },
      },
      initial: 'starting',
      states: {
        starting: {
          // A resumed stream reports where it picks up before doing anything.
          always: [
            { guard: 'isNew', target: 'savingJob' },
            { target: 'route', actions: 'emitProgress' },
          ],
        },
        /** The job (destinations, payloads, caps) is written once, before anything goes out. */
        savingJob: {
          invoke: {
            id: 'saveJob',
            src: 'saveJob',
            input: ({ context }) => ({ id: context.id, job: context.job }),
            onDone: 'creatingTempChannel',
            onError: toErrored,
          },
        },
        /** NewKeypair from a fresh random seed: the temp channel this stream is written to. */
        creatingTempChannel: {
          invoke: {
            id: 'newTempChannel',
            src: 'newTempChannel',
            onDone: {
              target: 'persisting',
              actions: assign({
                progress: ({ context, event }) => ({
                  ...context.progress,
                  tempWriteCap: event.output.tempWriteCap,
                  tempIndex: event.output.tempIndex,
                }),
              }),
            },
            onError: toErrored,
          },
        },
        /** Where to go next, from the checkpointed progress alone (so resume and normal flow agree). */
        route: {
          always: [
            { guard: 'needsTempChannel', target: 'creatingTempChannel' },
            { guard: 'isCopying', target: 'copying' },
            { guard: 'hasUnwrittenElement', target: 'encryptingTempBox' },
            { guard: 'hasUnbuiltBatch', target: 'building' },
            {
              target: 'persisting',
              actions: assign({
                progress: ({ context }) => ({ ...context.progress, phase: 'copying' as const }),
              }),
            },
          ],
        },
        /** One create-courier-envelopes call: IsStart on the first, IsLast on the last, Buffer passed on. */
        building: {
          invoke: {
            id: 'buildBatch',
            src: 'buildBatch',
            input: ({ context }) => ({
              job: context.job,
              spec: context.plan[context.progress.batchCursor]!,
              isStart: context.progress.batchCursor === 0,
              isLast: context.progress.batchCursor === context.plan.length - 1,
              buffer: context.progress.buffer,
              nextDestIndices: context.progress.nextDestIndices,
            }),
            onDone: {
              target: 'persisting',
              actions: assign({
                progress: ({ context, event }) => ({
                  ...context.progress,
                  elements: event.output.elements,
                  buffer: event.output.buffer,
                  nextDestIndices: event.output.nextDestIndices,
                  batchCursor: context.progress.batchCursor + 1,
                  envelopeCursor: 0,
                }),
              }),
            },
            onError: toErrored,
          },
        },
        /** EncryptWrite of the next element at the next temp index (local, no network). */
        encryptingTempBox: {
          invoke: {
            id: 'encryptTempBox',
            src: 'encryptTempBox',
            input: ({ context }) => ({
              element: context.progress.elements[context.progress.envelopeCursor]!,
              tempWriteCap: context.progress.tempWriteCap!,
              tempIndex: context.progress.tempIndex!,
            }),
            onDone: { target: 'sendingTempBox', actions: assign({ pending: ({ event }) => event.output }) },
            onError: toErrored,
          },
        },
        /** StartResendingEncryptedMessage for that temp box; leaving this state stops (cancels) it. */
        sendingTempBox: {
          invoke: {
            id: 'sendTempBox',
            src: 'sendTempBox',
            input: ({ context }) => ({
              tempWriteCap: context.progress.tempWriteCap!,
              pending: context.pending!,
            }),
            onDone: {
              target: 'persisting',
              actions: assign({
                progress: ({ context }) => ({
                  ...context.progress,
                  tempIndex: context.pending!.nextMessageBoxIndex,
                  envelopeCursor: context.progress.envelopeCursor + 1,
                  tempBoxesWritten: context.progress.tempBoxesWritten + 1,
                }),
                pending: null,
              }),
            },
            onError: toErrored,
          },
        },
        /** The checkpoint after every step; progress is reported only once it is durable. */
        persisting: {
          invoke: {
            id: 'saveCheckpoint',
            src: 'saveCheckpoint',
            input: ({ context }) => ({ id: context.id, progress: context.progress }),
            onDone: { target: 'route', actions: 'emitProgress' },
            onError: toErrored,
          },
        },
        /** StartResendingCopyCommand(tempWriteCap): the courier executes the stream, all or nothing. */
        copying: {
          invoke: {
            id: 'sendCopyCommand',
            src: 'sendCopyCommand',
            input: ({ context }) => ({ tempWriteCap: context.progress.tempWriteCap! }),
            onDone: [
              {
                guard: ({ event }) => event.output.status === 'succeeded',
                target: '#copyStream.finishing',
                actions: assign({ outcome: 'done' as const }),
              },
              {
                target: '#copyStream.failed',
                actions: assign({
                  failure: ({ event }) =>
                    event.output.status === 'failed'
                      ? {
                          replicaErrorCode: event.output.replicaErrorCode,
                          failedEnvelopeIndex: event.output.failedEnvelopeIndex,
                        }
                      : null,
                }),
              },
            ],
            onError: toErrored,
          },
        },
      },
    },
    /** CancelResendingCopyCommand(BLAKE2b-256(tempWriteCap)) and the pending temp write's cancel. */
    cancelling: {
      invoke: {
        id: 'cancelOperations',
        src: 'cancelOperations',
        input: ({ context }) => ({
          tempWriteCap: context.progress.tempWriteCap,
          copying: context.progress.phase === 'copying',
          pendingEnvelopeHash: context.pending?.envelopeHash ?? null,
        }),
        // No onError: the body settles every cancel with Promise.allSettled, so it never rejects.
        onDone: { target: 'finishing', actions: assign({ outcome: 'cancelled' as const }) },
      },
    },
    /** A finished or cancelled stream leaves no secrets behind in the store. */
    finishing: {
      invoke: {
        id: 'discardCheckpoint',
        src: 'discardCheckpoint',
        input: ({ context }) => ({ id: context.id }),
        onDone: [{ guard: 'wasCancelled', target: 'cancelled' }, { target: 'done' }],
        onError: [{ guard: 'wasCancelled', target: 'cancelled' }, { target: 'done' }],
      },
    },
    done: {
      type: 'final',
      output: ({ context }) => ({
        status: 'done' as const,
        id: context.id,
        nextDestIndices: context.progress.nextDestIndices,
        tempBoxesWritten: context.progress.tempBoxesWritten,
      }),
    },
    /** The courier reported Failed: its replica code and the 1-based element. The checkpoint stays. */
    failed: {
      type: 'final',
      output: ({ context }) => ({
        status: 'failed' as const,
        id: context.id,
        replicaErrorCode: context.failure?.replicaErrorCode ?? 0,
        failedEnvelopeIndex: context.failure?.failedEnvelopeIndex ?? 0n,
      }),
    },
    cancelled: {
      type: 'final',
      output: ({ context }) => ({
        status: 'cancelled' as const,
        id: context.id,
        reason: context.cancelReason,
      }),
    },
    /** A daemon call or the store failed; the checkpoint is left for resumeCopy. */
    errored: {
      type: 'final',
      output: ({ context }) => ({ status: 'errored' as const, id: context.id, error: context.error }),
    },
  },
  output: ({ event }) => event.output as CopyStreamOutput,
});

/**
 * The windowed transfer machine behind writeStream / readStream (spec/daemon-semantics.md §7.4).
 *
 * It is an admission controller and nothing more. Each box k of the transfer is one independent
 * single-box operation (`boxOp`: one EncryptWrite/EncryptRead plus one StartResendingEncryptedMessage,
 * i.e. one ARQ operation at the client), spawned as a child. The machine keeps at most `window` of them
 * in flight, admits the next box when one finishes (after a randomised gap when pacing is on), requeues
 * only a box whose own operation failed with a retryable error, and stops every child when the transfer
 * is cancelled or fails. It never sees payload bytes: the bodies in actors/window.ts keep the data, so
 * the context stays O(window) however long the stream is.
 *
 *   running ── admitting ⇄ pacing ──(all boxes completed)──▶ done
 *      │  box failed for good                                 ▶ failed
 *      └─ CANCEL                                              ▶ cancelled
 *
 * Every final state is top-level, so reaching one stops the actor and with it every box child still
 * in flight; each child's AbortSignal then cancels its operation at the daemon.
 *
 * Children finish through the `xstate.done.actor.*` wildcard; their output says which box and whether
 * it succeeded, so expected outcomes are data, not thrown errors. A child that throws is a bug in its
 * body and fails the transfer.
 */
import { and, assign, emit, enqueueActions, fromPromise, setup, stopChild } from 'xstate';

export interface WindowInput {
  /** Boxes in the transfer, k = 0 … boxCount − 1. */
  boxCount: number;
  /** Operations in flight at most (≥ 1; `0 = automatic` is resolved by the caller). */
  window: number;
  /** Draw a gap (`admissionGap`) before admitting each further box. */
  pacing: boolean;
  /** Mean admission gap in ms when pacing (1 / LambdaP). The default delay uses it as is. */
  meanGapMs: number;
  /** Attempts per box, counting the first (≥ 1). */
  maxAttempts: number;
}

/** What a box child is started with. */
export interface BoxOpInput {
  k: number;
  /** 1 for the first attempt. */
  attempt: number;
}

/** What a box child resolves with. Failures are data; `retryable` is the body's judgement of the error. */
export type BoxOpOutput =
  | { k: number; ok: true }
  | { k: number; ok: false; retryable: boolean; error: unknown };

export interface WindowContext {
  boxCount: number;
  window: number;
  pacing: boolean;
  meanGapMs: number;
  maxAttempts: number;
  /** The lowest box never admitted yet. */
  nextFresh: number;
  /** Boxes whose operation failed and waits for another attempt, oldest first. */
  retryQueue: number[];
  /** Failed attempts so far, only for boxes that failed at least once. */
  failures: Record<number, number>;
  inFlight: number;
  completed: number;
  error: unknown;
  /** The box whose failure ended the transfer, if any. */
  failedBox: number | undefined;
  cancelReason: unknown;
}

export type WindowEvent =
  | { type: 'CANCEL'; reason?: unknown }
  | { type: `xstate.done.actor.${string}`; output: BoxOpOutput; actorId: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };

export type WindowEmitted =
  | { type: 'admitted'; k: number; attempt: number; inFlight: number }
  | { type: 'progress'; completed: number; total: number; inFlight: number }
  | { type: 'retrying'; k: number; attempt: number; error: unknown };

export type WindowOutput =
  | { status: 'done'; completed: number }
  | { status: 'failed'; completed: number; failedBox: number | undefined; error: unknown }
  | { status: 'cancelled'; completed: number; reason: unknown };

/** Id of the child running attempt `attempt` of box `k`. */
export const boxActorId = (k: number, attempt: number): string => `box-${k}.${attempt}`;

const outputOf = (event: WindowEvent): BoxOpOutput | undefined =>
  'output' in event ? (event.output as BoxOpOutput) : undefined;

export const windowMachine = setup({
  types: {
    input: {} as WindowInput,
    context: {} as WindowContext,
    events: {} as WindowEvent,
    emitted: {} as WindowEmitted,
    output: {} as WindowOutput,
  },
  actors: {
    /** One single-box operation; the body lives in actors/window.ts. */
    boxOp: fromPromise<BoxOpOutput, BoxOpInput>(async () => {
      throw new Error('windowMachine: provide a boxOp actor');
    }),
  },
  delays: {
    /** Replaced by an exponential draw in actors/window.ts; the mean keeps the bare machine deterministic. */
    admissionGap: ({ context }) => context.meanGapMs,
  },
  guards: {
    canAdmit: ({ context }) =>
      context.inFlight < context.window &&
      (context.retryQueue.length > 0 || context.nextFresh < context.boxCount),
    pacingOff: ({ context }) => !context.pacing,
    allCompleted: ({ context }) => context.completed === context.boxCount,
    boxSucceeded: ({ event }) => outputOf(event)?.ok === true,
    boxRetryable: ({ context, event }) => {
      const out = outputOf(event);
      if (out === undefined || out.ok) return false;
      return out.retryable && (context.failures[out.k] ?? 0) + 1 < context.maxAttempts;
    },
  },
  actions: {
    admitNext: enqueueActions(({ context, enqueue }) => {
      const fromRetry = context.retryQueue.length > 0;
      const k = fromRetry ? context.retryQueue[0]! : context.nextFresh;
      const attempt = (context.failures[k] ?? 0) + 1;
      enqueue.assign({
        retryQueue: fromRetry ? context.retryQueue.slice(1) : context.retryQueue,
        nextFresh: fromRetry ? context.nextFresh : context.nextFresh + 1,
        inFlight: context.inFlight + 1,
      });
      enqueue.spawnChild('boxOp', { id: boxActorId(k, attempt), input: { k, attempt } });
      enqueue.emit({ type: 'admitted', k, attempt, inFlight: context.inFlight + 1 });
    }),
    /** A finished child is stopped at once, so a long transfer does not accumulate dead actors. */
    releaseBox: enqueueActions(({ context, event, enqueue }) => {
      if ('actorId' in event) enqueue(stopChild(event.actorId));
      enqueue.assign({ inFlight: context.inFlight - 1 });
    }),
    countCompleted: assign({ completed: ({ context }) => context.completed + 1 }),
    queueRetry: enqueueActions(({ context, event, enqueue }) => {
      const out = outputOf(event);
      if (out === undefined || out.ok) return;
      const failures = (context.failures[out.k] ?? 0) + 1;
      enqueue.assign({
        retryQueue: [...context.retryQueue, out.k],
        failures: { ...context.failures, [out.k]: failures },
      });
      enqueue.emit({ type: 'retrying', k: out.k, attempt: failures + 1, error: out.error });
    }),
    recordFailure: assign(({ event }) => {
      const out = outputOf(event);
      if (out !== undefined && !out.ok) return { error: out.error, failedBox: out.k };
      return { error: 'error' in event ? event.error : undefined, failedBox: undefined };
    }),
    recordCancel: assign({
      cancelReason: ({ event }) => (event.type === 'CANCEL' ? event.reason : undefined),
    }),
    emitProgress: emit(({ context }) => ({
      type: 'progress' as const,
      completed: context.completed,
      total: context.boxCount,
      inFlight: context.inFlight,
    })),
  },
}).createMachine({
  id: 'window',
  context: ({ input }) => ({
    boxCount: input.boxCount,
    window: Math.max(1, input.window),
    pacing: input.pacing,
    meanGapMs: input.meanGapMs,
    maxAttempts: Math.max(1, input.maxAttempts),
    nextFresh: 0,
    retryQueue: [],
    failures: {},
    inFlight: 0,
    completed: 0,
    error: undefined,
    failedBox: undefined,
    cancelReason: undefined,
  }),
  initial: 'running',
  states: {
    running: {
      always: { guard: 'allCompleted', target: 'done' },
      on: {
        'xstate.done.actor.*': [
          { guard: 'boxSucceeded', actions: ['releaseBox', 'countCompleted', 'emitProgress'] },
          { guard: 'boxRetryable', actions: ['releaseBox', 'queueRetry'] },
          { target: 'failed', actions: ['releaseBox', 'recordFailure'] },
        ],
        'xstate.error.actor.*': { target: 'failed', actions: ['releaseBox', 'recordFailure'] },
        CANCEL: { target: 'cancelled', actions: 'recordCancel' },
      },
      initial: 'admitting',
      states: {
        /** Admit while a slot is free: back to back without pacing, one at a time with it. */
        admitting: {
          always: [
            { guard: and(['canAdmit', 'pacingOff']), actions: 'admitNext' },
            { guard: 'canAdmit', target: 'pacing', actions: 'admitNext' },
          ],
        },
        /** The gap after an admission; a box that finishes meanwhile waits for it to pass. */
        pacing: {
          after: { admissionGap: 'admitting' },
        },
      },
    },
    done: {
      type: 'final',
      output: ({ context }) => ({ status: 'done' as const, completed: context.completed }),
    },
    failed: {
      type: 'final',
      output: ({ context }) => ({
        status: 'failed' as const,
        completed: context.completed,
        failedBox: context.failedBox,
        error: context.error,
      }),
    },
    cancelled: {
      type: 'final',
      output: ({ context }) => ({
        status: 'cancelled' as const,
        completed: context.completed,
        reason: context.cancelReason,
      }),
    },
  },
  output: ({ event }) => (event as unknown as { output: WindowOutput }).output,
});

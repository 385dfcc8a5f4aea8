/**
 * The windowed transfer machine behind writeStream / readStream.
 *
 * It is an admission controller and nothing more. Each box k of the transfer is one independent
 * single-box operation (one EncryptWrite/EncryptRead plus one StartResendingEncryptedMessage, i.e. one
 * ARQ operation actor under the client's supervisor). The machine keeps at most `window` of them in
 * flight, admits the next box when one finishes (after a randomised gap when pacing is on), requeues
 * only a box whose own operation failed with a retryable error, and stops every operation when the
 * transfer is cancelled or fails.
 *
 *   running ── admitting ⇄ pacing ──(all boxes completed)──▶ done
 *      │  a box failed for good                                ▶ failed
 *      └─ CANCEL                                               ▶ cancelled
 *
 * The operations run in one invoked child, `boxes` (bodies in actors/window.ts): the machine sends it
 * START_BOXES, it answers BOX_DONE or BOX_FAILED per box. One child rather than an actor per box, and
 * admissions batched into one message, because a window may be large (the benchmark keeps 10,000
 * operations in flight): an XState child costs a few KiB, every spawn or stop copies the parent's map of
 * children, and thousands of actions in one macrostep made admission quadratic.
 * Every final state is outside `running`, so reaching one stops `boxes`, which aborts the signal of
 * every operation still in flight; each one's cancel then goes to the daemon.
 *
 * The machine never sees payload bytes: the bodies keep the data, so the context is O(window).
 */
import { type AnyActorRef, and, assign, emit, enqueueActions, fromCallback, setup } from 'xstate';

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

/** To the `boxes` child: start these boxes, each at its attempt number (1 = first). */
export type StartBoxes = { type: 'START_BOXES'; boxes: { k: number; attempt: number }[] };

export interface WindowContext {
  boxCount: number;
  window: number;
  pacing: boolean;
  meanGapMs: number;
  maxAttempts: number;
  /** The lowest box never admitted yet. */
  nextFresh: number;
  /** Boxes in flight, in admission order. */
  inFlight: number[];
  /** Boxes whose operation failed and waits for another attempt, oldest first. */
  retryQueue: number[];
  /** Failed attempts so far, only for boxes that failed at least once. */
  failures: Record<number, number>;
  completed: number;
  error: unknown;
  /** The box whose failure ended the transfer, if any. */
  failedBox: number | undefined;
  cancelReason: unknown;
}

/** From the `boxes` child; `retryable` is its judgement of the error. And CANCEL from the caller. */
export type WindowEvent =
  | { type: 'BOX_DONE'; k: number }
  | { type: 'BOX_FAILED'; k: number; retryable: boolean; error: unknown }
  | { type: 'CANCEL'; reason?: unknown };

export type WindowEmitted =
  | { type: 'admitted'; boxes: { k: number; attempt: number }[]; inFlight: number }
  | { type: 'progress'; completed: number; total: number; inFlight: number }
  | { type: 'retrying'; k: number; attempt: number; error: unknown };

export type WindowOutput =
  | { status: 'done'; completed: number }
  | { status: 'failed'; completed: number; failedBox: number | undefined; error: unknown }
  | { status: 'cancelled'; completed: number; reason: unknown };

const without = (list: number[], k: number): number[] => {
  const i = list.indexOf(k);
  return i < 0 ? list : list.slice(0, i).concat(list.slice(i + 1));
};

export const windowMachine = setup({
  types: {
    input: {} as WindowInput,
    context: {} as WindowContext,
    events: {} as WindowEvent,
    emitted: {} as WindowEmitted,
    output: {} as WindowOutput,
  },
  actors: {
    /** Runs the box operations; the body lives in actors/window.ts. */
    boxes: fromCallback<StartBoxes, { window: AnyActorRef }>(() => {
      throw new Error('windowMachine: provide a boxes actor');
    }),
  },
  delays: {
    /** Replaced by an exponential draw in actors/window.ts; the mean keeps the bare machine deterministic. */
    admissionGap: ({ context }) => context.meanGapMs,
  },
  guards: {
    canAdmit: ({ context }) =>
      context.inFlight.length < context.window &&
      (context.retryQueue.length > 0 || context.nextFresh < context.boxCount),
    pacingOff: ({ context }) => !context.pacing,
    allCompleted: ({ context }) => context.completed === context.boxCount,
    /** Only a box that is in flight can finish (a stale report is ignored). */
    inFlight: ({ context, event }) => 'k' in event && context.inFlight.includes(event.k),
    retryable: ({ context, event }) =>
      event.type === 'BOX_FAILED' &&
      event.retryable &&
      (context.failures[event.k] ?? 0) + 1 < context.maxAttempts,
  },
  actions: {
    /** Admits one box when pacing, else as many as the window has room for, in one message. */
    admit: enqueueActions(({ context, enqueue }) => {
      const room = context.pacing ? 1 : context.window - context.inFlight.length;
      const retryQueue = context.retryQueue.slice();
      let nextFresh = context.nextFresh;
      const boxes: { k: number; attempt: number }[] = [];
      while (boxes.length < room && (retryQueue.length > 0 || nextFresh < context.boxCount)) {
        const k = retryQueue.length > 0 ? retryQueue.shift()! : nextFresh++;
        boxes.push({ k, attempt: (context.failures[k] ?? 0) + 1 });
      }
      const inFlight = context.inFlight.concat(boxes.map((b) => b.k));
      enqueue.assign({ retryQueue, nextFresh, inFlight });
      enqueue.sendTo('boxes', { type: 'START_BOXES', boxes } satisfies StartBoxes);
      enqueue.emit({ type: 'admitted', boxes, inFlight: inFlight.length });
    }),
    completeBox: assign(({ context, event }) => ({
      inFlight: without(context.inFlight, (event as { k: number }).k),
      completed: context.completed + 1,
    })),
    queueRetry: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'BOX_FAILED') return;
      const failures = (context.failures[event.k] ?? 0) + 1;
      enqueue.assign({
        inFlight: without(context.inFlight, event.k),
        retryQueue: [...context.retryQueue, event.k],
        failures: { ...context.failures, [event.k]: failures },
      });
      enqueue.emit({ type: 'retrying', k: event.k, attempt: failures + 1, error: event.error });
    }),
    recordFailure: assign(({ context, event }) =>
      event.type === 'BOX_FAILED'
        ? { inFlight: without(context.inFlight, event.k), error: event.error, failedBox: event.k }
        : {},
    ),
    recordCancel: assign({
      cancelReason: ({ event }) => (event.type === 'CANCEL' ? event.reason : undefined),
    }),
    emitProgress: emit(({ context }) => ({
      type: 'progress' as const,
      completed: context.completed,
      total: context.boxCount,
      inFlight: context.inFlight.length,
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
    inFlight: [],
    retryQueue: [],
    failures: {},
    completed: 0,
    error: undefined,
    failedBox: undefined,
    cancelReason: undefined,
  }),
  initial: 'running',
  states: {
    running: {
      // The window is the parent of every box operation (actors/registry.ts creates them under it).
      invoke: { id: 'boxes', src: 'boxes', input: ({ self }) => ({ window: self }) },
      always: { guard: 'allCompleted', target: 'done' },
      on: {
        BOX_DONE: { guard: 'inFlight', actions: ['completeBox', 'emitProgress'] },
        BOX_FAILED: [
          { guard: and(['inFlight', 'retryable']), actions: 'queueRetry' },
          { guard: 'inFlight', target: 'failed', actions: 'recordFailure' },
        ],
        CANCEL: { target: 'cancelled', actions: 'recordCancel' },
      },
      initial: 'admitting',
      states: {
        /** Admit while a slot is free: filling the window at once without pacing, one box with it. */
        admitting: {
          always: [
            { guard: and(['canAdmit', 'pacingOff']), actions: 'admit' },
            { guard: 'canAdmit', target: 'pacing', actions: 'admit' },
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
  output: ({ event }) => event.output as WindowOutput,
});

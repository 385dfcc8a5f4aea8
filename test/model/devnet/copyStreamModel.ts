/**
 * Paths through machines/copyStream.ts that a copy over the devnet can follow, generated with
 * xstate/graph. The model copies one destination box in one create-courier-envelopes call, which on
 * the devnet emits two copy-stream elements (so two temp writes); a second input resumes from a
 * checkpoint that has the call's elements but no temp channel yet. This machine never writes such a
 * checkpoint (it creates the temp channel first), but the store is outside it and the checkpoint
 * decoder accepts the record, so resumeCopy can meet one; it is the only way into route's first
 * branch (route → creatingTempChannel). In each state the model
 * offers what the devnet run can make happen there: the step's I/O succeeds, fails (the store
 * refuses, the client is disconnected from the daemon, the daemon's mixnet is down), the courier
 * reports Failed, or the copy is cancelled.
 */
import type { createActor } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import {
  type CopyJob,
  type CopyProgress,
  type CopyStreamInput,
  copyStreamMachine,
  initialProgress,
} from '../../../machines/copyStream.js';
import { encodeCopyCheckpoint } from '../../../src/pigeonhole/checkpoint.js';

export type CopySnap = ReturnType<ReturnType<typeof createActor<typeof copyStreamMachine>>['getSnapshot']>;
export type CopyModelEvent = { type: string; output?: unknown; error?: unknown; reason?: unknown };

/** Elements one create-courier-envelopes call emits for one destination box on the devnet. */
export const ELEMENTS = 2;

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const JOB: CopyJob = {
  kind: 'payload',
  destinations: [{ payload: bytes(4, 9), writeCap: bytes(168, 1), startIndex: bytes(104, 0) }],
  chunkLength: 4,
  batchBoxes: 1,
};
const BUILT = Array.from({ length: ELEMENTS }, (_, j) => bytes(8, j));

/** The resumed input: the call's elements are checkpointed, the temp channel is not. */
export function builtWithoutTempChannel(job: CopyJob, elements: Uint8Array[]): CopyProgress {
  return { ...initialProgress(job), batchCursor: 1, elements };
}

export const stateName = (s: { value: unknown }): string =>
  typeof s.value === 'string' ? s.value : Object.values(s.value as object)[0]!;

function devnetEvents(s: CopySnap): CopyModelEvent[] {
  if (s.status !== 'active') return [];
  const p = s.context.progress;
  const done = (id: string, output?: unknown): CopyModelEvent => ({
    type: `xstate.done.actor.${id}`,
    output,
  });
  const error = (id: string): CopyModelEvent => ({ type: `xstate.error.actor.${id}`, error: id });
  const cancel: CopyModelEvent = { type: 'CANCEL', reason: 'stop' };
  const n = p.tempBoxesWritten;
  switch (stateName(s)) {
    case 'savingJob':
      return [done('saveJob'), error('saveJob'), cancel];
    case 'creatingTempChannel':
      return [
        done('newTempChannel', { tempWriteCap: bytes(168, 2), tempIndex: bytes(104, 0) }),
        error('newTempChannel'),
        cancel,
      ];
    case 'building':
      return [
        done('buildBatch', { elements: BUILT, buffer: new Uint8Array(0), nextDestIndices: [bytes(104, 1)] }),
        error('buildBatch'),
        cancel,
      ];
    case 'encryptingTempBox':
      return [
        done('encryptTempBox', {
          messageCiphertext: bytes(8, n),
          envelopeDescriptor: bytes(8, n),
          envelopeHash: bytes(32, n),
          nextMessageBoxIndex: bytes(104, n + 1),
        }),
        error('encryptTempBox'),
        cancel,
      ];
    case 'sendingTempBox':
      return [done('sendTempBox'), error('sendTempBox'), cancel];
    case 'persisting':
      return [done('saveCheckpoint'), error('saveCheckpoint'), cancel];
    case 'copying':
      return [
        done('sendCopyCommand', { status: 'succeeded' }),
        done('sendCopyCommand', { status: 'failed', replicaErrorCode: 1, failedEnvelopeIndex: 1n }),
        error('sendCopyCommand'),
        cancel,
      ];
    case 'cancelling':
      return [done('cancelOperations')];
    case 'finishing':
      return [done('discardCheckpoint'), error('discardCheckpoint')];
    default:
      return [];
  }
}

/** What a run compares with the model after each step. */
export function comparable(s: { value: unknown; status: string; context: CopySnap['context'] }) {
  const { phase, batchCursor, envelopeCursor, tempBoxesWritten, elements } = s.context.progress;
  return {
    value: s.value,
    status: s.status,
    phase,
    batchCursor,
    envelopeCursor,
    tempBoxesWritten,
    elements: elements.length,
    hasTempChannel: s.context.progress.tempWriteCap !== null,
    outcome: s.context.outcome,
  };
}

/** A name for what an event is, whatever it carries: `done`, `error`, `failed` (the courier's), `cancel`. */
export function eventKind(e: CopyModelEvent): string {
  if (e.type === 'CANCEL') return 'cancel';
  if (e.type.startsWith('xstate.error.')) return 'error';
  return (e.output as { status?: string } | undefined)?.status === 'failed' ? 'failed' : 'done';
}

const traversal = (input: CopyStreamInput) =>
  ({
    input,
    events: devnetEvents,
    serializeEvent: (e: CopyModelEvent) => JSON.stringify([e.type, eventKind(e)]),
    serializeState: (s: CopySnap) =>
      JSON.stringify([
        comparable(s),
        String(s.context.error),
        encodeCopyCheckpoint(s.context.progress).join(),
      ]),
  }) as unknown as Parameters<typeof getShortestPaths<typeof copyStreamMachine>>[1];

export interface CopyPath {
  resumed: boolean;
  steps: { event: CopyModelEvent; state: CopySnap }[];
}

const stepsOf = (p: { steps: unknown[] }) =>
  (p.steps as CopyPath['steps']).filter((s) => s.event.type !== 'xstate.init');

/**
 * The fewest paths, shortest first, that between them take every event the model offers in every
 * state (by state name): all the shortest paths and the simple paths to an end are candidates. From
 * the resumed input, the shortest path to done.
 */
export function copyStreamPaths(): CopyPath[] {
  const fresh = traversal({ id: 'model', job: JOB });
  const candidates = [
    ...getShortestPaths(copyStreamMachine, fresh),
    ...getSimplePaths(copyStreamMachine, {
      ...fresh,
      toState: (s: CopySnap) => s.status === 'done',
    } as never),
  ]
    .map((p) => ({ resumed: false, steps: stepsOf(p) }))
    .sort((a, b) => a.steps.length - b.steps.length);
  const pairs = (p: CopyPath) => {
    const out: string[] = [];
    let before = 'savingJob';
    for (const s of p.steps) {
      out.push(`${before} ${eventKind(s.event)}`);
      // Finishing after a copy and after a cancel are different transitions.
      before = `${stateName(s.state)}${s.state.value === 'finishing' ? ` ${s.state.context.outcome}` : ''}`;
    }
    return out;
  };
  const taken = new Set<string>();
  const chosen: CopyPath[] = [];
  // Greedy: the path that adds the most, the shortest of those.
  while (true) {
    let best: CopyPath | undefined;
    let gain = 0;
    for (const p of candidates) {
      const g = new Set(pairs(p).filter((x) => !taken.has(x))).size;
      if (g > gain) [best, gain] = [p, g];
    }
    if (!best) break;
    for (const x of pairs(best)) taken.add(x);
    chosen.push(best);
  }
  const resumed = getShortestPaths(
    copyStreamMachine,
    traversal({ id: 'model', job: JOB, progress: builtWithoutTempChannel(JOB, BUILT) }),
  ).find((p) => p.state.value === 'done')!;
  return [...chosen, { resumed: true, steps: stepsOf(resumed) }];
}

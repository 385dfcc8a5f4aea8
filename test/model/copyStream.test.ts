/**
 * Model-based tests of machines/copyStream.ts: xstate/graph walks every outcome of every I/O step
 * (done, error, the courier's Failed, a cancel at any point) for a two-call stream, and each path is
 * replayed on a real actor whose I/O actors are controllable stubs. Besides agreeing with the model,
 * the actor must keep the checkpoint discipline that makes a crash at any instant recoverable: it only
 * builds from, writes from and copies from state that is already durable, and what is durable never
 * claims more than has happened.
 */

import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import {
  type CopyJob,
  type CopyProgress,
  type CopyStreamInput,
  copyStreamMachine,
  initialProgress,
  planBatches,
} from '../../machines/copyStream.js';
import { decodeCopyCheckpoint, encodeCopyCheckpoint } from '../../src/pigeonhole/checkpoint.js';

type Snap = ReturnType<ReturnType<typeof createActor<typeof copyStreamMachine>>['getSnapshot']>;
type Ev = { type: string; output?: unknown; error?: unknown; reason?: unknown };

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const indexAt = (counter: number) => {
  const b = bytes(104, 0);
  b[0] = counter;
  return b;
};
const label = (s: string) => new TextEncoder().encode(s);

const DEST_CAP = bytes(168, 1);
const TEMP_CAP = bytes(168, 2);
const JOB: CopyJob = {
  kind: 'payload',
  destinations: [{ payload: bytes(12, 9), writeCap: DEST_CAP, startIndex: indexAt(100) }],
  chunkLength: 4,
  batchBoxes: 2,
};
const PLAN = planBatches(JOB);

const stateName = (s: Snap) => (typeof s.value === 'string' ? s.value : Object.values(s.value)[0]!);

/** Everything that can come back in a state; the outputs are what the daemon could plausibly say. */
function eventsOf(s: Snap): Ev[] {
  if (s.status !== 'active') return [];
  const p = s.context.progress;
  const done = (id: string, output?: unknown): Ev => ({ type: `xstate.done.actor.${id}`, output });
  const error = (id: string): Ev => ({ type: `xstate.error.actor.${id}`, error: `${id} failed` });
  const cancel: Ev = { type: 'CANCEL', reason: 'user' };
  switch (stateName(s)) {
    case 'savingJob':
      return [done('saveJob'), error('saveJob'), cancel];
    case 'creatingTempChannel':
      return [
        done('newTempChannel', { tempWriteCap: TEMP_CAP, tempIndex: indexAt(0) }),
        error('newTempChannel'),
        cancel,
      ];
    case 'building': {
      const b = p.batchCursor;
      const last = b === PLAN.length - 1;
      const out = (n: number) =>
        done('buildBatch', {
          elements: Array.from({ length: n }, (_, j) => label(`b${b}e${j}`)),
          buffer: last ? new Uint8Array(0) : label(`buf${b}`),
          nextDestIndices: [indexAt(101 + b * 2)],
        });
      // A call may emit nothing yet (all of it stays in the Buffer), except the last, which flushes.
      return [...(last ? [out(1)] : [out(0), out(2)]), error('buildBatch'), cancel];
    }
    case 'encryptingTempBox':
      return [
        done('encryptTempBox', {
          messageCiphertext: label(`ct${p.tempBoxesWritten}`),
          envelopeDescriptor: label('desc'),
          envelopeHash: bytes(32, 50 + p.tempBoxesWritten),
          nextMessageBoxIndex: indexAt(p.tempBoxesWritten + 1),
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
        done('sendCopyCommand', { status: 'failed', replicaErrorCode: 10, failedEnvelopeIndex: 2n }),
        error('sendCopyCommand'),
        cancel,
      ];
    case 'cancelling':
      // cancelOperations settles every cancel (Promise.allSettled), so it never fails.
      return [done('cancelOperations')];
    case 'finishing':
      return [done('discardCheckpoint'), error('discardCheckpoint')];
    default:
      return [];
  }
}

const serializeEvent = (e: Ev) =>
  JSON.stringify([
    e.type,
    (e.output as { status?: string })?.status,
    (e.output as { elements?: unknown[] })?.elements?.length,
  ]);
const serializeState = (s: Snap) => {
  const c = s.context;
  return JSON.stringify([
    s.value,
    s.status,
    c.outcome,
    c.failure !== null,
    String(c.error),
    c.pending !== null,
    encodeCopyCheckpoint(c.progress).join(),
  ]);
};
const traversal = (input: CopyStreamInput) =>
  ({ input, events: eventsOf, serializeEvent, serializeState }) as unknown as Parameters<
    typeof getShortestPaths<typeof copyStreamMachine>
  >[1];

interface Call {
  src: string;
  input: unknown;
  signal: AbortSignal;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A real actor with stub I/O, plus a record of what became durable and what really happened. */
function harness(input: CopyStreamInput) {
  const pending = new Map<string, Call>();
  const calls: Call[] = [];
  const world = {
    durable: input.progress as CopyProgress | undefined,
    builds: 0,
    writes: 0,
    violations: [] as string[],
  };
  const stub = (src: string) =>
    fromPromise<unknown, unknown>(
      ({ input: i, signal }) =>
        new Promise((resolve, reject) => {
          const call = { src, input: i, signal, resolve, reject };
          calls.push(call);
          pending.set(src, call);
          check(src, i);
        }),
    );
  /** The checkpoint discipline, checked at the moment each I/O step starts. */
  const check = (src: string, i: unknown) => {
    const d = world.durable;
    const fail = (why: string) => world.violations.push(`${src}: ${why}`);
    if (src === 'buildBatch') {
      const b = i as { buffer: Uint8Array; nextDestIndices: Uint8Array[]; isStart: boolean; isLast: boolean };
      if (!d) return fail('built before any checkpoint');
      if (d.envelopeCursor !== d.elements.length) fail('built while checkpointed elements were unwritten');
      if (b.buffer.join() !== d.buffer.join()) fail('buffer is not the checkpointed one');
      if (b.nextDestIndices.map((x) => x.join()).join() !== d.nextDestIndices.map((x) => x.join()).join()) {
        fail('destination indices are not the checkpointed ones');
      }
      if (b.isStart !== (d.batchCursor === 0) || b.isLast !== (d.batchCursor === PLAN.length - 1))
        fail('flags');
    }
    if (src === 'encryptTempBox') {
      const e = i as { element: Uint8Array; tempIndex: Uint8Array; tempWriteCap: Uint8Array };
      if (!d || d.tempWriteCap === null) return fail('wrote before the temp channel was checkpointed');
      if (e.element.join() !== d.elements[d.envelopeCursor]?.join())
        fail('element is not the next checkpointed one');
      if (e.tempIndex.join() !== d.tempIndex?.join()) fail('temp index is not the checkpointed one');
    }
    if (src === 'sendCopyCommand' && d?.phase !== 'copying')
      fail('copy command before the copying phase was durable');
  };
  const machine = copyStreamMachine.provide({
    actors: {
      saveJob: stub('saveJob') as never,
      newTempChannel: stub('newTempChannel') as never,
      buildBatch: stub('buildBatch') as never,
      encryptTempBox: stub('encryptTempBox') as never,
      sendTempBox: stub('sendTempBox') as never,
      saveCheckpoint: stub('saveCheckpoint') as never,
      sendCopyCommand: stub('sendCopyCommand') as never,
      cancelOperations: stub('cancelOperations') as never,
      discardCheckpoint: stub('discardCheckpoint') as never,
    },
  });
  const actor = createActor(machine, { input });
  actor.start();
  return {
    actor,
    calls,
    world,
    async step(event: Ev) {
      if (event.type === 'CANCEL') {
        actor.send({ type: 'CANCEL', reason: event.reason });
      } else {
        const ok = event.type.startsWith('xstate.done.actor.');
        const src = event.type.slice(ok ? 'xstate.done.actor.'.length : 'xstate.error.actor.'.length);
        const call = pending.get(src);
        if (!call) throw new Error(`no ${src} call is pending`);
        pending.delete(src);
        if (ok) {
          if (src === 'saveCheckpoint') {
            // What a store would hold: the CBOR record, decoded the way a resuming process reads it.
            world.durable = decodeCopyCheckpoint(
              encodeCopyCheckpoint((call.input as { progress: CopyProgress }).progress),
            );
          }
          if (src === 'buildBatch') world.builds += 1;
          if (src === 'sendTempBox') world.writes += 1;
          call.resolve(event.output);
        } else {
          call.reject(event.error);
        }
      }
      await new Promise((r) => setImmediate(r));
      const d = world.durable;
      if (d && (d.tempBoxesWritten > world.writes || d.batchCursor > world.builds)) {
        world.violations.push('the checkpoint claims more than happened');
      }
    },
  };
}

function comparable(s: Snap) {
  const c = s.context;
  return {
    value: s.value,
    status: s.status,
    progress: encodeCopyCheckpoint(c.progress).join(),
    pending: c.pending?.envelopeHash.join() ?? null,
    failure: c.failure,
    outcome: c.outcome,
    output: s.output,
  };
}

const NEW: CopyStreamInput = { id: 'model', job: JOB };
const paths = getShortestPaths(copyStreamMachine, traversal(NEW));

async function replay(path: (typeof paths)[number], input = NEW) {
  const h = harness(input);
  for (const step of path.steps.slice(1)) {
    await h.step(step.event as Ev);
    expect(comparable(h.actor.getSnapshot())).toEqual(comparable(step.state as Snap));
  }
  expect(h.world.violations).toEqual([]);
  return h;
}

describe('copy-stream machine (model-based)', () => {
  it('follows the model through every reachable state of a two-call stream', async () => {
    expect(PLAN.length).toBe(2);
    expect(paths.length).toBeGreaterThan(50);
    const finals = new Set<string>();
    for (const path of paths) {
      await replay(path);
      if (path.state.status === 'done') finals.add(String(path.state.value));
    }
    expect([...finals].sort()).toEqual(['cancelled', 'done', 'errored', 'failed']);
  });

  it('builds, writes and copies only from checkpointed state along every simple path to success', async () => {
    const simple = getSimplePaths(copyStreamMachine, {
      ...traversal(NEW),
      toState: (s: Snap) => s.value === 'done',
    } as never);
    expect(simple.length).toBeGreaterThan(0);
    for (const path of simple) {
      const h = await replay(path);
      const writes = h.calls
        .filter((c) => c.src === 'encryptTempBox')
        .map((c) => (c.input as { element: Uint8Array }).element);
      const built = h.calls
        .filter((c) => c.src === 'buildBatch')
        .flatMap((_, b) => {
          const step = path.steps.filter((s) => (s.event as Ev).type === 'xstate.done.actor.buildBatch')[b]!;
          return (step.event as Ev & { output: { elements: Uint8Array[] } }).output.elements;
        });
      // Every emitted element goes to the temp channel once, in order: no gap, no repeat.
      expect(writes.map((w) => new TextDecoder().decode(w))).toEqual(
        built.map((e) => new TextDecoder().decode(e)),
      );
      expect(h.actor.getSnapshot().output).toMatchObject({ status: 'done', tempBoxesWritten: writes.length });
    }
  });

  it('cancels the copy command by its write-cap hash only in the copying phase, and the pending temp write always', async () => {
    let checked = 0;
    for (const path of paths.filter((p) => p.state.value === 'cancelled')) {
      const h = await replay(path);
      const before = path.steps.at(-4)!.state as Snap; // the state the CANCEL arrived in
      const cancel = h.calls.find((c) => c.src === 'cancelOperations')!.input as {
        copying: boolean;
        pendingEnvelopeHash: Uint8Array | null;
        tempWriteCap: Uint8Array | null;
      };
      expect(cancel.copying).toBe(before.context.progress.phase === 'copying');
      expect(cancel.pendingEnvelopeHash?.join() ?? null).toBe(
        before.context.pending?.envelopeHash.join() ?? null,
      );
      expect(cancel.tempWriteCap?.join() ?? null).toBe(before.context.progress.tempWriteCap?.join() ?? null);
      // Whatever was in flight when the cancel came has had its signal aborted.
      const inflight = h.calls
        .filter((c) => !['cancelOperations', 'discardCheckpoint'].includes(c.src))
        .at(-1)!;
      expect(inflight.signal.aborted).toBe(true);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("reports the courier's replica error code and failed envelope index, and keeps the checkpoint", async () => {
    for (const path of paths.filter((p) => p.state.value === 'failed')) {
      const h = await replay(path);
      expect(h.actor.getSnapshot().output).toEqual({
        status: 'failed',
        id: 'model',
        replicaErrorCode: 10,
        failedEnvelopeIndex: 2n,
      });
      expect(h.calls.some((c) => c.src === 'discardCheckpoint')).toBe(false);
    }
  });

  it('resumes from a checkpoint without saving the job again or creating another temp channel', async () => {
    const progress: CopyProgress = {
      ...initialProgress(JOB),
      tempWriteCap: TEMP_CAP,
      tempIndex: indexAt(1),
      buffer: label('buf0'),
      batchCursor: 1,
      elements: [label('b0e0'), label('b0e1')],
      envelopeCursor: 1,
      tempBoxesWritten: 1,
    };
    const h = harness({ id: 'model', job: JOB, progress });
    expect(h.actor.getSnapshot().value).toEqual({ active: 'encryptingTempBox' });
    expect(h.calls.map((c) => c.src)).toEqual(['encryptTempBox']);
    expect((h.calls[0]!.input as { element: Uint8Array }).element).toEqual(label('b0e1'));
    expect(h.world.violations).toEqual([]);
  });

  it('ends cancelled, or done, even when the store refuses the discard', async () => {
    const cancelled = harness(NEW);
    await cancelled.step({ type: 'CANCEL', reason: 'user' });
    await cancelled.step({ type: 'xstate.done.actor.cancelOperations' });
    await cancelled.step({ type: 'xstate.error.actor.discardCheckpoint', error: 'disk full' });
    expect(cancelled.actor.getSnapshot().output).toEqual({
      status: 'cancelled',
      id: 'model',
      reason: 'user',
    });

    const done = paths.find((p) => p.state.value === 'done')!;
    const h = harness(NEW);
    for (const step of done.steps.slice(1, -1)) await h.step(step.event as Ev);
    expect(h.actor.getSnapshot().value).toBe('finishing');
    await h.step({ type: 'xstate.error.actor.discardCheckpoint', error: 'disk full' });
    expect(h.actor.getSnapshot().output).toMatchObject({ status: 'done', id: 'model' });
  });
});

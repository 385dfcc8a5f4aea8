/**
 * Model-based tests of machines/window.ts: xstate/graph explores the machine with every completion,
 * retryable failure, fatal failure, cancel and pacing tick that can happen in each state; each path is
 * then replayed on a real actor whose box operations are controllable stubs, checking that the actor
 * follows the model and keeps the transfer's promises (window bound, only failed boxes retried,
 * everything in flight aborted on cancel or failure).
 */

import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import {
  type BoxOpInput,
  type BoxOpOutput,
  boxActorId,
  type WindowInput,
  windowMachine,
} from '../../machines/window.js';

type Snap = ReturnType<ReturnType<typeof createActor<typeof windowMachine>>['getSnapshot']>;
type Ev = { type: string; actorId?: string; output?: BoxOpOutput; reason?: unknown };

const GAP = 10;

/** What can happen next in a state: each child finishes one of three ways, a cancel, the pacing tick. */
function eventsOf(snapshot: Snap): Ev[] {
  if (snapshot.status !== 'active') return [];
  const out: Ev[] = [];
  for (const id of Object.keys(snapshot.children)) {
    const k = Number(id.slice('box-'.length).split('.')[0]);
    const done = (output: BoxOpOutput) => out.push({ type: `xstate.done.actor.${id}`, actorId: id, output });
    done({ k, ok: true });
    done({ k, ok: false, retryable: true, error: `transient ${k}` });
    done({ k, ok: false, retryable: false, error: `fatal ${k}` });
  }
  out.push({ type: 'CANCEL', reason: 'stop' });
  if (snapshot.matches({ running: 'pacing' }))
    out.push({ type: 'xstate.after.admissionGap.window.running.pacing' });
  return out;
}

const serializeEvent = (e: Ev) =>
  JSON.stringify([e.type, e.output && (e.output.ok ? 'ok' : e.output.retryable)]);
/** Which boxes are in flight is part of the state: two states with equal counters can differ in it. */
const serializeState = (s: Snap) =>
  JSON.stringify([s.value, comparable(s), Object.keys(s.children).sort(), s.status === 'active']);

interface Op {
  input: BoxOpInput;
  signal: AbortSignal;
  resolve: (o: BoxOpOutput) => void;
  settled: boolean;
}

/** The real machine as an actor, with box operations the test resolves by hand and a simulated clock. */
function harness(input: WindowInput) {
  const ops = new Map<string, Op>();
  const started: BoxOpInput[] = [];
  const clock = new SimulatedClock();
  const machine = windowMachine.provide({
    actors: {
      boxOp: fromPromise<BoxOpOutput, BoxOpInput>(
        ({ input: op, signal }) =>
          new Promise((resolve) => {
            started.push(op);
            ops.set(boxActorId(op.k, op.attempt), { input: op, signal, resolve, settled: false });
          }),
      ),
    },
  });
  const actor = createActor(machine, { input, clock });
  actor.start();
  const maxInFlight = { value: 0 };
  const live = () => [...ops.values()].filter((o) => !o.settled && !o.signal.aborted);
  const track = () => {
    maxInFlight.value = Math.max(maxInFlight.value, live().length);
  };
  track();
  return {
    actor,
    ops,
    started,
    maxInFlight,
    live,
    async step(event: Ev) {
      if (event.type.startsWith('xstate.done.actor.')) {
        const op = ops.get(event.actorId!);
        if (!op) throw new Error(`no operation ${event.actorId} is in flight`);
        op.settled = true;
        op.resolve(event.output!);
      } else if (event.type === 'CANCEL') {
        actor.send({ type: 'CANCEL', reason: event.reason });
      } else {
        clock.increment(GAP);
      }
      await new Promise((r) => setImmediate(r));
      track();
    },
  };
}

function comparable(s: Snap) {
  const { nextFresh, retryQueue, failures, inFlight, completed } = s.context;
  return { value: s.value, status: s.status, nextFresh, retryQueue, failures, inFlight, completed };
}

/** Traversal options; the model's events include the pacing tick, which is not a WindowEvent. */
const traversal = (input: WindowInput) =>
  ({ input, events: eventsOf, serializeEvent, serializeState }) as unknown as Parameters<
    typeof getShortestPaths<typeof windowMachine>
  >[1];

const INPUT: WindowInput = { boxCount: 3, window: 2, pacing: true, meanGapMs: GAP, maxAttempts: 2 };
const paths = getShortestPaths(windowMachine, traversal(INPUT));

async function replay(path: (typeof paths)[number], input = INPUT) {
  const h = harness(input);
  for (const step of path.steps.slice(1)) {
    await h.step(step.event as Ev);
    expect(comparable(h.actor.getSnapshot())).toEqual(comparable(step.state as Snap));
    const live = h.live().map((o) => boxActorId(o.input.k, o.input.attempt));
    if (h.actor.getSnapshot().status === 'active') {
      expect(Object.keys(h.actor.getSnapshot().children).sort()).toEqual(live.sort());
    } else {
      expect(live).toEqual([]);
    }
  }
  return h;
}

describe('windowed transfer machine (model-based)', () => {
  it('reaches every state of the model with a real actor that agrees with the model step by step', async () => {
    expect(paths.length).toBeGreaterThan(100);
    const finals = new Set<string>();
    for (const path of paths) {
      const h = await replay(path);
      expect(h.maxInFlight.value).toBeLessThanOrEqual(INPUT.window);
      if (path.state.status === 'done') finals.add(String(path.state.value));
    }
    expect([...finals].sort()).toEqual(['cancelled', 'done', 'failed']);
  });

  it('completes every box exactly once and restarts only the boxes whose operation failed', async () => {
    for (const path of paths.filter((p) => p.state.value === 'done')) {
      const h = await replay(path);
      const succeeded = [...h.ops.values()].filter((o) => o.settled).length;
      const retryable = path.steps.filter((s) => (s.event as Ev).output?.ok === false).length;
      expect(h.started.length).toBe(INPUT.boxCount + retryable);
      expect(succeeded).toBe(h.started.length);
      const firstAttempts = h.started.filter((o) => o.attempt === 1).map((o) => o.k);
      expect(firstAttempts).toEqual([0, 1, 2]);
      for (const retry of h.started.filter((o) => o.attempt > 1)) {
        const failedBefore = path.steps.some(
          (s) => (s.event as Ev).output?.ok === false && (s.event as Ev).output?.k === retry.k,
        );
        expect(failedBefore).toBe(true);
      }
      expect(h.actor.getSnapshot().output).toEqual({ status: 'done', completed: INPUT.boxCount });
    }
  });

  it('aborts the signal of every operation still in flight when the transfer is cancelled or fails', async () => {
    const ending = paths.filter((p) => p.state.value === 'cancelled' || p.state.value === 'failed');
    expect(ending.length).toBeGreaterThan(10);
    let sawAbort = 0;
    for (const path of ending) {
      const h = await replay(path);
      for (const op of h.ops.values()) {
        if (!op.settled) {
          expect(op.signal.aborted).toBe(true);
          sawAbort += 1;
        }
      }
    }
    expect(sawAbort).toBeGreaterThan(0);
  });

  it('fails with the error and box of an operation that failed for good or ran out of attempts', async () => {
    for (const path of paths.filter((p) => p.state.value === 'failed')) {
      const h = await replay(path);
      const last = path.steps.at(-1)!.event as Ev;
      const out = h.actor.getSnapshot().output;
      expect(out).toMatchObject({ status: 'failed', failedBox: last.output!.k });
      expect(out && 'error' in out && out.error).toBe(last.output && !last.output.ok && last.output.error);
    }
  });

  it('never admits two boxes within one pacing gap', async () => {
    // Every simple path of a two-box, window-two transfer: admissions are separated by a pacing tick.
    const input: WindowInput = { boxCount: 2, window: 2, pacing: true, meanGapMs: GAP, maxAttempts: 2 };
    const simple = getSimplePaths(windowMachine, traversal(input));
    expect(simple.length).toBeGreaterThan(20);
    for (const path of simple) {
      const h = harness(input);
      let admittedSinceTick = h.started.length;
      expect(admittedSinceTick).toBe(1);
      for (const step of path.steps.slice(1)) {
        const before = h.started.length;
        await h.step(step.event as Ev);
        expect(
          comparable(h.actor.getSnapshot()),
          path.steps.map((s) => serializeEvent(s.event as Ev)).join(),
        ).toEqual(comparable(step.state as Snap));
        if ((step.event as Ev).type.startsWith('xstate.after.')) admittedSinceTick = 0;
        admittedSinceTick += h.started.length - before;
        expect(admittedSinceTick).toBeLessThanOrEqual(1);
      }
    }
  });

  it('fills the whole window at once when pacing is off', () => {
    const h = harness({ boxCount: 10, window: 4, pacing: false, meanGapMs: 0, maxAttempts: 1 });
    expect(h.started.map((o) => o.k)).toEqual([0, 1, 2, 3]);
    expect(h.actor.getSnapshot().context.inFlight).toBe(4);
  });

  it('is done at once for a transfer of zero boxes', () => {
    const h = harness({ boxCount: 0, window: 3, pacing: true, meanGapMs: GAP, maxAttempts: 1 });
    expect(h.actor.getSnapshot().output).toEqual({ status: 'done', completed: 0 });
    expect(h.started).toEqual([]);
  });
});

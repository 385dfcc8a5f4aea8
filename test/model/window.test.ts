/**
 * Model-based tests of machines/window.ts: xstate/graph explores the machine with every completion,
 * retryable failure, fatal failure, cancel and pacing tick that can happen in each state; each path is
 * then replayed on a real actor whose `boxes` child is a controllable stub, checking that the actor
 * follows the model and keeps the transfer's promises (window bound, only failed boxes retried, the
 * operations stopped on cancel or failure).
 */

import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, SimulatedClock } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { type StartBoxes, type WindowEvent, type WindowInput, windowMachine } from '../../machines/window.js';

type Snap = ReturnType<ReturnType<typeof createActor<typeof windowMachine>>['getSnapshot']>;
type Tick = { type: 'xstate.after.admissionGap.window.running.pacing' };
type Ev = WindowEvent | Tick;

const GAP = 10;

/** What can happen next: each box in flight finishes one of three ways, a cancel, the pacing tick. */
function eventsOf(snapshot: Snap): Ev[] {
  if (snapshot.status !== 'active') return [];
  const out: Ev[] = [];
  for (const k of snapshot.context.inFlight) {
    out.push({ type: 'BOX_DONE', k });
    out.push({ type: 'BOX_FAILED', k, retryable: true, error: `transient ${k}` });
    out.push({ type: 'BOX_FAILED', k, retryable: false, error: `fatal ${k}` });
  }
  out.push({ type: 'CANCEL', reason: 'stop' });
  if (snapshot.matches({ running: 'pacing' }))
    out.push({ type: 'xstate.after.admissionGap.window.running.pacing' });
  return out;
}

const serializeEvent = (e: Ev) => JSON.stringify(e);

function comparable(s: Snap) {
  const { nextFresh, inFlight, retryQueue, failures, completed } = s.context;
  return { value: s.value, status: s.status, nextFresh, inFlight, retryQueue, failures, completed };
}
const serializeState = (s: Snap) => JSON.stringify(comparable(s));

/** Traversal options; the model's events include the pacing tick, which is not a WindowEvent. */
const traversal = (input: WindowInput) =>
  ({ input, events: eventsOf, serializeEvent, serializeState }) as unknown as Parameters<
    typeof getShortestPaths<typeof windowMachine>
  >[1];

/** The real machine as an actor, with a `boxes` child the test drives by hand and a simulated clock. */
function harness(input: WindowInput) {
  const started: { k: number; attempt: number }[] = [];
  const running = new Set<number>();
  let maxRunning = 0;
  const pool = { stopped: false, sendBack: (_e: WindowEvent) => {} };
  const clock = new SimulatedClock();
  const machine = windowMachine.provide({
    actors: {
      boxes: fromCallback<StartBoxes, { window: AnyActorRef }>(({ receive, sendBack }) => {
        pool.sendBack = sendBack;
        receive(({ boxes }) => {
          for (const b of boxes) {
            started.push(b);
            running.add(b.k);
          }
          maxRunning = Math.max(maxRunning, running.size);
        });
        return () => {
          pool.stopped = true;
        };
      }),
    },
  });
  const actor = createActor(machine, { input, clock });
  actor.start();
  return {
    actor,
    started,
    running,
    pool,
    maxRunning: () => maxRunning,
    async step(event: Ev) {
      if (event.type === 'BOX_DONE' || event.type === 'BOX_FAILED') {
        if (!running.delete(event.k)) throw new Error(`box ${event.k} is not running`);
        pool.sendBack(event);
      } else if (event.type === 'CANCEL') {
        actor.send(event);
      } else {
        clock.increment(GAP);
      }
      await new Promise((r) => setImmediate(r));
    },
  };
}

const INPUT: WindowInput = { boxCount: 3, window: 2, pacing: true, meanGapMs: GAP, maxAttempts: 2 };
const paths = getShortestPaths(windowMachine, traversal(INPUT));

async function replay(path: (typeof paths)[number], input = INPUT) {
  const h = harness(input);
  for (const step of path.steps.slice(1)) {
    await h.step(step.event as Ev);
    expect(comparable(h.actor.getSnapshot())).toEqual(comparable(step.state as Snap));
    if (h.actor.getSnapshot().status === 'active') {
      expect([...h.running].sort()).toEqual([...h.actor.getSnapshot().context.inFlight].sort());
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
      expect(h.maxRunning()).toBeLessThanOrEqual(INPUT.window);
      if (path.state.status === 'done') finals.add(String(path.state.value));
    }
    expect([...finals].sort()).toEqual(['cancelled', 'done', 'failed']);
  });

  it('completes every box exactly once and restarts only the boxes whose operation failed', async () => {
    for (const path of paths.filter((p) => p.state.value === 'done')) {
      const h = await replay(path);
      const events = path.steps.map((s) => s.event as Ev);
      const failed = events.filter((e): e is Extract<Ev, { type: 'BOX_FAILED' }> => e.type === 'BOX_FAILED');
      expect(h.started.length).toBe(INPUT.boxCount + failed.length);
      expect(h.started.filter((b) => b.attempt === 1).map((b) => b.k)).toEqual([0, 1, 2]);
      for (const retry of h.started.filter((b) => b.attempt > 1)) {
        expect(failed.some((e) => e.k === retry.k)).toBe(true);
      }
      expect(events.filter((e) => e.type === 'BOX_DONE').length).toBe(INPUT.boxCount);
      expect(h.actor.getSnapshot().output).toEqual({ status: 'done', completed: INPUT.boxCount });
    }
  });

  it('stops the operations still in flight when the transfer is cancelled or fails', async () => {
    const ending = paths.filter((p) => p.state.value === 'cancelled' || p.state.value === 'failed');
    expect(ending.length).toBeGreaterThan(10);
    for (const path of ending) {
      const h = await replay(path);
      expect(h.pool.stopped).toBe(true);
    }
  });

  it('fails with the error and box of an operation that failed for good or ran out of attempts', async () => {
    for (const path of paths.filter((p) => p.state.value === 'failed')) {
      const h = await replay(path);
      const last = path.steps.at(-1)!.event as Extract<Ev, { type: 'BOX_FAILED' }>;
      expect(h.actor.getSnapshot().output).toEqual({
        status: 'failed',
        completed: (path.state as Snap).context.completed,
        failedBox: last.k,
        error: last.error,
      });
    }
  });

  it('ignores a report for a box that is not in flight', () => {
    const h = harness({ boxCount: 3, window: 1, pacing: false, meanGapMs: 0, maxAttempts: 1 });
    h.actor.send({ type: 'BOX_DONE', k: 2 });
    h.actor.send({ type: 'BOX_FAILED', k: 1, retryable: false, error: 'stale' });
    expect(comparable(h.actor.getSnapshot())).toMatchObject({
      completed: 0,
      inFlight: [0],
      value: { running: 'admitting' },
    });
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
        expect(comparable(h.actor.getSnapshot())).toEqual(comparable(step.state as Snap));
        if (step.event.type.startsWith('xstate.after.')) admittedSinceTick = 0;
        admittedSinceTick += h.started.length - before;
        expect(admittedSinceTick).toBeLessThanOrEqual(1);
      }
    }
  });

  it('fills the whole window at once when pacing is off', () => {
    const h = harness({ boxCount: 10, window: 4, pacing: false, meanGapMs: 0, maxAttempts: 1 });
    expect(h.started.map((b) => b.k)).toEqual([0, 1, 2, 3]);
    expect(h.actor.getSnapshot().context.inFlight).toEqual([0, 1, 2, 3]);
  });

  it('is done at once for a transfer of zero boxes', () => {
    const h = harness({ boxCount: 0, window: 3, pacing: true, meanGapMs: GAP, maxAttempts: 1 });
    expect(h.actor.getSnapshot().output).toEqual({ status: 'done', completed: 0 });
    expect(h.started).toEqual([]);
  });
});

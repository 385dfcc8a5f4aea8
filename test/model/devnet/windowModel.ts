/**
 * Paths through machines/window.ts that a transfer over the devnet can follow, generated with
 * xstate/graph, for two shapes of transfer, each paced and unpaced:
 *
 *   one box in flight, two boxes, two attempts each: every event below
 *   two boxes in flight, three boxes, one attempt each: every event but the refusal (the refusal comes
 *   as a box is admitted, and two boxes admitted together would share it), so boxes finish in
 *   any order and one can fail while the other is in flight
 *
 * In each state the model offers the events the devnet can cause there:
 *
 *   BOX_DONE      box k is written, so its read (polling until then) completes
 *   BOX_FAILED    retryable: the attempt is refused because the daemon's mixnet is down, which
 *                 happens as it is admitted, so only in the state the admission left the machine in
 *                 (pacing when paced, admitting when not); for good: box k is written a tombstone
 *   CANCEL        the transfer's signal aborts, in every state
 *   the tick      the client's clock passes the admission gap (pacing only)
 */
import type { createActor } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { type WindowEvent, type WindowInput, windowMachine } from '../../../machines/window.js';

export type WindowSnap = ReturnType<ReturnType<typeof createActor<typeof windowMachine>>['getSnapshot']>;
export const TICK = 'xstate.after.admissionGap.window.running.pacing';
export type WindowModelEvent = WindowEvent | { type: typeof TICK };

/** The mean admission gap when paced: a tick moves the client's clock past its cap (20 means). */
export const GAP_MS = 10;

export interface Shape {
  boxCount: number;
  window: number;
  maxAttempts: number;
  /** Whether the model offers the refusal (one box in flight only). */
  refusals: boolean;
}

export const SHAPES: Shape[] = [
  { boxCount: 2, window: 1, maxAttempts: 2, refusals: true },
  { boxCount: 3, window: 2, maxAttempts: 1, refusals: false },
];

const input = (shape: Shape, pacing: boolean): WindowInput => ({
  boxCount: shape.boxCount,
  window: shape.window,
  pacing,
  meanGapMs: GAP_MS,
  maxAttempts: shape.maxAttempts,
});

const devnetEvents =
  (shape: Shape) =>
  (s: WindowSnap): WindowModelEvent[] => {
    if (s.status !== 'active') return [];
    const out: WindowModelEvent[] = [];
    const rightAfterAdmission = s.context.pacing ? s.matches({ running: 'pacing' }) : true;
    for (const k of s.context.inFlight) {
      out.push({ type: 'BOX_DONE', k });
      out.push({ type: 'BOX_FAILED', k, retryable: false, error: 'tombstone' });
      if (shape.refusals && rightAfterAdmission)
        out.push({ type: 'BOX_FAILED', k, retryable: true, error: 'mixnet down' });
    }
    out.push({ type: 'CANCEL', reason: 'stop' });
    if (s.matches({ running: 'pacing' })) out.push({ type: TICK });
    return out;
  };

/** What a run compares with the model after each step. */
export function comparable(s: { value: unknown; status: string; context: WindowSnap['context'] }) {
  const { nextFresh, inFlight, retryQueue, failures, completed } = s.context;
  return { value: s.value, status: s.status, nextFresh, inFlight, retryQueue, failures, completed };
}

const traversal = (shape: Shape, pacing: boolean) =>
  ({
    input: input(shape, pacing),
    events: devnetEvents(shape),
    serializeEvent: (e: WindowModelEvent) => JSON.stringify(e),
    serializeState: (s: WindowSnap) => JSON.stringify(comparable(s)),
  }) as unknown as Parameters<typeof getShortestPaths<typeof windowMachine>>[1];

export interface WindowPath {
  kind: 'shortest' | 'simple';
  shape: Shape;
  pacing: boolean;
  steps: { event: WindowModelEvent; state: WindowSnap }[];
}

/** Shortest paths to every state, and the simple paths to the end of the transfer, without repeats. */
export function windowPaths(): WindowPath[] {
  const seen = new Set<string>();
  const out: WindowPath[] = [];
  for (const shape of SHAPES) {
    for (const pacing of [false, true]) {
      const t = traversal(shape, pacing);
      const all = [
        ...getShortestPaths(windowMachine, t).map((p) => ({ p, kind: 'shortest' as const })),
        ...getSimplePaths(windowMachine, {
          ...t,
          toState: (s: WindowSnap) => s.status === 'done',
        } as never).map((p) => ({ p, kind: 'simple' as const })),
      ];
      for (const { p, kind } of all) {
        const steps = (p.steps as WindowPath['steps']).filter(
          (s) => (s.event.type as string) !== 'xstate.init',
        );
        const key = JSON.stringify([shape, pacing, steps.map((s) => s.event)]);
        if (steps.length === 0 || seen.has(key)) continue;
        seen.add(key);
        out.push({ kind, shape, pacing, steps });
      }
    }
  }
  return out;
}

/**
 * Paths through machines/window.ts that a transfer over the devnet can follow, generated with
 * xstate/graph. The model is a two-box transfer, one box in flight at a time (the devnet can decide
 * the outcome of each attempt, but not the order in which two attempts in flight finish), paced and
 * unpaced, two attempts per box. In each state it offers the events the devnet can cause there:
 *
 *   BOX_DONE      the box in flight completes (the devnet's clock moves on)
 *   BOX_FAILED    retryable: the attempt is refused because the daemon's mixnet is down, which
 *                 happens as it is admitted, so only in the state the admission left the machine in
 *                 (pacing when paced, admitting when not); for good: the box read is a tombstone
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

export const BOXES = 2;

const input = (pacing: boolean): WindowInput => ({
  boxCount: BOXES,
  window: 1,
  pacing,
  meanGapMs: GAP_MS,
  maxAttempts: 2,
});

function devnetEvents(s: WindowSnap): WindowModelEvent[] {
  if (s.status !== 'active') return [];
  const out: WindowModelEvent[] = [];
  const rightAfterAdmission = s.context.pacing ? s.matches({ running: 'pacing' }) : true;
  for (const k of s.context.inFlight) {
    out.push({ type: 'BOX_DONE', k });
    out.push({ type: 'BOX_FAILED', k, retryable: false, error: 'tombstone' });
    if (rightAfterAdmission) out.push({ type: 'BOX_FAILED', k, retryable: true, error: 'mixnet down' });
  }
  out.push({ type: 'CANCEL', reason: 'stop' });
  if (s.matches({ running: 'pacing' })) out.push({ type: TICK });
  return out;
}

/** What a run compares with the model after each step. */
export function comparable(s: { value: unknown; status: string; context: WindowSnap['context'] }) {
  const { nextFresh, inFlight, retryQueue, failures, completed } = s.context;
  return { value: s.value, status: s.status, nextFresh, inFlight, retryQueue, failures, completed };
}

const traversal = (pacing: boolean) =>
  ({
    input: input(pacing),
    events: devnetEvents,
    serializeEvent: (e: WindowModelEvent) => JSON.stringify(e),
    serializeState: (s: WindowSnap) => JSON.stringify(comparable(s)),
  }) as unknown as Parameters<typeof getShortestPaths<typeof windowMachine>>[1];

export interface WindowPath {
  kind: 'shortest' | 'simple';
  pacing: boolean;
  steps: { event: WindowModelEvent; state: WindowSnap }[];
}

/** Shortest paths to every state, and the simple paths to the end of the transfer, without repeats. */
export function windowPaths(): WindowPath[] {
  const seen = new Set<string>();
  const out: WindowPath[] = [];
  for (const pacing of [false, true]) {
    const all = [
      ...getShortestPaths(windowMachine, traversal(pacing)).map((p) => ({ p, kind: 'shortest' as const })),
      ...getSimplePaths(windowMachine, {
        ...traversal(pacing),
        toState: (s: WindowSnap) => s.status === 'done',
      } as never).map((p) => ({ p, kind: 'simple' as const })),
    ];
    for (const { p, kind } of all) {
      const steps = (p.steps as WindowPath['steps']).filter(
        (s) => (s.event.type as string) !== 'xstate.init',
      );
      const key = JSON.stringify([pacing, steps.map((s) => s.event)]);
      if (steps.length === 0 || seen.has(key)) continue;
      seen.add(key);
      out.push({ kind, pacing, steps });
    }
  }
  return out;
}

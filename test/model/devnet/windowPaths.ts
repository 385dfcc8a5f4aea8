/**
 * Generated paths of machines/window.ts over the devnet (run by test/model/machines.model.test.ts):
 * windowModel.ts's paths, each run as a readStream of a ThinClient on a fresh devnet
 * (windowOnDevnet.ts), whose knobs make every event of the path happen. Each completion of a box
 * goes through one of the faults a box survives, in turn per state, so that every fault is met in
 * every state a box can be in flight in.
 */
import { describe, expect, it } from 'vitest';
import type { Unreachable } from '../coverage.js';
import { coverage } from './probe.js';
import { sample } from './sample.js';
import { SHAPES, TICK, type WindowModelEvent, windowPaths } from './windowModel.js';
import {
  type AttemptPlan,
  DONE_FAULTS,
  type DoneFault,
  planAttempts,
  WindowOnDevnet,
} from './windowOnDevnet.js';

export const WINDOW_UNREACHABLE: Unreachable[] = [];

const eventName = (e: WindowModelEvent): string => {
  if (e.type === TICK) return 'tick';
  if (e.type === 'CANCEL') return 'cancel';
  if (e.type === 'BOX_DONE') return `done(${e.k})`;
  return `${e.retryable ? 'refused' : 'tombstone'}(${e.k})`;
};

/**
 * The shortest path to every state and the simple paths to every end, less the paths that are the
 * start of another (the longer run passes their states), sampled down to RUNS per shape of transfer:
 * each costs a devnet.
 */
const RUNS: Record<number, number> = { 1: 20, 2: 12 };

function chosen() {
  const turn = new Map<string, number>();
  const faultFor = (state: string, loss: boolean): DoneFault => {
    const n = turn.get(state) ?? 0;
    const fault = DONE_FAULTS[n % DONE_FAULTS.length]!;
    if (fault === 'loss' && !loss) return 'none';
    turn.set(state, n + 1);
    return fault;
  };

  return SHAPES.flatMap((shape) => {
    const all = windowPaths().filter((p) => p.shape === shape);
    const keys = all.map((p) => JSON.stringify([p.pacing, p.steps.map((s) => s.event)]));
    const maximal = all.filter(
      (_, i) => !keys.some((other, j) => j !== i && other.startsWith(keys[i]!.slice(0, -2))),
    );
    return sample(maximal, RUNS[shape.window]!, `window ${shape.window}`);
  }).map((path) => ({ path, plan: planAttempts(path, faultFor) }));
}

const faultsOf = (plan: Map<string, AttemptPlan>) =>
  [...plan.values()].flatMap((p) => (p.outcome === 'done' && p.fault !== 'none' ? [p.fault] : []));

export function describeWindowPaths(): void {
  const runs = chosen();
  describe('window machine: generated paths against a readStream over the devnet', () => {
    it('meets every fault a box survives in every state a box completes in, and every event', () => {
      const met = new Set(
        runs.flatMap((r) =>
          [...r.plan.values()].flatMap((p) => (p.outcome === 'done' ? [`${p.fault} in ${p.in}`] : [])),
        ),
      );
      for (const fault of DONE_FAULTS) {
        expect(met).toContain(`${fault} in admitting`);
        expect(met).toContain(`${fault} in pacing`);
      }
      const names = new Set(
        runs.flatMap((r) => r.path.steps.map((s) => eventName(s.event).replace(/\d/, 'k'))),
      );
      expect([...names].sort()).toEqual(['cancel', 'done(k)', 'refused(k)', 'tick', 'tombstone(k)']);
    });

    for (const { path, plan } of runs) {
      const faults = faultsOf(plan);
      const name = `window ${path.shape.window}, ${path.pacing ? 'paced' : 'unpaced'}: ${path.steps.map((s) => eventName(s.event)).join(' → ')}${faults.length > 0 ? ` (surviving ${faults.join(', ')})` : ''}`;
      it(`follows the model through ${name}`, async () => {
        coverage.window.ranPath([path.shape, path.pacing, path.steps.map((s) => s.event)]);
        const sut = await WindowOnDevnet.start(path, plan);
        try {
          for (const step of path.steps) await sut.step(step);
          await sut.settled(path.steps.at(-1)!.state);
        } finally {
          await sut.stop();
        }
      });
    }
  });
}

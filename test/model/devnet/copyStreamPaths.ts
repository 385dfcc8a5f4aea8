/**
 * Generated paths of machines/copyStream.ts over the devnet (run by test/model/machines.model.test.ts):
 * copyStreamModel.ts's paths, each run as a copyToChannel (or a resumeCopy) of a ThinClient on a
 * fresh devnet (copyStreamOnDevnet.ts) whose knobs and gates make every event of the path happen.
 * Each completion of a mixnet operation goes through one of the faults it survives, in turn per
 * state.
 */
import { describe, expect, it } from 'vitest';
import type { Unreachable } from '../coverage.js';
import { type CopyPath, copyStreamPaths, eventKind, stateName } from './copyStreamModel.js';
import { ARQ_FAULTS, type ArqFault, CopyStreamOnDevnet } from './copyStreamOnDevnet.js';
import { coverage } from './probe.js';

export const COPY_STREAM_UNREACHABLE: Unreachable[] = [];

const MIXNET_STATES = ['sendingTempBox', 'copying'];
const stateBefore = (path: CopyPath, j: number) =>
  j === 0 ? (path.resumed ? 'creatingTempChannel' : 'savingJob') : stateName(path.steps[j - 1]!.state);

/**
 * The model's paths, each mixnet completion with a fault in turn per state; then, for a fault some
 * state has not met, the first path that completes there again with that fault (the same model path,
 * another devnet run).
 */
function chosen() {
  const turn = new Map<string, number>();
  const met = new Set<string>();
  const completions = (path: CopyPath) =>
    path.steps.flatMap((s, j) => {
      const at = stateBefore(path, j);
      return eventKind(s.event) === 'done' && MIXNET_STATES.includes(at) ? [{ j, at }] : [];
    });
  const runs = copyStreamPaths().map((path) => {
    const faults = new Map<number, ArqFault>();
    for (const { j, at } of completions(path)) {
      const n = turn.get(at) ?? 0;
      turn.set(at, n + 1);
      faults.set(j, ARQ_FAULTS[n % ARQ_FAULTS.length]!);
      met.add(`${faults.get(j)} in ${at}`);
    }
    return { path, faults };
  });
  for (const at of MIXNET_STATES) {
    for (const fault of ARQ_FAULTS) {
      if (met.has(`${fault} in ${at}`)) continue;
      const run = runs.find((r) => completions(r.path).some((c) => c.at === at))!;
      const j = completions(run.path).find((c) => c.at === at)!.j;
      runs.push({ path: run.path, faults: new Map([[j, fault]]) });
      met.add(`${fault} in ${at}`);
    }
  }
  return runs;
}

const nameOf = (path: CopyPath, faults: Map<number, ArqFault>) => {
  let before = path.resumed ? 'creatingTempChannel' : 'savingJob';
  const parts: string[] = [];
  path.steps.forEach((s, j) => {
    const kind = eventKind(s.event);
    const fault = faults.get(j);
    if (kind !== 'done' || (fault && fault !== 'none'))
      parts.push(`${kind} in ${before}${fault && fault !== 'none' ? ` after ${fault}` : ''}`);
    before = stateName(s.state);
  });
  return `${path.resumed ? 'resumed' : 'new'}: ${parts.join(', ') || 'no fault'} → ${before}`;
};

export function describeCopyStreamPaths(): void {
  const runs = chosen();
  describe('copy-stream machine: generated paths against copyToChannel over the devnet', () => {
    it('meets every fault a mixnet operation survives in each of its states, and a cancel and an error in every step', () => {
      const faults = new Set(
        runs.flatMap(({ path, faults }) => [...faults].map(([j, f]) => `${f} in ${stateBefore(path, j)}`)),
      );
      for (const at of MIXNET_STATES) for (const f of ARQ_FAULTS) expect(faults).toContain(`${f} in ${at}`);
      const met = new Set(
        runs.flatMap(({ path }) =>
          path.steps.map((s, j) => `${eventKind(s.event)} in ${stateBefore(path, j)}`),
        ),
      );
      for (const at of [
        'savingJob',
        'creatingTempChannel',
        'persisting',
        'building',
        'encryptingTempBox',
        'sendingTempBox',
        'copying',
      ]) {
        expect(met).toContain(`cancel in ${at}`);
        expect(met).toContain(`error in ${at}`);
      }
    });

    for (const { path, faults } of runs) {
      it(`follows the model through ${nameOf(path, faults)}`, async () => {
        coverage.copyStream.ranPath([
          path.resumed,
          path.steps.map((s) => [s.event.type, eventKind(s.event)]),
        ]);
        const sut = await CopyStreamOnDevnet.start(path, faults);
        try {
          for (let j = 0; j < path.steps.length; j++) await sut.step(j);
          await sut.settled(path.steps.at(-1)!.state);
        } finally {
          await sut.stop();
        }
      });
    }
  });
}

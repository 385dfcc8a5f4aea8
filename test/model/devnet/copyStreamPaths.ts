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

function chosen() {
  const turn = new Map<string, number>();
  return copyStreamPaths().map((path) => {
    const faults = new Map<number, ArqFault>();
    path.steps.forEach((s, j) => {
      const at = j === 0 ? '' : stateName(path.steps[j - 1]!.state);
      if (eventKind(s.event) !== 'done' || (at !== 'sendingTempBox' && at !== 'copying')) return;
      const n = turn.get(at) ?? 0;
      turn.set(at, n + 1);
      faults.set(j, ARQ_FAULTS[n % ARQ_FAULTS.length]!);
    });
    return { path, faults };
  });
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
    it('meets every fault a mixnet operation survives, and a cancel and an error in every step', () => {
      const faults = new Set(runs.flatMap((r) => [...r.faults.values()]));
      expect([...faults].sort()).toEqual([...ARQ_FAULTS].sort());
      const met = new Set(
        runs.flatMap(({ path }) =>
          path.steps.map(
            (s, j) =>
              `${eventKind(s.event)} in ${j === 0 ? 'savingJob' : stateName(path.steps[j - 1]!.state)}`,
          ),
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

/**
 * Model-based paths of machines/arq.ts over the devnet (run by test/model/machines.model.test.ts):
 * createTestModel's paths through one operation, each run by a ThinClient on a fresh devnet whose
 * knobs cause the events (arqOnDevnet.ts). A path is run as a write, a no-retry read of a missing box
 * or a copy command that fails, whichever its reply needs.
 */
import { describe, expect, it } from 'vitest';
import type { ArqEvent } from '../../../machines/arq.js';
import { arqPaths, eventName } from '../arqModel.js';
import type { Unreachable } from '../coverage.js';
import { ArqOnDevnet, type Mode } from './arqOnDevnet.js';
import { coverage } from './probe.js';

/**
 * Reviewed against actors/registry.ts: an operation exists only while the link is ready, and every
 * loss of the link pauses it (op.pause) before the registry can say anything else about the link.
 */
export const ARQ_UNREACHABLE: Unreachable[] = [
  {
    transition: 'arq.awaiting op.replay #0',
    reason:
      'a replay comes with a new session, and a new session follows a lost one, which paused the operation',
  },
  {
    transition: 'arq.awaiting op.cancel #1',
    reason:
      'a cancel is local (sent: false) only while the link is not ready, and then the operation is paused',
  },
  {
    transition: 'arq.awaiting op.abandon #0',
    reason:
      'the registry abandons operations when the redial budget runs out, after the lost link paused them',
  },
  {
    transition: 'arq.cancelling op.abandon #0',
    reason:
      'as above: the lost link that precedes giving up ends a cancelling operation first (op.pause → cancelled)',
  },
  {
    transition: 'arq.awaiting op.reply #1',
    reason:
      'the daemon answers code 24 only to a cancel on the same connection, and the registry moves every operation a cancel names to cancelling as it sends it',
  },
];

const FINAL = new Set(['done', 'expected', 'failed', 'cancelled', 'closed', 'abandoned']);

type Step = { event: ArqEvent; state: { value: unknown } };
const stepsOf = (p: { steps: unknown[] }) =>
  (p.steps as Step[]).filter((s) => (s.event.type as string) !== 'xstate.init');

/** What the operation has to be for the path's reply, or undefined when the devnet cannot run it. */
function modeOf(kind: 'encryptedMessage' | 'copyCommand', steps: Step[]): Mode | undefined {
  const names = steps.map((s) => eventName(s.event));
  // Code 24 comes only for a cancel that went out.
  if (names.includes('reply(24)') && !names.includes('cancel(sent)')) return undefined;
  if (kind === 'copyCommand') return names.includes('reply(3)') ? 'copyFails' : undefined;
  if (names.includes('reply(3)')) return undefined;
  if (names.includes('op.cancelAck')) return 'queued';
  return names.includes('reply(1)') ? 'missing' : 'write';
}

const paths = (['encryptedMessage', 'copyCommand'] as const).flatMap((kind) =>
  arqPaths(kind)
    .map((p) => ({ steps: stepsOf(p), kind }))
    .map(({ steps, kind }) => ({ steps, mode: modeOf(kind, steps) }))
    .filter((p): p is { steps: Step[]; mode: Mode } => p.steps.length > 0 && p.mode !== undefined),
);

export function describeArqPaths(): void {
  describe('ARQ operation: generated paths against a ThinClient over the devnet', () => {
    it('has paths for every event and every kind of operation', () => {
      const names = new Set(paths.flatMap((p) => p.steps.map((s) => eventName(s.event))));
      for (const n of [
        'reply(0)',
        'reply(1)',
        'reply(3)',
        'reply(24)',
        'op.pause',
        'op.resume',
        'op.replay',
      ]) {
        expect(names).toContain(n);
      }
      for (const n of ['cancel(sent)', 'cancel(local)', 'op.cancelAck', 'op.close', 'op.abandon']) {
        expect(names).toContain(n);
      }
      expect(new Set(paths.map((p) => p.mode))).toEqual(new Set(['write', 'missing', 'copyFails', 'queued']));
    });

    for (const { steps, mode } of paths) {
      const name = steps.map((s) => eventName(s.event)).join(' → ');
      it(`follows the model through ${name} (${mode})`, async () => {
        coverage.arq.ranPath([mode, name]);
        coverage.connection.ranPath(['arq', mode, name]);
        const sut = await ArqOnDevnet.start(mode);
        try {
          for (let i = 0; i < steps.length; i++) {
            const step = steps[i]!;
            await sut.cause(step.event, steps[i + 1]?.event);
            const value = step.state.value as string;
            await sut.check(value, FINAL.has(value));
          }
        } finally {
          await sut.stop();
        }
      });
    }
  });
}

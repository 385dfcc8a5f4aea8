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
 * Reviewed against actors/registry.ts and the devnet. Transitions dead by design are not in the
 * machine (its comments say why), so this lists only what the devnet cannot stage.
 */
export const ARQ_UNREACHABLE: Unreachable[] = [
  {
    transition: 'arq.resyncing op.reply #1',
    reason:
      'a real reply before the resync cancel is answered needs the daemon to write it between the resumed handshake and reading the cancel, which the client sends at once; the scripted-daemon model test (arq.model.test.ts) and test/unit/client/replay.test.ts take it',
  },
];

const FINAL = new Set(['done', 'expected', 'failed', 'cancelled', 'closed', 'abandoned']);

type Step = { event: ArqEvent; state: { value: unknown } };
const stepsOf = (p: { steps: unknown[] }) =>
  (p.steps as Step[]).filter((s) => (s.event.type as string) !== 'xstate.init');

/** What the operation has to be for the path's reply, or undefined when the devnet cannot run it. */
function modeOf(kind: 'encryptedMessage' | 'copyCommand', steps: Step[]): Mode | undefined {
  const names = steps.map((s) => eventName(s.event));
  const from = (i: number) => (i === 0 ? 'awaiting' : steps[i - 1]!.state.value);
  const isReply = (n: string) => n.startsWith('reply(');
  const duringResync = (match: (n: string) => boolean) =>
    names.some((n, i) => from(i) === 'resyncing' && match(n));
  if (duringResync((n) => isReply(n) && n !== 'reply(24)')) return undefined;
  // The daemon answers a resync's cancel with code 24 first when it holds the operation; with the
  // answer alone when only its send queue held it (`queued`: a dropped socket empties that queue).
  const answeredAlone = names.some((n, i) => n === 'op.resync.answered' && names[i - 1] !== 'reply(24)');
  if (answeredAlone || names.includes('op.cancelAck'))
    return kind === 'encryptedMessage' && !names.some(isReply) ? 'queued' : undefined;
  // Code 24 comes only for a cancel that went out: the caller's or a resync's.
  if (names.includes('reply(24)') && !names.includes('op.cancel') && !duringResync((n) => n === 'reply(24)'))
    return undefined;
  if (kind === 'copyCommand') return names.includes('reply(3)') ? 'copyFails' : undefined;
  if (names.includes('reply(3)')) return undefined;
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
      for (const n of ['reply(0)', 'reply(1)', 'reply(3)', 'reply(24)', 'op.pause', 'op.replay']) {
        expect(names).toContain(n);
      }
      for (const n of [
        'op.resync.begin',
        'op.resync.answered',
        'op.cancel',
        'op.cancelAck',
        'op.close',
        'op.abandon',
      ]) {
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
          const seq: unknown[] = ['awaiting'];
          for (let i = 0; i < steps.length; i++) {
            const step = steps[i]!;
            const from = i === 0 ? 'awaiting' : steps[i - 1]!.state.value;
            await sut.cause(
              step.event,
              steps.slice(i + 1).map((s) => s.event),
              from,
            );
            const value = step.state.value as string;
            if (seq.at(-1) !== value) seq.push(value);
            await sut.check(value, seq.length - 1, FINAL.has(value));
          }
        } finally {
          await sut.stop();
        }
      });
    }
  });
}

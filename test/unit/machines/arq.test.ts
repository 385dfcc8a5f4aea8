/**
 * The ARQ operation machine on its own, with the transmit action recorded.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { type ArqEvent, type ArqKind, arqMachine } from '../../../machines/arq.js';

function run(kind: ArqKind, events: ArqEvent[]) {
  const transmitted: number[] = [];
  const actor = createActor(
    arqMachine.provide({
      actions: { transmit: ({ context }) => void transmitted.push(context.transmissions) },
    }),
    { input: { queryId: 'ab', kind, request: new Uint8Array([1, 2, 3]), cancelKey: 'cd' } },
  );
  actor.start();
  for (const e of events) actor.send(e);
  return { snapshot: actor.getSnapshot(), transmitted };
}

const reply = (code: number, extra: object = {}): ArqEvent => ({
  type: 'op.reply',
  reply: { error_code: code, ...extra },
});

describe('ARQ operation machine', () => {
  it('transmits once, then waits; success is a final state with the reply as output', () => {
    const { snapshot, transmitted } = run('encryptedMessage', [reply(0, { plaintext: new Uint8Array([9]) })]);
    expect(transmitted).toEqual([0]);
    expect(snapshot.status).toBe('done');
    expect(snapshot.output).toEqual({
      outcome: 'done',
      reply: { error_code: 0, plaintext: new Uint8Array([9]) },
    });
  });

  it('BoxIDNotFound, BoxAlreadyExists and Tombstone are expected outcomes, not failures', () => {
    for (const code of [1, 10, 11]) {
      expect(run('encryptedMessage', [reply(code)]).snapshot.output).toMatchObject({
        outcome: 'expected',
        errorCode: code,
      });
    }
    expect(run('encryptedMessage', [reply(23)]).snapshot.output).toMatchObject({
      outcome: 'failed',
      errorCode: 23,
    });
    // A copy command has no expected outcomes: code 26 carries the replica detail.
    expect(run('copyCommand', [reply(26, { replica_error_code: 1 })]).snapshot.output).toMatchObject({
      outcome: 'failed',
      errorCode: 26,
    });
  });

  it('code 24 ends the operation as cancelled', () => {
    expect(run('copyCommand', [reply(24)]).snapshot.output).toEqual({ outcome: 'cancelled' });
  });

  it('a replay transmits the same request again; a resume does not', () => {
    const resumed = run('encryptedMessage', [{ type: 'op.pause' }, { type: 'op.resume' }]);
    expect(resumed.transmitted).toEqual([0]);
    expect(resumed.snapshot.value).toBe('awaiting');
    const replayed = run('encryptedMessage', [
      { type: 'op.pause' },
      { type: 'op.replay' },
      { type: 'op.pause' },
      { type: 'op.replay' },
    ]);
    expect(replayed.transmitted).toEqual([0, 1, 2]);
    expect(replayed.snapshot.context.request).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('a sent cancel waits for the daemon; a local cancel ends at once; a pause while cancelling ends it', () => {
    expect(run('encryptedMessage', [{ type: 'op.cancel', sent: true }]).snapshot.value).toBe('cancelling');
    expect(run('encryptedMessage', [{ type: 'op.cancel', sent: true }, reply(24)]).snapshot.output).toEqual({
      outcome: 'cancelled',
    });
    expect(
      run('encryptedMessage', [{ type: 'op.cancel', sent: true }, { type: 'op.cancelAck' }]).snapshot.value,
    ).toBe('cancelled');
    expect(run('encryptedMessage', [{ type: 'op.cancel', sent: true }, reply(0)]).snapshot.value).toBe(
      'done',
    );
    expect(
      run('encryptedMessage', [{ type: 'op.pause' }, { type: 'op.cancel', sent: false }]).snapshot.value,
    ).toBe('cancelled');
    const dropped = run('encryptedMessage', [
      { type: 'op.cancel', sent: true },
      { type: 'op.pause' },
      { type: 'op.replay' },
    ]);
    expect(dropped.snapshot.value).toBe('cancelled');
    expect(dropped.transmitted).toEqual([0]);
  });

  it('close and abandonment are final states with output', () => {
    expect(run('encryptedMessage', [{ type: 'op.close' }]).snapshot.output).toEqual({ outcome: 'closed' });
    const error = new Error('gone');
    expect(
      run('encryptedMessage', [{ type: 'op.pause' }, { type: 'op.abandon', error }]).snapshot.output,
    ).toEqual({
      outcome: 'abandoned',
      error,
    });
  });
});

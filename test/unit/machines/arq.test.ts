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
      actions: {
        transmit: ({ context }) => void transmitted.push(context.transmissions),
        requestResyncCancel: () => {},
      },
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

  it('code 24 after a cancel ends the operation as cancelled', () => {
    expect(run('copyCommand', [{ type: 'op.cancel' }, reply(24)]).snapshot.output).toEqual({
      outcome: 'cancelled',
    });
  });

  it('a resync cancels at the daemon, absorbs its code 24 and sends the same request once answered', () => {
    const resync: ArqEvent[] = [{ type: 'op.pause' }, { type: 'op.resync.begin' }];
    const asked = run('encryptedMessage', resync);
    expect(asked.snapshot.value).toBe('resyncing');
    expect(asked.snapshot.context.resyncs).toBe(1);
    const absorbed = run('encryptedMessage', [...resync, reply(24)]);
    expect(absorbed.snapshot.value).toBe('resyncing');
    const again = run('encryptedMessage', [...resync, reply(24), { type: 'op.resync.answered' }]);
    expect(again.snapshot.value).toBe('awaiting');
    expect(again.transmitted).toEqual([0, 1]);
  });

  it('a real reply during a resync ends the operation as in awaiting; a later answer sends nothing', () => {
    const resync: ArqEvent[] = [{ type: 'op.pause' }, { type: 'op.resync.begin' }];
    const done = run('encryptedMessage', [...resync, reply(0), { type: 'op.resync.answered' }]);
    expect(done.snapshot.output).toMatchObject({ outcome: 'done' });
    expect(done.transmitted).toEqual([0]);
    expect(run('encryptedMessage', [...resync, reply(1)]).snapshot.output).toMatchObject({
      outcome: 'expected',
      errorCode: 1,
    });
    expect(run('copyCommand', [...resync, reply(3)]).snapshot.output).toMatchObject({ outcome: 'failed' });
  });

  it('during a resync: a lost link pauses again, a cancel goes to cancelling, close ends it', () => {
    const resync: ArqEvent[] = [{ type: 'op.pause' }, { type: 'op.resync.begin' }];
    const twice = run('encryptedMessage', [...resync, { type: 'op.pause' }, { type: 'op.resync.begin' }]);
    expect(twice.snapshot.value).toBe('resyncing');
    expect(twice.snapshot.context.resyncs).toBe(2);
    const cancelled = run('encryptedMessage', [...resync, { type: 'op.cancel' }, reply(24)]);
    expect(cancelled.snapshot.output).toEqual({ outcome: 'cancelled' });
    expect(cancelled.transmitted).toEqual([0]);
    expect(run('encryptedMessage', [...resync, { type: 'op.close' }]).snapshot.output).toEqual({
      outcome: 'closed',
    });
  });

  it('a replay transmits the same request again', () => {
    const replayed = run('encryptedMessage', [
      { type: 'op.pause' },
      { type: 'op.replay' },
      { type: 'op.pause' },
      { type: 'op.replay' },
    ]);
    expect(replayed.transmitted).toEqual([0, 1, 2]);
    expect(replayed.snapshot.context.request).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('a cancel with the link up waits for the daemon; paused, it ends at once; a pause while cancelling ends it', () => {
    expect(run('encryptedMessage', [{ type: 'op.cancel' }]).snapshot.value).toBe('cancelling');
    expect(run('encryptedMessage', [{ type: 'op.cancel' }, reply(24)]).snapshot.output).toEqual({
      outcome: 'cancelled',
    });
    expect(run('encryptedMessage', [{ type: 'op.cancel' }, { type: 'op.cancelAck' }]).snapshot.value).toBe(
      'cancelled',
    );
    expect(run('encryptedMessage', [{ type: 'op.cancel' }, reply(0)]).snapshot.value).toBe('done');
    expect(run('encryptedMessage', [{ type: 'op.pause' }, { type: 'op.cancel' }]).snapshot.value).toBe(
      'cancelled',
    );
    const dropped = run('encryptedMessage', [
      { type: 'op.cancel' },
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

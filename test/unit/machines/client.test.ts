/**
 * The supervising client machine on its own: a stand-in connection actor (a callback the test
 * drives), real ARQ operation actors. Routing, replay decisions, cancels and supervision.
 */
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, setup } from 'xstate';
import type { ArqInput, arqMachine } from '../../../machines/arq.js';
import { type ClientEmitted, clientMachine } from '../../../machines/client.js';
import type { ConnectionCommand, ConnectionReport } from '../../../machines/connection.js';
import type { DecodedResponse } from '../../../src/wire/index.js';

const qid = (n: number) => new Uint8Array(16).fill(n);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

function start(options: { arq?: typeof arqMachine } = {}) {
  const commands: ConnectionCommand[] = [];
  let report: (r: ConnectionReport) => void = () => {};
  const connection = fromCallback<ConnectionCommand>(({ sendBack, receive }) => {
    report = sendBack as (r: ConnectionReport) => void;
    receive((c) => commands.push(c));
  });
  const machine = clientMachine.provide({
    actors: { connection: connection as never, ...(options.arq ? { arq: options.arq as never } : {}) },
  });
  const actor = createActor(machine, {
    systemId: 'client',
    input: { connection: { dial: { type: 'tcp', address: 'x:1' }, clientToken: qid(0) } },
  });
  const emitted: ClientEmitted[] = [];
  actor.on('*', (e) => void emitted.push(e as ClientEmitted));
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => void errors.push(e) });
  actor.start();
  const ready = (replay = false) =>
    report({
      type: 'connection.ready',
      instanceToken: qid(1),
      appId: qid(2),
      resumed: !replay,
      replay,
      first: false,
    });
  const message = (m: DecodedResponse) => report({ type: 'connection.message', message: m });
  const op = (n: number): ArqInput => ({
    queryId: hexOf(qid(n)),
    kind: 'encryptedMessage',
    request: new Uint8Array([n]),
    cancelKey: `key${n}`,
  });
  return { actor, commands, emitted, errors, report: (r: ConnectionReport) => report(r), ready, message, op };
}

const opState = (actor: AnyActorRef, n: number) =>
  (actor.system.get(`op:${hexOf(qid(n))}`)?.getSnapshot() as { value: unknown } | undefined)?.value;

describe('client machine', () => {
  it('refuses to start an operation or send a request before the session is ready', () => {
    const t = start();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.actor.send({ type: 'client.request', queryId: 'aa', bytes: new Uint8Array([1]) });
    expect(t.emitted).toEqual([
      { type: 'unsent', queryId: hexOf(qid(1)) },
      { type: 'unsent', queryId: 'aa' },
    ]);
    expect(t.commands).toEqual([]);
  });

  it('spawns each operation as op:<query id>, transmits it, and routes its reply by query id', () => {
    const t = start();
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.actor.send({ type: 'client.startOp', op: t.op(2) });
    expect(t.commands).toEqual([
      { type: 'connection.send', bytes: new Uint8Array([1]) },
      { type: 'connection.send', bytes: new Uint8Array([2]) },
    ]);
    t.message({ key: 'start_resending_encrypted_message_reply', body: { query_id: qid(2), error_code: 0 } });
    expect(opState(t.actor, 2)).toBeUndefined();
    expect(opState(t.actor, 1)).toBe('awaiting');
    expect(t.emitted.at(-1)).toMatchObject({
      type: 'settled',
      queryId: hexOf(qid(2)),
      output: { outcome: 'done' },
    });
    expect(Object.keys(t.actor.getSnapshot().context.ops)).toEqual([hexOf(qid(1))]);
  });

  it('emits replies that no operation owns, and events, for the facade', () => {
    const t = start();
    t.ready();
    const reply: DecodedResponse = { key: 'new_keypair_reply', body: { query_id: qid(9), error_code: 0 } };
    t.message(reply);
    t.message({ key: 'connection_status_event', body: { is_connected: true } });
    expect(t.emitted.filter((e) => e.type === 'message')).toEqual([
      { type: 'message', message: reply },
      { type: 'message', message: { key: 'connection_status_event', body: { is_connected: true } } },
    ]);
    expect(t.actor.getSnapshot().context.mixnetConnected).toBe(true);
  });

  it('pauses operations when the socket goes, then resumes or replays them as the connection says', () => {
    const t = start();
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.report({ type: 'connection.lost', graceful: false, error: new Error('x'), requested: false });
    expect(opState(t.actor, 1)).toBe('paused');
    expect(t.actor.getSnapshot().context.link).toBe('down');
    t.ready(false);
    expect(opState(t.actor, 1)).toBe('awaiting');
    expect(t.commands.filter((c) => c.type === 'connection.send')).toHaveLength(1);
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    t.ready(true);
    expect(t.commands.filter((c) => c.type === 'connection.send')).toHaveLength(2);
    expect(
      t.emitted.filter((e) => e.type === 'linkReady').map((e) => (e as { replayed: number }).replayed),
    ).toEqual([0, 0, 1]);
  });

  it('a cancel goes to the daemon when the socket is up; its reply acknowledges the operation', () => {
    const t = start();
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.actor.send({
      type: 'client.cancelOp',
      cancelKey: 'key1',
      request: { queryId: hexOf(qid(5)), bytes: new Uint8Array([5]) },
    });
    expect(opState(t.actor, 1)).toBe('cancelling');
    expect(t.commands.at(-1)).toEqual({ type: 'connection.send', bytes: new Uint8Array([5]) });
    t.message({ key: 'cancel_resending_encrypted_message_reply', body: { query_id: qid(5), error_code: 0 } });
    // The cancel's own reply goes to the facade (it settles the cancel call) ...
    expect(t.emitted).toContainEqual(
      expect.objectContaining({
        type: 'message',
        message: expect.objectContaining({ key: 'cancel_resending_encrypted_message_reply' }),
      }),
    );
    // ... and acknowledges the operation.
    expect(t.emitted.find((e) => e.type === 'settled')).toMatchObject({ output: { outcome: 'cancelled' } });
    expect(t.actor.getSnapshot().context.cancels).toEqual({});
  });

  it('a cancel while the socket is down drops local tracking and reports the cancel request unsent', () => {
    const t = start();
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.report({ type: 'connection.lost', graceful: true, error: undefined, requested: false });
    t.actor.send({
      type: 'client.cancelOp',
      cancelKey: 'key1',
      request: { queryId: 'cc', bytes: new Uint8Array([5]) },
    });
    expect(t.emitted).toContainEqual({ type: 'unsent', queryId: 'cc' });
    expect(t.emitted.find((e) => e.type === 'settled')).toMatchObject({ output: { outcome: 'cancelled' } });
    expect(t.actor.getSnapshot().context.ops).toEqual({});
  });

  it('abandons every operation when the connection gives up for good', () => {
    const t = start();
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    t.report({ type: 'connection.failed', error: new Error('refused') });
    expect(t.emitted.find((e) => e.type === 'settled')).toMatchObject({ output: { outcome: 'abandoned' } });
    expect(t.emitted).toContainEqual({ type: 'linkFailed', error: new Error('refused') });
  });

  it('close tells every operation and the connection; nothing new starts meanwhile', () => {
    const t = start();
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.actor.send({ type: 'client.close' });
    expect(t.commands.at(-1)).toEqual({ type: 'connection.close' });
    expect(t.emitted.find((e) => e.type === 'settled')).toMatchObject({ output: { outcome: 'closed' } });
    t.actor.send({ type: 'client.startOp', op: t.op(2) });
    expect(t.emitted.at(-1)).toEqual({ type: 'unsent', queryId: hexOf(qid(2)) });
  });

  it('an operation actor that throws is contained: the root stays active and the caller learns of it', () => {
    const crashing = setup({ types: {} as { input: ArqInput } }).createMachine({
      on: {
        'op.reply': {
          actions: () => {
            throw new Error('bug in an operation');
          },
        },
      },
    }) as unknown as typeof arqMachine;
    const t = start({ arq: crashing });
    t.ready();
    t.actor.send({ type: 'client.startOp', op: t.op(1) });
    t.message({ key: 'start_resending_encrypted_message_reply', body: { query_id: qid(1), error_code: 0 } });
    expect(t.actor.getSnapshot().status).toBe('active');
    expect(t.errors).toEqual([]);
    expect(t.emitted).toContainEqual(
      expect.objectContaining({ type: 'actorError', actorId: `op:${hexOf(qid(1))}` }),
    );
    expect(t.emitted.find((e) => e.type === 'settled')).toMatchObject({ output: { outcome: 'abandoned' } });
    // The root keeps working.
    t.actor.send({ type: 'client.request', queryId: 'ab', bytes: new Uint8Array([7]) });
    expect(t.commands.at(-1)).toEqual({ type: 'connection.send', bytes: new Uint8Array([7]) });
  });
});

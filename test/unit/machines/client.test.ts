/**
 * The supervising client machine with its real work registry and a stand-in connection actor (a
 * callback the test drives): link and mixnet as states, routing by query id, waiting while the link
 * is down, resume vs replay, close, and operations kept out of the machine's snapshot.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, sendParent, setup } from 'xstate';
import { registryLogic } from '../../../actors/registry.js';
import type { ArqInput } from '../../../machines/arq.js';
import { type ClientEmitted, clientMachine } from '../../../machines/client.js';
import type { ConnectionCommand, ConnectionReport, TransportCommand } from '../../../machines/connection.js';
import { NO_WORK, type WorkStats } from '../../../machines/registry.js';
import { silentLogger } from '../../../src/logger.js';
import type { ArqOutput } from '../../../src/protocol/outcome.js';
import type { Result } from '../../../src/protocol/result.js';
import type { DecodedResponse } from '../../../src/wire/index.js';

const qid = (n: number) => new Uint8Array(16).fill(n);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

function start() {
  const sent: Uint8Array[] = [];
  const commands: ConnectionCommand[] = [];
  let report: (r: ConnectionReport) => void = () => {};
  let crash: () => void = () => {};
  // A stand-in connection: a transport child (the registry writes requests to it) and a driver
  // through which the test reports what the connection would.
  const connection = setup({
    actors: {
      transport: fromCallback<TransportCommand>(({ receive }) => {
        receive((c) => void (c.type === 'transport.sendRaw' && sent.push(c.bytes)));
      }),
      driver: fromCallback(({ sendBack }) => {
        report = (r) => sendBack({ type: 'test.report', report: r });
        crash = () => sendBack({ type: 'test.crash' });
      }),
    },
  }).createMachine({
    invoke: [
      { id: 'transport', src: 'transport' },
      { id: 'driver', src: 'driver' },
    ],
    on: {
      'test.report': {
        actions: sendParent(({ event }) => (event as unknown as { report: ConnectionReport }).report),
      },
      // A bug: an action that throws fails the connection actor.
      'test.crash': {
        actions: () => {
          throw new Error('a bug in the connection');
        },
      },
      '*': { actions: ({ event }) => void commands.push(event as ConnectionCommand) },
    },
  });
  let stats: () => WorkStats = () => ({ ...NO_WORK });
  const clock = new SimulatedClock();
  const actor = createActor(
    clientMachine.provide({ actors: { connection: connection as never, registry: registryLogic } }),
    {
      systemId: 'client',
      clock,
      input: {
        connection: { dial: { type: 'tcp', address: 'x:1' }, clientToken: qid(0) },
        registry: {
          clock,
          failFast: false,
          queueLimit: 100,
          logger: silentLogger,
          exposeStats: (r) => (stats = r),
        },
      },
    },
  );
  const emitted: ClientEmitted[] = [];
  actor.on('*', (e) => void emitted.push(e as ClientEmitted));
  actor.start();
  const registry = () => actor.system.get('registry')!;
  const ready = (replay = false) =>
    report({
      type: 'connection.ready',
      instanceToken: qid(1),
      appId: qid(2),
      resumed: !replay,
      replay,
      first: false,
    });
  const status = (connected: boolean): DecodedResponse =>
    ({ key: 'connection_status_event', body: { is_connected: connected } }) as DecodedResponse;
  const op = (n: number): ArqInput => ({
    queryId: hexOf(qid(n)),
    kind: 'encryptedMessage',
    request: new Uint8Array([n]),
    cancelKey: `key${n}`,
  });
  const outcomes: Array<Result<ArqOutput>> = [];
  const startOp = (n: number) =>
    registry().send({
      type: 'registry.startOp',
      op: op(n),
      respond: (r: Result<ArqOutput>) => outcomes.push(r),
    });
  // As the transport delivers a reply: straight to the registry (ConnectionInput.replyTarget).
  const reply = (n: number, code = 0) =>
    registry().send({
      type: 'transport.reply',
      message: {
        key: 'start_resending_encrypted_message_reply',
        body: { query_id: qid(n), error_code: code },
      } as DecodedResponse,
    });
  return {
    actor,
    sent,
    commands,
    emitted,
    outcomes,
    report: (r: ConnectionReport) => report(r),
    crash: () => crash(),
    ready,
    status,
    startOp,
    reply,
    stats: () => stats(),
  };
}

const link = (t: ReturnType<typeof start>) =>
  (t.actor.getSnapshot().value as { live: { link: string } }).live.link;
const mixnet = (t: ReturnType<typeof start>) =>
  (t.actor.getSnapshot().value as { live: { mixnet: string } }).live.mixnet;

describe('client machine', () => {
  it('keeps the link and the mixnet as states of their own regions', () => {
    const t = start();
    expect(link(t)).toBe('connecting');
    t.report({ type: 'connection.message', message: t.status(true) });
    expect(mixnet(t)).toBe('connected');
    t.ready();
    expect(link(t)).toBe('ready');
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    expect(link(t)).toBe('down');
    expect(mixnet(t)).toBe('offline');
    t.ready();
    t.report({ type: 'connection.lost', graceful: true, error: undefined, requested: true });
    expect(link(t)).toBe('disconnected');
  });

  it('stops waiting when the application disconnects while the link is down: the link is disconnected and a new operation fails at once', () => {
    const t = start();
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    // The redial has heard the daemon's status when disconnect() stops it.
    t.report({ type: 'connection.message', message: t.status(true) });
    t.actor.send({ type: 'client.disconnect' });
    expect(link(t)).toBe('disconnected');
    expect(mixnet(t)).toBe('offline');
    expect(t.commands.map((c) => c.type)).toContain('connection.disconnect');
    t.startOp(1);
    expect(t.outcomes.map((o) => (o.ok ? o.value : o.error.name))).toEqual(['NotConnectedError']);
    expect(t.emitted.filter((e) => e.type === 'linkLost').at(-1)).toEqual({
      type: 'linkLost',
      graceful: true,
      error: undefined,
      requested: true,
    });
  });

  it('routes a reply to the operation that owns its query id, and forgets the operation once settled', () => {
    const t = start();
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    t.startOp(1);
    t.startOp(2);
    expect(t.sent.map((b) => b[0])).toEqual([1, 2]);
    t.reply(2);
    expect(t.outcomes).toEqual([
      { ok: true, value: { outcome: 'done', reply: { query_id: qid(2), error_code: 0 } } },
    ]);
    expect(t.stats().operations).toBe(1);
  });

  it('holds an operation started while the link is down and sends it once the session is back', () => {
    const t = start();
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    t.startOp(1);
    expect(t.sent).toEqual([]);
    expect(t.stats().waiting).toBe(1);
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    expect(t.sent.map((b) => b[0])).toEqual([1]);
    expect(t.stats().waiting).toBe(0);
  });

  it('replays in-flight operations byte for byte on a new daemon instance, and resumes them on the same one', () => {
    const t = start();
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    t.startOp(1);
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    t.ready(false);
    expect(t.sent.map((b) => b[0])).toEqual([1]);
    t.report({ type: 'connection.lost', graceful: false, error: undefined, requested: false });
    t.ready(true);
    expect(t.sent.map((b) => b[0])).toEqual([1, 1]);
    expect(
      t.emitted.filter((e) => e.type === 'linkReady').map((e) => (e as { replayed: number }).replayed),
    ).toEqual([0, 0, 1]);
  });

  it('close ends every operation as closed and sends thin_close through the connection', () => {
    const t = start();
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    t.startOp(1);
    t.actor.send({ type: 'client.close' });
    expect(t.outcomes).toEqual([{ ok: true, value: { outcome: 'closed' } }]);
    expect(t.commands.map((c) => c.type)).toContain('connection.close');
  });

  it('fails with the error of a child that fails as an actor (a bug), stops its other child, and answers the operations in flight as closed', () => {
    const t = start();
    const failures: unknown[] = [];
    // As the facade does: the root's error listener is the one safety net (src/clientSession.ts).
    t.actor.subscribe({ error: (error) => failures.push(error) });
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    t.startOp(1);
    t.startOp(2);
    t.crash();
    // The stopped registry can no longer hear its operations end: it answers them as it stops.
    expect(t.outcomes).toEqual([
      { ok: true, value: { outcome: 'closed' } },
      { ok: true, value: { outcome: 'closed' } },
    ]);
    expect(t.actor.getSnapshot().status).toBe('error');
    expect(failures.map((e) => (e as Error).message)).toEqual(['a bug in the connection']);
    expect(t.actor.system.get('registry')).toBeUndefined();
    expect(t.actor.system.get('connection')).toBeUndefined();
  });

  it('keeps thousands of operations out of its own snapshot: its children are the connection and the registry', () => {
    const t = start();
    t.report({ type: 'connection.message', message: t.status(true) });
    t.ready();
    for (let n = 0; n < 2000; n++) {
      t.actor.system.get('registry')!.send({
        type: 'registry.startOp',
        op: { queryId: `q${n}`, kind: 'encryptedMessage', request: new Uint8Array([1]), cancelKey: `k${n}` },
        respond: () => {},
      });
    }
    expect(t.stats().operations).toBe(2000);
    expect(Object.keys(t.actor.getSnapshot().children).sort()).toEqual(['connection', 'registry']);
    expect(t.actor.system.get('op:q1999')).toBeDefined();
  });
});

/**
 * The connection machine on its own: a stand-in transport that records commands, reports recorded.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import {
  type ConnectionEvent,
  type ConnectionReport,
  connectionMachine,
  needsReplay,
  type TransportCommand,
} from '../../../machines/connection.js';

const token = (n: number) => new Uint8Array(16).fill(n);
const msg = (key: string, body: object = {}): ConnectionEvent =>
  ({ type: 'transport.message', message: { key, body } }) as ConnectionEvent;

function start(reconnect = {}) {
  const commands: TransportCommand[] = [];
  const reports: ConnectionReport[] = [];
  const clock = new SimulatedClock();
  const actor = createActor(
    connectionMachine.provide({
      actors: {
        transport: fromCallback<TransportCommand>(({ receive }) => {
          receive((c) => commands.push(c));
        }) as never,
      },
      actions: { report: (_, params: ConnectionReport) => void reports.push(params) },
    }),
    {
      input: {
        dial: { type: 'tcp', address: 'x:1' },
        clientToken: token(3),
        reconnect: { jitter: 0, ...reconnect },
      },
      clock,
    },
  );
  actor.start();
  const handshake = (instance: number, resumed: boolean) => {
    actor.send({ type: 'transport.open' });
    actor.send(msg('connection_status_event', { is_connected: true, instance_token: token(instance) }));
    actor.send(msg('new_pki_document_event'));
    actor.send(msg('session_token_reply', { app_id: token(9), resumed }));
  };
  return { actor, commands, reports, clock, handshake };
}

describe('connection machine', () => {
  it('sends the session token only after the status event and the document', () => {
    const t = start();
    t.actor.send({ type: 'transport.open' });
    t.actor.send(msg('connection_status_event', { instance_token: token(1) }));
    expect(t.commands).toEqual([]);
    t.actor.send(msg('new_pki_document_event'));
    expect(t.commands).toEqual([
      {
        type: 'transport.send',
        message: { key: 'session_token', body: { client_instance_token: token(3) } },
      },
    ]);
  });

  it('forwards every frame before session_token_reply, in order, then reports ready', () => {
    const t = start();
    t.actor.send({ type: 'transport.open' });
    t.actor.send(msg('connection_status_event', { instance_token: token(1) }));
    t.actor.send(msg('new_pki_document_event'));
    t.actor.send(msg('message_reply_event', { surbid: token(4) }));
    t.actor.send(msg('connection_status_event', { instance_token: token(1), is_connected: false }));
    t.actor.send(msg('session_token_reply', { resumed: false }));
    expect(t.reports.map((r) => (r.type === 'connection.message' ? r.message.key : r.type))).toEqual([
      'connection_status_event',
      'new_pki_document_event',
      'message_reply_event',
      'connection_status_event',
      'connection.ready',
    ]);
    expect(t.actor.getSnapshot().value).toEqual({ online: 'ready' });
  });

  it('replays only when the instance token changed, the session was not resumed, or frames were lost', () => {
    const base = { everReady: true, sessionInstanceToken: 'a', instanceToken: 'a', framesLost: false };
    expect(needsReplay(base, true)).toBe(false);
    expect(needsReplay({ ...base, instanceToken: 'b' }, true)).toBe(true);
    expect(needsReplay(base, false)).toBe(true);
    expect(needsReplay({ ...base, framesLost: true }, true)).toBe(true);
    expect(needsReplay({ ...base, everReady: false, instanceToken: 'b' }, false)).toBe(false);
  });

  it('a lost socket reports daemonDisconnected-style facts and backs off before redialling', () => {
    const t = start({ initialDelayMs: 500 });
    t.handshake(1, false);
    t.actor.send(msg('shutdown_event'));
    t.actor.send({ type: 'transport.closed' });
    expect(t.reports.at(-1)).toEqual({
      type: 'connection.lost',
      graceful: true,
      error: undefined,
      requested: false,
    });
    expect(t.actor.getSnapshot().value).toBe('backoff');
    t.clock.increment(499);
    expect(t.actor.getSnapshot().value).toBe('backoff');
    t.clock.increment(1);
    expect(t.actor.getSnapshot().value).toEqual({ online: { connecting: 'dialing' } });
    t.handshake(2, false);
    expect(t.reports.at(-1)).toMatchObject({ type: 'connection.ready', replay: true, first: false });
  });

  it('the first dial failing is final; after a session it is only a reason to back off', () => {
    const first = start();
    first.actor.send({ type: 'transport.closed', error: new Error('ECONNREFUSED') });
    expect(first.actor.getSnapshot().status).toBe('done');
    expect(first.reports).toEqual([{ type: 'connection.failed', error: new Error('ECONNREFUSED') }]);
  });

  it('close sends thin_close and ends the socket, then waits for it to close', () => {
    const t = start();
    t.handshake(1, false);
    t.actor.send({ type: 'connection.close' });
    expect(t.commands.slice(-2)).toEqual([
      { type: 'transport.send', message: { key: 'thin_close', body: {} } },
      { type: 'transport.end' },
    ]);
    expect(t.actor.getSnapshot().value).toEqual({ online: 'closing' });
    t.actor.send({ type: 'transport.closed' });
    expect(t.actor.getSnapshot().status).toBe('done');
  });

  it('disconnect drops the socket without thin_close and stays down until told to connect', () => {
    const t = start();
    t.handshake(1, false);
    t.actor.send({ type: 'connection.disconnect' });
    expect(t.commands.some((c) => c.type === 'transport.send' && c.message.key === 'thin_close')).toBe(false);
    expect(t.actor.getSnapshot().value).toBe('disconnected');
    t.clock.increment(3_600_000);
    expect(t.actor.getSnapshot().value).toBe('disconnected');
    t.actor.send({ type: 'connection.connect' });
    t.handshake(1, true);
    expect(t.reports.at(-1)).toMatchObject({ type: 'connection.ready', resumed: true, replay: false });
  });

  it('a handshake that never finishes times out', () => {
    const t = start();
    t.actor.send({ type: 'transport.open' });
    t.clock.increment(60_000);
    expect(t.actor.getSnapshot().value).toBe('failed');
  });
});

/**
 * Model-based test of machines/connection.ts.
 *
 * The model is the pure connection machine; `xstate/graph` generates shortest paths to every
 * abstract state and to every (state, event, state) edge. Each path is then run against the real
 * thing: the wired connection machine with the socket transport, dialing a scripted daemon that
 * sends exactly the frames the path names. After every step the real actor must be in the model's
 * state, with the model's context and the same reports to its parent, step for step. This is the
 * frame-exact conformance test; the coverage line counts only devnet runs (machines.model.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { wiredConnectionMachine } from '../../actors/wiring.js';
import {
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionInput,
  type ConnectionReport,
  connectionMachine,
  reconnectDelay,
} from '../../machines/connection.js';
import { encodeResponse } from '../../src/wire/index.js';
import { ScriptedDaemon } from '../helpers/scriptedDaemon.js';
import { tokens } from './devnet/connectionModel.js';

const token = (n: number) => new Uint8Array(16).fill(n);
const message = (key: string, body: object): ConnectionEvent =>
  ({ type: 'transport.message', message: { key, body } }) as ConnectionEvent;

const HANDSHAKE_TIMEOUT = 30_000;
const CLOSE_TIMEOUT = 2000;
const RECONNECT = { initialDelayMs: 1000, maxDelayMs: 4000, factor: 2, jitter: 0, maxAttempts: 1 };

/** Everything that can happen to a connection: daemon frames, socket fates, parent commands, timers. */
const EVENTS: ConnectionEvent[] = [
  { type: 'transport.open' },
  message('connection_status_event', { is_connected: true, instance_token: token(1) }),
  message('connection_status_event', { is_connected: false, instance_token: token(2) }),
  message('new_pki_document_event', {}),
  message('session_token_reply', { app_id: token(9), resumed: true }),
  message('session_token_reply', { app_id: token(9), resumed: false }),
  message('shutdown_event', {}),
  message('new_keypair_reply', { query_id: token(5), error_code: 0 }),
  { type: 'transport.protocolError', error: new Error('unreadable frame') },
  { type: 'transport.closed' },
  { type: 'connection.connect' },
  { type: 'connection.disconnect' },
  { type: 'connection.close' },
  { type: 'xstate.after.reconnectDelay.connection.backoff' } as never,
  { type: 'xstate.after.handshakeTimeout.connection.online.connecting' } as never,
  { type: 'xstate.after.closeTimeout.connection.online.closing' } as never,
];

type Snapshot = { value: unknown; context: ConnectionContext };

/** The part of a snapshot the test compares: state, counters, flags, token relation. */
const abstractState = (s: Snapshot) => ({
  value: s.value,
  attempt: s.context.attempt,
  everReady: s.context.everReady,
  graceful: s.context.graceful,
  framesLost: s.context.framesLost,
  tokens: tokens(s.context),
});

const eventName = (e: ConnectionEvent | undefined): string => {
  if (!e) return 'init';
  if (e.type !== 'transport.message') return e.type;
  const body = e.message.key === 'unknown' ? {} : (e.message.body as Record<string, unknown>);
  return `${e.message.key}${(body.instance_token as Uint8Array | undefined)?.[0] ?? ''}${body.resumed ?? ''}`;
};

const DIALING = JSON.stringify({ online: { connecting: 'dialing' } });
const TIMERS: Record<string, (value: string) => boolean> = {
  'xstate.after.reconnectDelay.connection.backoff': (v) => v === '"backoff"',
  'xstate.after.handshakeTimeout.connection.online.connecting': (v) =>
    v.startsWith('{"online":{"connecting"'),
  'xstate.after.closeTimeout.connection.online.closing': (v) => v === '{"online":"closing"}',
};

/**
 * Events the real system can produce in a state: frames only on an open socket, `open` only while
 * dialing, a timer only where it is armed, and after a protocol error nothing but the close that
 * the transport sends right behind it.
 */
const realizable = (s: Snapshot & { status?: string }, e: ConnectionEvent) => {
  if (s.status !== 'active') return false;
  const value = JSON.stringify(s.value);
  const online = value.startsWith('{"online"');
  if (online && s.context.lastError) return e.type === 'transport.closed';
  const timer = TIMERS[e.type];
  if (timer) return timer(value);
  if (!e.type.startsWith('transport.')) return true;
  if (!online) return false;
  if (value === DIALING) return e.type === 'transport.open' || e.type === 'transport.closed';
  return e.type !== 'transport.open';
};

const input: Omit<ConnectionInput, 'dial'> = {
  clientToken: token(3),
  reconnect: RECONNECT,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT,
  closeTimeoutMs: CLOSE_TIMEOUT,
};

const modelMachine = connectionMachine.provide({
  actors: { transport: fromCallback(() => () => {}) as never },
  actions: { report: () => {} },
});

// createTestModel refuses machines that invoke actors, so the paths come from getShortestPaths.
const traversal = {
  events: EVENTS,
  filterEvents: realizable as never,
  input: { dial: { type: 'tcp' as const, address: '127.0.0.1:1' }, ...input },
};

const byState = getShortestPaths(modelMachine, {
  ...traversal,
  serializeState: (s) => JSON.stringify(abstractState(s as unknown as Snapshot)),
});
const byEdge = getShortestPaths(modelMachine, {
  ...traversal,
  serializeState: (s, e, prev) => {
    // Coarse, but keeping what `realizable` reads (a protocol error awaiting its close).
    const coarse = (x: Snapshot) =>
      JSON.stringify({ v: x.value, r: x.context.everReady, a: x.context.attempt, e: !!x.context.lastError });
    return JSON.stringify([
      prev ? coarse(prev as unknown as Snapshot) : '',
      eventName(e as ConnectionEvent),
      coarse(s as unknown as Snapshot),
    ]);
  },
});
const seen = new Set<string>();
const paths = [...byState, ...byEdge].filter((p) => {
  const key = p.steps.map((s) => eventName(s.event as ConnectionEvent)).join(' → ');
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
});

/** Reports in a comparable form (errors by presence; the socket's exact errno is not the model's). */
function summarize(r: ConnectionReport): Record<string, unknown> {
  switch (r.type) {
    case 'connection.message':
      return { type: r.type, key: r.message.key };
    case 'connection.ready':
      return {
        type: r.type,
        resumed: r.resumed,
        replay: r.replay,
        first: r.first,
        token: r.instanceToken ? Buffer.from(r.instanceToken).toString('hex') : null,
      };
    case 'connection.lost':
      return { type: r.type, graceful: r.graceful, requested: r.requested, error: r.error !== undefined };
    default:
      return { type: r.type };
  }
}

describe('connection machine: generated paths against the socket transport and a scripted daemon', () => {
  it('the model reaches every state of the machine', () => {
    const reached = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const value of [
      { online: { connecting: 'dialing' } },
      { online: { connecting: 'awaitingStatus' } },
      { online: { connecting: 'awaitingDocument' } },
      { online: { connecting: 'awaitingSessionReply' } },
      { online: 'ready' },
      { online: 'closing' },
      'backoff',
      'disconnected',
      'failed',
      'closed',
    ]) {
      expect(reached.has(JSON.stringify(value))).toBe(true);
    }
    const delayed = new Set(
      paths.flatMap((p) => p.steps.map((s) => s.event.type)).filter((t) => t.startsWith('xstate.after')),
    );
    expect(delayed.size).toBe(3);
  });

  for (const path of paths) {
    const steps = (path.steps as unknown as Array<{ event: { type: string }; state: Snapshot }>).filter(
      (s) => s.event.type !== 'xstate.init',
    ) as Array<{ event: ConnectionEvent; state: Snapshot }>;
    it(steps.map((s) => eventName(s.event)).join(' → ') || '(start)', async () => {
      await runPath(steps);
    });
  }
});

async function runPath(steps: Array<{ event: ConnectionEvent; state: Snapshot }>): Promise<void> {
  const daemon = await ScriptedDaemon.start({ manual: true });
  const clock = new SimulatedClock();
  const modelClock = new SimulatedClock();
  const sutReports: Array<Record<string, unknown>> = [];
  const modelReports: Array<Record<string, unknown>> = [];
  const received = new Map<string, number>();
  const count = (type: string) => received.get(type) ?? 0;
  let closedSteps = 0;

  const sut = createActor(
    wiredConnectionMachine().provide({
      actions: { report: (_: unknown, params: ConnectionReport) => void sutReports.push(summarize(params)) },
    }),
    {
      input: { dial: daemon.config.dial, ...input },
      clock,
      inspect: (ev) => {
        if (ev.type === '@xstate.event' && ev.actorRef === sut && ev.event.type.startsWith('transport.')) {
          received.set(ev.event.type, count(ev.event.type) + 1);
        }
      },
    },
  );
  const ref = createActor(
    connectionMachine.provide({
      actors: { transport: fromCallback(() => () => {}) as never },
      actions: {
        report: (_: unknown, params: ConnectionReport) => void modelReports.push(summarize(params)),
      },
    }),
    { input: { dial: daemon.config.dial, ...input }, clock: modelClock },
  );
  sut.subscribe({ error: () => {} });

  const waitFor = async (type: string, n: number) => {
    while (count(type) < n) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Whether the daemon accepts the dial the SUT makes when entering `dialing` before `next`. */
  const arrangeDial = async (next: ConnectionEvent | undefined) => {
    const refuse = next?.type === 'transport.closed';
    if (refuse) await daemon.pause();
    else if (!isListening(daemon)) await daemon.resume();
  };
  const dialing = (s: { value: unknown }) =>
    JSON.stringify(s.value) === JSON.stringify({ online: { connecting: 'dialing' } });

  try {
    await arrangeDial(steps[0]?.event);
    ref.start();
    sut.start();
    for (let i = 0; i < steps.length; i++) {
      const { event, state } = steps[i]!;
      const next = steps[i + 1]?.event;
      const before = ref.getSnapshot();
      if (event.type.startsWith('xstate.after')) {
        const ms = event.type.includes('reconnectDelay')
          ? reconnectDelay(before.context.reconnect, before.context.attempt, 0)
          : event.type.includes('handshakeTimeout')
            ? HANDSHAKE_TIMEOUT
            : CLOSE_TIMEOUT;
        // Entering `dialing` is synchronous; set up the daemon for the dial first.
        if (event.type.includes('reconnectDelay')) await arrangeDial(next);
        modelClock.increment(ms);
        clock.increment(ms);
      } else if (event.type.startsWith('connection.')) {
        if (event.type === 'connection.connect') await arrangeDial(next);
        ref.send(event);
        sut.send(event);
      } else {
        ref.send(event);
        await drive(event, dialing(before));
      }
      if (
        JSON.stringify(before.value) === JSON.stringify({ online: { connecting: 'awaitingDocument' } }) &&
        JSON.stringify(state.value) === JSON.stringify({ online: { connecting: 'awaitingSessionReply' } })
      ) {
        const sent = await daemon.nextRequest('session_token');
        expect(sent.body.client_instance_token).toEqual(input.clientToken);
      }
      // The model replayed on this path is the oracle; the generated step must agree on the state.
      const expected = abstractState(ref.getSnapshot() as unknown as Snapshot);
      expect(expected.value).toEqual(state.value);
      if (event.type === 'transport.protocolError') {
        // The transport closes right behind a protocol error, so the real actor is one step ahead
        // of the model until the model's own transport.closed step.
        expect(sutReports.slice(0, modelReports.length)).toEqual(modelReports);
      } else {
        expect(abstractState(sut.getSnapshot() as unknown as Snapshot)).toEqual(expected);
        expect(sutReports).toEqual(modelReports);
      }
    }
  } finally {
    sut.stop();
    ref.stop();
    await daemon.stop();
  }

  /** Makes the daemon produce `event` at the SUT's transport, then waits until the SUT has it. */
  async function drive(event: ConnectionEvent, wasDialing: boolean): Promise<void> {
    switch (event.type) {
      case 'transport.open':
        await waitFor('transport.open', count('transport.open') + 1);
        return;
      case 'transport.message': {
        const n = count('transport.message');
        const m = event.message as { key: string; body: object };
        daemon.current.sendBody(encodeResponse(m.key as never, m.body as never));
        await waitFor('transport.message', n + 1);
        return;
      }
      case 'transport.protocolError': {
        const n = count('transport.protocolError');
        daemon.current.sendBody(new Uint8Array([0xff, 0x00]));
        await waitFor('transport.protocolError', n + 1);
        return;
      }
      case 'transport.closed': {
        closedSteps++;
        // After a protocol error the transport has closed already; a refused dial closes by itself.
        if (count('transport.closed') < closedSteps && !wasDialing) daemon.current.drop();
        await waitFor('transport.closed', closedSteps);
        return;
      }
    }
  }
}

function isListening(daemon: ScriptedDaemon): boolean {
  return (daemon as unknown as { server: { listening: boolean } }).server.listening;
}

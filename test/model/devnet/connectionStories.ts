/**
 * The connection machine (machines/connection.ts) over the devnet: stories the client and ARQ paths
 * do not tell, each run by a ThinClient's real connection actor on a fresh devnet whose handshake
 * fault knobs (stallHandshakes, ignoreThinClose), restarts, mixnet link and epochs make the
 * daemon's side happen, and whose own simulated clock fires the handshake, backoff and close timers.
 * Each story lists the connection model's events; the pure machine replays them, and the real actor
 * must pass through the same states and end where the model ends.
 */
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, type InspectionEvent, SimulatedClock } from 'xstate';
import { type ConnectionEvent, connectionMachine } from '../../../machines/connection.js';
import { type Devnet, startDevnet, VirtualClock } from '../../../src/devnet/index.js';
import { ThinClient } from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import type { Unreachable } from '../coverage.js';
import { coverage, probeInspect } from './probe.js';

const TRANSPORT_NEVER_THROWS =
  'the socket transport (actors/transport.ts) reports every failure (a refused dial, a socket error, an unreadable frame) as transport.closed and never throws, so no error event of the transport actor can arise; these transitions guard a replacement transport';

export const CONNECTION_UNREACHABLE: Unreachable[] = [
  ...[
    'connection.online xstate.error.actor.transport #0',
    'connection.online xstate.error.actor.transport #1',
    'connection.online.ready xstate.error.actor.transport #0',
    'connection.online.closing xstate.error.actor.transport #0',
  ].map((transition) => ({ transition, reason: TRANSPORT_NEVER_THROWS })),
  {
    transition: 'connection.online.connecting.awaitingDocument transport.message #3',
    reason:
      'before a session exists the daemon sends only status events, documents and shutdown_event, and the client sends no request that could be answered',
  },
  {
    transition: 'connection.online.ready transport.message #2',
    reason: 'the client sends one session_token per connection, and the daemon answers it once',
  },
  {
    transition: 'connection.online.ready connection.send #0',
    reason:
      'the registry writes requests straight to the transport actor (actors/registry.ts transmit), so nothing sends connection.send',
  },
  {
    transition: 'connection.online.closing connection.close #0',
    reason: 'the client machine tells the connection to close once, on entering work.closing',
  },
  {
    transition: 'connection.online.closing connection.disconnect #0',
    reason: 'the client machine forwards disconnect() only while accepting work, never while closing',
  },
];

const HANDSHAKE_MS = 30_000;
const CLOSE_MS = 2000;
const RECONNECT = { initialDelayMs: 1000, maxDelayMs: 1000, factor: 1, jitter: 0, maxAttempts: 3 };
const EPOCH_MS = 120_000;

const msg = (key: string, body: object = {}): ConnectionEvent =>
  ({ type: 'transport.message', message: { key, body } }) as ConnectionEvent;
const status = (up: boolean) =>
  msg('connection_status_event', { is_connected: up, instance_token: new Uint8Array(16) });
const doc = msg('new_pki_document_event');
const sessionReply = msg('session_token_reply', { app_id: new Uint8Array(16), resumed: false });
const shutdown = msg('shutdown_event');
const open: ConnectionEvent = { type: 'transport.open' };
const closed = { type: 'transport.closed' } as ConnectionEvent;
const after = (name: string) => ({ type: `xstate.after.${name}` }) as unknown as ConnectionEvent;
const handshakeTimeout = after('handshakeTimeout.connection.online.connecting');
const backoffDelay = after('reconnectDelay.connection.backoff');
const closeTimeout = after('closeTimeout.connection.online.closing');
const handshake = [open, status(true), doc, sessionReply];

/** The states the pure machine passes through on `events` (timers fired by a simulated clock). */
function modelValues(events: ConnectionEvent[]): string[] {
  const clock = new SimulatedClock();
  const actor = createActor(
    connectionMachine.provide({
      actors: { transport: fromCallback(() => () => {}) as never },
      actions: { report: () => {} },
    }),
    {
      clock,
      input: {
        dial: { type: 'tcp', address: '127.0.0.1:1' },
        clientToken: new Uint8Array(16),
        reconnect: RECONNECT,
        handshakeTimeoutMs: HANDSHAKE_MS,
        closeTimeoutMs: CLOSE_MS,
      },
    },
  );
  const values: string[] = [];
  actor.subscribe((s) => {
    const v = JSON.stringify(s.value);
    if (values.at(-1) !== v) values.push(v);
  });
  actor.start();
  for (const e of events) {
    if (e.type === handshakeTimeout.type) clock.increment(HANDSHAKE_MS);
    else if (e.type === backoffDelay.type) clock.increment(RECONNECT.initialDelayMs);
    else if (e.type === closeTimeout.type) clock.increment(CLOSE_MS);
    else actor.send(e);
  }
  actor.stop();
  return values;
}

/** A devnet, a client dialing it on a simulated clock, and what its connection actor did. */
class ConnOnDevnet {
  readonly clock = new SimulatedClock();
  readonly values: string[] = [];
  readonly frames: string[] = [];
  client: ThinClient | undefined;
  connected: Promise<ThinClient>;

  private constructor(readonly net: Devnet) {
    this.connected = ThinClient.connect(net.thinClientConfig, {
      clock: this.clock,
      reconnect: RECONNECT,
      handshakeTimeoutMs: HANDSHAKE_MS,
      inspect: probeInspect((e) => this.watch(e)),
    });
    this.connected.then(
      (c) => {
        this.client = c;
      },
      () => {},
    );
  }

  static async start(firstDialStalls: boolean): Promise<ConnOnDevnet> {
    const net = await startDevnet({
      authorityScheme: 'Ed25519',
      clock: new VirtualClock(),
      timing: { epochMs: EPOCH_MS },
      // The stories stall the daemon's own handshake for whole epochs; the devnet's idle-socket
      // timeout would otherwise close the (blameless, silent) client socket first.
      limits: { handshakeTimeoutMs: Number.POSITIVE_INFINITY },
    });
    if (firstDialStalls) net.stallHandshakes('status');
    return new ConnOnDevnet(net);
  }

  private watch(e: InspectionEvent) {
    if ((e.actorRef as AnyActorRef & { systemId?: string }).systemId !== 'connection') return;
    if (e.type === '@xstate.event' && e.event.type === 'transport.message')
      this.frames.push(e.event.message.key);
    const value = (e as { snapshot?: { value?: unknown } }).snapshot?.value;
    if (value === undefined) return;
    const v = JSON.stringify(value);
    if (this.values.at(-1) !== v) this.values.push(v);
  }

  /** Waits until the connection actor is in `value` (JSON of a state value, or a leaf name). */
  reach(leaf: string): Promise<void> {
    return until(() => (this.values.at(-1) ?? '').includes(`"${leaf}"`));
  }

  /** Waits for one more frame of `key` at the connection. */
  async frame(key: string, cause: () => unknown): Promise<void> {
    const n = this.frames.filter((k) => k === key).length;
    await cause();
    await until(() => this.frames.filter((k) => k === key).length > n);
  }

  /** A new epoch: the devnet broadcasts its document. */
  newEpoch(): Promise<void> {
    return this.frame('new_pki_document_event', () => (this.net.clock as VirtualClock).advance(EPOCH_MS));
  }

  mixnet(up: boolean): Promise<void> {
    return this.frame('connection_status_event', () => this.net.setMixnetConnected(up));
  }

  async stop(): Promise<void> {
    await this.client?.close();
    await this.net.stop();
  }
}

interface Story {
  name: string;
  /** The first dial's handshake stalls before the status event. */
  firstDialStalls?: boolean;
  events: ConnectionEvent[];
  run: (h: ConnOnDevnet) => Promise<void>;
}

const STORIES: Story[] = [
  {
    name: 'first dial: status stalled, a document, then the handshake times out',
    firstDialStalls: true,
    events: [open, doc, handshakeTimeout],
    async run(h) {
      await h.reach('awaitingStatus');
      await h.newEpoch();
      h.clock.increment(HANDSHAKE_MS);
      await expect(h.connected).rejects.toThrow();
    },
  },
  {
    name: 'first dial: a status broadcast, another, then a restart ends it before any session',
    firstDialStalls: true,
    events: [open, status(false), status(true), shutdown, closed],
    async run(h) {
      await h.reach('awaitingStatus');
      await h.mixnet(false);
      await h.reach('awaitingDocument');
      await h.mixnet(true);
      await h.net.restartDaemon();
      await expect(h.connected).rejects.toThrow();
    },
  },
  {
    name: 'first dial: status stalled, and a restart says shutdown',
    firstDialStalls: true,
    events: [open, shutdown, closed],
    async run(h) {
      await h.reach('awaitingStatus');
      await h.net.restartDaemon();
      await expect(h.connected).rejects.toThrow();
    },
  },
  {
    name: 'a redial stalls for its session reply, hears a status and a document, and times out',
    events: [
      ...handshake,
      closed,
      backoffDelay,
      open,
      status(true),
      doc,
      status(false),
      doc,
      handshakeTimeout,
    ],
    async run(h) {
      await h.connected;
      h.net.stallHandshakes('sessionReply');
      h.net.dropConnections();
      await h.reach('backoff');
      h.clock.increment(RECONNECT.initialDelayMs);
      await h.reach('awaitingSessionReply');
      await h.mixnet(false);
      await h.newEpoch();
      h.clock.increment(HANDSHAKE_MS);
      await h.reach('backoff');
    },
  },
  {
    name: 'disconnect() while a redial waits for the document, then reconnect()',
    events: [
      ...handshake,
      closed,
      backoffDelay,
      open,
      status(true),
      { type: 'connection.disconnect' },
      { type: 'connection.connect' },
      ...handshake,
    ],
    async run(h) {
      const client = await h.connected;
      h.net.stallHandshakes('document');
      h.net.dropConnections();
      await h.reach('backoff');
      h.clock.increment(RECONNECT.initialDelayMs);
      await h.reach('awaitingDocument');
      await client.disconnect();
      await h.reach('disconnected');
      h.net.stallHandshakes(null);
      await client.reconnect();
      await h.reach('ready');
    },
  },
  {
    name: 'reconnect() and disconnect() during the backoff',
    events: [
      ...handshake,
      closed,
      { type: 'connection.connect' },
      ...handshake,
      closed,
      { type: 'connection.disconnect' },
      { type: 'connection.close' },
    ],
    async run(h) {
      const client = await h.connected;
      h.net.dropConnections();
      await h.reach('backoff');
      await client.reconnect();
      await h.reach('ready');
      h.net.dropConnections();
      await h.reach('backoff');
      await client.disconnect();
      await h.reach('disconnected');
      await client.close();
      await h.reach('closed');
    },
  },
  {
    name: 'close() while the redial is still dialing',
    events: [...handshake, closed, backoffDelay, { type: 'connection.close' }],
    async run(h) {
      const client = await h.connected;
      h.net.dropConnections();
      await h.reach('backoff');
      h.clock.increment(RECONNECT.initialDelayMs);
      // In the same tick: the socket has not connected yet.
      const closing = client.close();
      expect(h.values.at(-1)).toBe('"closed"');
      await closing;
    },
  },
  {
    name: 'close() to a daemon that keeps the socket: a status arrives, then the close times out',
    events: [...handshake, { type: 'connection.close' }, status(false), closeTimeout],
    async run(h) {
      const client = await h.connected;
      h.net.ignoreThinClose(true);
      const closing = client.close();
      await h.reach('closing');
      await h.mixnet(false);
      h.clock.increment(CLOSE_MS);
      await closing;
      await h.reach('closed');
    },
  },
];

const subsequence = (want: string[], got: string[]) => {
  let i = 0;
  for (const g of got) if (g === want[i]) i++;
  return i === want.length;
};

export function describeConnectionStories(): void {
  describe('connection machine: stories over the devnet, replayed on the model', () => {
    for (const story of STORIES) {
      it(story.name, async () => {
        coverage.connection.ranPath([story.name]);
        const expected = modelValues(story.events);
        const h = await ConnOnDevnet.start(story.firstDialStalls ?? false);
        try {
          await story.run(h);
          expect(
            subsequence(expected, h.values),
            `${h.values.join(' ')}\nvs model ${expected.join(' ')}`,
          ).toBe(true);
          expect(h.values.at(-1)).toBe(expected.at(-1));
        } finally {
          await h.stop();
        }
      });
    }
  });
}

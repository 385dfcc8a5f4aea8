/**
 * Model-based paths of machines/client.ts over the devnet (run by test/model/machines.model.test.ts).
 *
 * xstate/graph generates shortest paths (and a bounded set of simple paths) through the client
 * machine, with its connection and registry stubbed, over the events the outside world can cause.
 * Each path then runs against a real ThinClient on the real socket transport, dialing a fresh
 * devnet (instant profile), and each model event becomes a fault knob or an API call: a dropped
 * socket, a daemon restart with a new instance token (while connected, and while disconnected), the
 * mixnet going down and up (also before a dial, which then hears it down), disconnect() (twice),
 * reconnect(), close(), and the devnet going away for good (the redial budget runs out, while
 * redialling or after reconnect()). In every
 * state a real ARQ write is started: it completes where the link is ready, and is cancelled where it
 * is not. Knobs added for this: an unreadable frame (`sendUnreadableFrame`), an echo through the
 * mixnet (a SURB reply), and a redial whose handshake stalls after the status event
 * (`stallHandshakes('sessionReply')`) before the devnet goes away.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, fromCallback, type InspectionEvent } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { type ClientEvent, clientMachine } from '../../../machines/client.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import {
  ClientClosedError,
  ConnectionLostError,
  NotConnectedError,
  OperationCancelledError,
  ThinClient,
} from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import type { Unreachable } from '../coverage.js';
import { coverage, probeInspect } from './probe.js';
import { sample } from './sample.js';

/**
 * Reviewed: transitions of the client machine no path can take. None: the machine has no handler
 * for a child failing as an actor (only a bug can; the facade's error listener on the root is the
 * one net for that) and no route for replies (the transport hands them to the registry).
 */
export const CLIENT_UNREACHABLE: Unreachable[] = [];

// ---- the model ---------------------------------------------------------------------------------

type Knob =
  | 'dialStatus'
  | 'connect'
  | 'connectOffline'
  | 'drop'
  | 'restart'
  | 'disconnect'
  | 'disconnectAgain'
  | 'reconnect'
  | 'reconnectOffline'
  | 'restartReconnect'
  | 'redialled'
  | 'redialledOffline'
  | 'mixnetDown'
  | 'mixnetUp'
  | 'close'
  | 'gaveUp'
  | 'reconnectGaveUp'
  | 'garbage'
  | 'echo';

const status = (connected: boolean): ClientEvent => ({
  type: 'connection.message',
  message: { key: 'connection_status_event', body: { is_connected: connected } } as never,
});
const ready: ClientEvent = {
  type: 'connection.ready',
  instanceToken: null,
  appId: null,
  resumed: true,
  replay: false,
  first: false,
};
/** Ready on a new daemon instance (it restarted while the client was disconnected). */
const readyOnNewInstance: ClientEvent = { ...ready, resumed: false, replay: true };
const protocolError: ClientEvent = { type: 'connection.protocolError', error: new Error('unreadable frame') };
const surbReply = {
  type: 'connection.message',
  message: { key: 'message_reply_event', body: { surbid: new Uint8Array(16) } },
} as unknown as ClientEvent;
const lost = (requested: boolean, restart = false): ClientEvent => ({
  type: 'connection.lost',
  graceful: restart,
  error: undefined,
  requested,
});

const dialing = (v: Value) => v.link === 'connecting' || v.link === 'down' || v.link === 'disconnected';

/**
 * The model's events, each with the knob that causes it in a state (none: not realizable there).
 * Every dial starts with the daemon's status (the devnet's mixnet is up then), and only then the
 * session is ready; `dialStatus` is that first half, which the next knob brings about.
 */
const EVENTS: { event: ClientEvent; knob: (value: Value) => Knob | undefined }[] = [
  {
    event: status(true),
    knob: (v) =>
      dialing(v) && v.mixnet === 'offline'
        ? 'dialStatus'
        : v.link === 'ready' && v.mixnet === 'offline'
          ? 'mixnetUp'
          : undefined,
  },
  {
    event: ready,
    // Without the status step before it, the dial heard that the mixnet is down.
    knob: (v) =>
      (
        ({
          connecting: ['connect', 'connectOffline'],
          down: ['redialled', 'redialledOffline'],
          disconnected: ['reconnect', 'reconnectOffline'],
        }) as Record<string, [Knob, Knob]>
      )[v.link]?.[v.mixnet === 'connected' ? 0 : 1],
  },
  {
    event: readyOnNewInstance,
    knob: (v) => (v.link === 'disconnected' && v.mixnet === 'connected' ? 'restartReconnect' : undefined),
  },
  { event: lost(false), knob: (v) => (v.link === 'ready' ? 'drop' : undefined) },
  { event: lost(false, true), knob: (v) => (v.link === 'ready' ? 'restart' : undefined) },
  { event: lost(true), knob: (v) => (v.link === 'ready' ? 'disconnect' : undefined) },
  {
    event: status(false),
    knob: (v) => (v.link === 'ready' && v.mixnet === 'connected' ? 'mixnetDown' : undefined),
  },
  // disconnect() once more: nothing to drop.
  {
    event: { type: 'client.disconnect' },
    knob: (v) => (v.link === 'disconnected' && v.mixnet === 'offline' ? 'disconnectAgain' : undefined),
  },
  {
    event: { type: 'client.close' },
    knob: (v) => (v.link === 'connecting' || (dialing(v) && v.mixnet === 'connected') ? undefined : 'close'),
  },
  {
    event: { type: 'connection.failed', error: new Error('gave up') },
    // With the mixnet offline the devnet goes away; connected, the redial that heard it stalls first.
    // Disconnected, reconnect() dials a devnet that has gone.
    knob: (v) =>
      v.link === 'down'
        ? 'gaveUp'
        : v.link === 'disconnected' && v.mixnet === 'offline'
          ? 'reconnectGaveUp'
          : undefined,
  },
  // An unreadable frame; the transport then closes, so a drop follows it on every path (below).
  { event: protocolError, knob: (v) => (v.link === 'ready' ? 'garbage' : undefined) },
  { event: surbReply, knob: (v) => (v.link === 'ready' && v.mixnet === 'connected' ? 'echo' : undefined) },
];

type Value = { link: string; mixnet: string; work: string };
const liveValue = (s: { value: unknown; status?: string }): Value | undefined => {
  const v = s.value as { live?: Value } | string;
  return typeof v === 'object' && v.live ? v.live : undefined;
};
const knobOf = (s: { value: unknown; status?: string }, e: ClientEvent): Knob | undefined => {
  const v = liveValue(s);
  if (!v || v.work === 'closing') return undefined;
  const entry = EVENTS.find((x) => x.event === e);
  return entry?.knob(v);
};

const model = clientMachine.provide({
  actors: {
    connection: fromCallback(() => () => {}) as never,
    registry: fromCallback(() => () => {}) as never,
  },
});
// The connection stub ends when closing; the model says so with its done event.
const done = { type: 'xstate.done.actor.connection' } as unknown as ClientEvent;
const traversal = {
  events: (s: { value: unknown }) => {
    const v = liveValue(s);
    // The connection actor ends after closing and after giving up; the client then closes.
    if (v?.work === 'closing' || v?.link === 'failed') return [done];
    return EVENTS.map((x) => x.event).filter((e) => knobOf(s, e) !== undefined);
  },
  serializeState: (s: { value: unknown }) => JSON.stringify(s.value),
  serializeEvent: (e: { type: string }) => JSON.stringify(e),
  input: {
    connection: { dial: { type: 'tcp', address: '127.0.0.1:1' }, clientToken: new Uint8Array(16) },
    registry: {},
  },
} as never;

type Step = { event: { type: string }; state: { value: unknown } };
const stepsOf = (p: { steps: unknown[] }) =>
  (p.steps as Step[]).filter((s) => s.event.type !== 'xstate.init');
const knobsOf = (steps: Step[]): Knob[] => {
  const out: Knob[] = [];
  let prev: { value: unknown } = {
    value: { live: { link: 'connecting', mixnet: 'offline', work: 'accepting' } },
  };
  for (const s of steps) {
    if (s.event.type !== 'xstate.done.actor.connection') out.push(knobOf(prev, s.event as ClientEvent)!);
    prev = s.state;
  }
  return out;
};

const shortest = getShortestPaths(model, traversal);
// The shortest path to every edge (state, event, state): a redial and a reconnect lead back to ready.
const byEdge = getShortestPaths(model, {
  ...(traversal as object),
  serializeState: (
    s: { value: unknown },
    e: { type: string } | undefined,
    prev: { value: unknown } | undefined,
  ) => JSON.stringify([prev?.value ?? null, e ? JSON.stringify(e) : null, s.value]),
} as never);
// Longer stories: a seeded sample of the simple paths of up to six steps.
const simple = sample(
  getSimplePaths(model, traversal).filter((p) => stepsOf(p).length <= 6),
  20,
  'client',
);
const seen = new Set<string>();
/** What the devnet can run: a drop right behind every unreadable frame, no path ending half-redialled. */
const runnable = (knobs: Knob[]) =>
  knobs.length > 0 &&
  knobs.at(-1) !== 'dialStatus' &&
  knobs.every((k, i) => k !== 'garbage' || knobs[i + 1] === undefined || knobs[i + 1] === 'drop');
const paths = [...shortest, ...byEdge, ...simple]
  .map(stepsOf)
  .filter((steps) => runnable(knobsOf(steps)))
  .filter((steps) => {
    const key = knobsOf(steps).join(' → ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
const KNOBS: Knob[] = [
  'connect',
  'connectOffline',
  'drop',
  'restart',
  'disconnect',
  'disconnectAgain',
  'reconnect',
  'reconnectOffline',
  'restartReconnect',
  'redialled',
  'redialledOffline',
  'mixnetDown',
  'mixnetUp',
  'close',
  'gaveUp',
  'reconnectGaveUp',
  'garbage',
  'echo',
];
/** Whether the next dial hears that the mixnet is down. */
const offlineDial = (rest: Knob[]) =>
  rest[0] === 'connectOffline' || rest[0] === 'redialledOffline' || rest[0] === 'reconnectOffline';

// ---- the system under test -------------------------------------------------------------------

const text = (s: string) => new TextEncoder().encode(s);

/** A real client on a fresh devnet; the knobs; and what the client's actors did. */
class Sut {
  client!: ThinClient;
  private readonly links: string[] = [];
  private constructor(readonly net: Devnet) {}

  static async start(): Promise<Sut> {
    const net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
    });
    return new Sut(net);
  }

  private readonly received: string[] = [];
  private observe = (ev: InspectionEvent) => {
    if ((ev.actorRef as AnyActorRef & { systemId?: string }).systemId !== 'client') return;
    if (ev.type === '@xstate.event') this.received.push(ev.event.type);
    const v = liveValue(
      ((ev as { snapshot?: { value: unknown } }).snapshot ?? { value: undefined }) as never,
    );
    if (v && this.links.at(-1) !== v.link) this.links.push(v.link);
  };

  async connect(): Promise<void> {
    this.client = await ThinClient.connect(this.net.thinClientConfig, {
      reconnect: { initialDelayMs: 20, factor: 1, jitter: 0, maxAttempts: 2 },
      inspect: probeInspect(this.observe),
    });
  }

  value(): Value | undefined {
    return liveValue(this.client.actorRef.getSnapshot() as never);
  }

  private last: Knob | undefined;

  /** Runs a knob; resolves once the client has seen its effect. `rest` are the path's later knobs. */
  async apply(knob: Knob, rest: Knob[]): Promise<void> {
    const from = this.links.length;
    const reached = (link: string) => until(() => this.links.slice(from).includes(link));
    const last = this.last;
    this.last = knob;
    switch (knob) {
      case 'dialStatus':
        // Before giving up with the mixnet up, the redial has heard the status and stalls.
        if (rest[0] === 'gaveUp') await until(() => this.value()?.mixnet === 'connected');
        return;
      case 'connect':
        await this.connect();
        return;
      case 'connectOffline':
        this.net.setMixnetConnected(false);
        await this.connect();
        return;
      case 'drop':
      case 'restart':
        // A redial hears the mixnet up, unless the model's next step says it heard it down.
        this.net.setMixnetConnected(!offlineDial(rest));
        // The transport closes by itself right behind an unreadable frame.
        if (last === 'garbage') return reached('down');
        if (rest[0] === 'dialStatus' && rest[1] === 'gaveUp') this.net.stallHandshakes('sessionReply');
        // Before giving up with the mixnet offline, the devnet goes away for good instead.
        if (rest[0] === 'gaveUp') await this.net.stop();
        else if (knob === 'drop') this.net.dropConnections();
        else await this.net.restartDaemon();
        await reached('down');
        return;
      case 'redialled':
      case 'redialledOffline':
        await until(() => this.value()?.link === 'ready');
        return;
      case 'gaveUp':
        await this.net.stop();
        await reached('failed');
        return;
      case 'disconnect':
        this.net.setMixnetConnected(!offlineDial(rest));
        await this.client.disconnect();
        await reached('disconnected');
        return;
      case 'disconnectAgain': {
        const seen = this.received.length;
        await this.client.disconnect();
        await until(() => this.received.slice(seen).includes('client.disconnect'));
        return;
      }
      case 'restartReconnect': {
        const before = Buffer.from(this.net.instanceToken()).toString('hex');
        await this.net.restartDaemon();
        expect(Buffer.from(this.net.instanceToken()).toString('hex')).not.toBe(before);
        await this.client.reconnect();
        return;
      }
      case 'reconnect':
      case 'reconnectOffline':
        await this.client.reconnect();
        await until(() => this.value()?.link === 'ready');
        return;
      case 'reconnectGaveUp':
        await this.net.stop();
        await expect(this.client.reconnect()).rejects.toBeInstanceOf(ConnectionLostError);
        await reached('failed');
        return;
      case 'mixnetDown':
        this.net.setMixnetConnected(false);
        await until(() => this.value()?.mixnet === 'offline');
        return;
      case 'mixnetUp':
        this.net.setMixnetConnected(true);
        await until(() => this.value()?.mixnet === 'connected');
        return;
      case 'close':
        await this.client.close();
        return;
      case 'garbage': {
        const n = this.received.filter((t) => t === 'connection.protocolError').length;
        this.net.sendUnreadableFrame();
        await until(() => this.received.filter((t) => t === 'connection.protocolError').length > n);
        return;
      }
      case 'echo': {
        const [node, queue] = this.client.getService('echo').toDestination();
        const reply = await this.client.blockingSendMessage(text('echo'), node, queue);
        expect(new TextDecoder().decode(reply.subarray(0, 4))).toBe('echo');
        return;
      }
    }
  }

  /** A real ARQ write in the current state: done where the link is ready, cancelled elsewhere. */
  async writeOrCancel(value: Value | undefined): Promise<void> {
    const client = this.client;
    if (!value || value.link === 'failed' || this.client.actorRef.getSnapshot().status !== 'active') {
      await expect(client.newKeypair(new Uint8Array(randomBytes(32)))).rejects.toBeInstanceOf(Error);
      return;
    }
    // Made in the path's first ready state (every path starts there): later ones may wait for the link.
    this.keys ??= await client.newKeypair(new Uint8Array(randomBytes(32)));
    const keys = this.keys;
    if (value.link === 'ready' && value.mixnet === 'connected') {
      const w = await client.encryptWrite(text('model'), keys.writeCap, keys.firstMessageIndex);
      await client.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w });
      return;
    }
    if (value.link === 'ready') return; // mixnet down: operations fail fast or wait; not this test's concern
    if (value.link === 'disconnected') {
      // After disconnect() nothing waits: a new operation fails at once.
      await expect(this.write()).rejects.toBeInstanceOf(NotConnectedError);
      return;
    }
    // The link is down and redialling: the operation waits, and a cancel ends it.
    const write = this.write();
    await client.cancelResendingEncryptedMessage(this.hash);
    await expect(write).rejects.toBeInstanceOf(OperationCancelledError);
  }

  private write(): Promise<unknown> {
    return this.client.startResendingEncryptedMessage({
      writeCap: this.keys!.writeCap,
      envelopeDescriptor: new Uint8Array(8).fill(1),
      messageCiphertext: new Uint8Array(64).fill(2),
      envelopeHash: this.hash,
    });
  }

  private keys: Awaited<ReturnType<ThinClient['newKeypair']>> | undefined;
  private readonly hash = new Uint8Array(randomBytes(32));

  async stop(): Promise<void> {
    await this.client?.close();
    await this.net.stop();
  }
}

/** The client machine's paths, each on a fresh devnet; the coverage line is printed by the caller. */
export function describeClientPaths(): void {
  describe('client machine: generated paths against a ThinClient on the devnet, driven by its fault knobs', () => {
    it('has paths for every knob', () => {
      const used = new Set(paths.flatMap(knobsOf));
      for (const k of KNOBS) expect(used).toContain(k);
    });

    for (const steps of paths) {
      const knobs = knobsOf(steps);
      it(`follows the model through ${knobs.join(' → ')}`, async () => {
        coverage.client.ranPath(knobs);
        coverage.connection.ranPath(['client', ...knobs]);
        const sut = await Sut.start();
        try {
          for (let i = 0; i < steps.length; i++) {
            const step = steps[i]!;
            if (step.event.type === 'xstate.done.actor.connection') {
              await until(() => sut.client.actorRef.getSnapshot().status === 'done');
              continue;
            }
            await sut.apply(knobs[i]!, knobs.slice(i + 1));
            // A half-done redial, or an unreadable frame right behind which the socket goes.
            if (knobs[i] === 'dialStatus' || knobs[i] === 'garbage') continue;
            const expected = liveValue(step.state as never);
            if (sut.client.actorRef.getSnapshot().status === 'done') {
              expect(
                step.state.value === 'closed' || expected?.work === 'closing' || expected?.link === 'failed',
              ).toBe(true);
              await expect(sut.client.newKeypair(new Uint8Array(32))).rejects.toBeInstanceOf(
                ClientClosedError,
              );
              continue;
            }
            expect(sut.value()?.link).toBe(expected?.link);
            expect(sut.value()?.mixnet).toBe(expected?.mixnet);
            await sut.writeOrCancel(expected);
          }
        } finally {
          await sut.stop();
        }
      });
    }
  });
}

/**
 * Model-based test of machines/client.ts over the devnet.
 *
 * xstate/graph generates shortest paths (and a bounded set of simple paths) through the client
 * machine, with its connection and registry stubbed, over the events the outside world can cause.
 * Each path then runs against a real ThinClient on the real socket transport, dialing a fresh
 * devnet (instant profile), and each model event becomes a fault knob or an API call: a dropped
 * socket, a daemon restart with a new instance token, the mixnet going down and up, disconnect(),
 * reconnect(), close(), and the devnet going away for good (the redial budget runs out). In every
 * state a real ARQ write is started: it completes where the link is ready, and is cancelled where it
 * is not. The few events only a scripted peer can produce (an unreadable frame, a SURB reply, a
 * failed first handshake after the mixnet came up) run against the scripted daemon.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, fromCallback, type InspectionEvent } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { type ClientEvent, clientMachine } from '../../machines/client.js';
import { type Devnet, startDevnet } from '../../src/devnet/index.js';
import {
  ClientClosedError,
  NotConnectedError,
  OperationCancelledError,
  ThinClient,
} from '../../src/index.js';
import { encodeResponse } from '../../src/wire/index.js';
import { ScriptedDaemon } from '../helpers/scriptedDaemon.js';
import { until } from '../unit/client/harness.js';
import { Coverage, type Unreachable } from './coverage.js';

const coverage = new Coverage('client', clientMachine);

/** Reviewed: transitions of the client machine no path can take. */
const UNREACHABLE: Unreachable[] = [
  {
    transition: 'client.live xstate.error.actor.registry #0',
    reason:
      'the registry (actors/registry.ts) catches whatever its handler throws and answers the caller, so it never fails as an actor',
  },
  {
    transition: 'client.live xstate.error.actor.connection #0',
    reason: 'the connection machine has no action or guard that throws, and its transport never throws',
  },
  {
    transition: 'client.live.work connection.message #0',
    reason:
      'the transport hands every frame with a query id straight to the registry (replyTarget), so none reaches the client machine',
  },
];

// ---- the model ---------------------------------------------------------------------------------

type Knob =
  | 'dialStatus'
  | 'connect'
  | 'drop'
  | 'restart'
  | 'disconnect'
  | 'reconnect'
  | 'redialled'
  | 'mixnetDown'
  | 'mixnetUp'
  | 'close'
  | 'gaveUp';

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
    knob: (v) =>
      v.mixnet !== 'connected'
        ? undefined
        : ({ connecting: 'connect', down: 'redialled', disconnected: 'reconnect' } as Record<string, Knob>)[
            v.link
          ],
  },
  { event: lost(false), knob: (v) => (v.link === 'ready' ? 'drop' : undefined) },
  { event: lost(false, true), knob: (v) => (v.link === 'ready' ? 'restart' : undefined) },
  { event: lost(true), knob: (v) => (v.link === 'ready' ? 'disconnect' : undefined) },
  {
    event: status(false),
    knob: (v) => (v.link === 'ready' && v.mixnet === 'connected' ? 'mixnetDown' : undefined),
  },
  {
    event: { type: 'client.close' },
    knob: (v) => (v.link === 'connecting' || (dialing(v) && v.mixnet === 'connected') ? undefined : 'close'),
  },
  {
    event: { type: 'connection.failed', error: new Error('gave up') },
    knob: (v) => (v.link === 'down' && v.mixnet === 'offline' ? 'gaveUp' : undefined),
  },
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
// Longer stories, bounded to six steps.
const simple = getSimplePaths(model, traversal).filter((p) => stepsOf(p).length <= 6);
const seen = new Set<string>();
const paths = [...shortest, ...byEdge, ...simple]
  .map(stepsOf)
  .filter((steps) => steps.length > 0 && knobsOf(steps).at(-1) !== 'dialStatus')
  .filter((steps) => {
    const key = knobsOf(steps).join(' → ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  })
  .slice(0, 60);

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

  private observe = (ev: InspectionEvent) => {
    if ((ev.actorRef as AnyActorRef & { systemId?: string }).systemId !== 'client') return;
    coverage.inspect(ev, () => true);
    const v = liveValue(
      ((ev as { snapshot?: { value: unknown } }).snapshot ?? { value: undefined }) as never,
    );
    if (v && this.links.at(-1) !== v.link) this.links.push(v.link);
  };

  private attached = false;
  async connect(): Promise<void> {
    this.client = await ThinClient.connect(this.net.thinClientConfig, {
      reconnect: { initialDelayMs: 20, factor: 1, jitter: 0, maxAttempts: 2 },
      // The client's inspector is redacted (no transitions); its system gives the raw events.
      inspect: (ev) => {
        if (this.attached) return;
        this.attached = true;
        (ev.actorRef as AnyActorRef).system.inspect(this.observe);
      },
    });
  }

  value(): Value | undefined {
    return liveValue(this.client.actorRef.getSnapshot() as never);
  }

  /** Runs a knob; resolves once the client has seen its effect (`expected` is the model's link). */
  async apply(knob: Knob, next: Knob | undefined): Promise<void> {
    const from = this.links.length;
    const reached = (link: string) => until(() => this.links.slice(from).includes(link));
    switch (knob) {
      case 'dialStatus':
        return;
      case 'connect':
        await this.connect();
        return;
      case 'drop':
      case 'restart':
        // Every redial in the model hears the mixnet up.
        this.net.setMixnetConnected(true);
        // Before giving up, the devnet goes away for good instead.
        if (next === 'gaveUp') await this.net.stop();
        else if (knob === 'drop') this.net.dropConnections();
        else await this.net.restartDaemon();
        await reached('down');
        return;
      case 'redialled':
        await until(() => this.value()?.link === 'ready');
        return;
      case 'gaveUp':
        await reached('failed');
        return;
      case 'disconnect':
        this.net.setMixnetConnected(true);
        await this.client.disconnect();
        await reached('disconnected');
        return;
      case 'reconnect':
        await this.client.reconnect();
        await until(() => this.value()?.link === 'ready');
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

describe('client machine: generated paths against a ThinClient on the devnet, driven by its fault knobs', () => {
  for (const steps of paths) {
    const knobs = knobsOf(steps);
    it(`follows the model through ${knobs.join(' → ')}`, async () => {
      coverage.ranPath(knobs);
      const sut = await Sut.start();
      try {
        for (let i = 0; i < steps.length; i++) {
          const step = steps[i]!;
          if (step.event.type === 'xstate.done.actor.connection') {
            await until(() => sut.client.actorRef.getSnapshot().status === 'done');
            continue;
          }
          await sut.apply(knobs[i]!, knobs[i + 1]);
          if (knobs[i] === 'dialStatus') continue;
          const expected = liveValue(step.state as never);
          if (sut.client.actorRef.getSnapshot().status === 'done') {
            expect(
              step.state.value === 'closed' || expected?.work === 'closing' || expected?.link === 'failed',
            ).toBe(true);
            await expect(sut.client.newKeypair(new Uint8Array(32))).rejects.toBeInstanceOf(ClientClosedError);
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

describe('client machine: what only a scripted daemon can say', () => {
  it('reports an unreadable frame as a protocol error and passes a SURB reply without a query id on', async () => {
    const daemon = await ScriptedDaemon.start();
    let attached = false;
    const client = await ThinClient.connect(daemon.config, {
      inspect: (ev) => {
        if (attached) return;
        attached = true;
        (ev.actorRef as AnyActorRef).system.inspect(
          coverage.observer((a) => (a as { systemId?: string }).systemId === 'client'),
        );
      },
    });
    coverage.ranPath(['scripted: unreadable frame, SURB reply']);
    try {
      const errors: unknown[] = [];
      const replies: unknown[] = [];
      client.actorRef.on('protocolError', (e) => void errors.push(e));
      client.actorRef.on('message', (e) => void replies.push(e));
      daemon.current.sendBody(
        encodeResponse('message_reply_event', { surbid: new Uint8Array(16).fill(4) } as never),
      );
      await until(() => replies.length > 0);
      daemon.current.sendBody(new Uint8Array([0xff, 0x00]));
      await until(() => errors.length > 0);
    } finally {
      await client.close();
      await daemon.stop();
    }
  });

  it('goes offline when it gives up on a daemon that reported the mixnet up and then hung up mid-handshake', async () => {
    let handshakes = 0;
    const daemon = await ScriptedDaemon.start({
      beforeSessionReply: (conn) => {
        if (handshakes++ > 0) conn.drop();
      },
    });
    const values: Value[] = [];
    let attached = false;
    const client = await ThinClient.connect(daemon.config, {
      reconnect: { initialDelayMs: 10, factor: 1, jitter: 0, maxAttempts: 1 },
      inspect: (ev) => {
        if (attached) return;
        attached = true;
        const mine = (a: AnyActorRef) => (a as { systemId?: string }).systemId === 'client';
        (ev.actorRef as AnyActorRef).system.inspect((e) => {
          coverage.inspect(e, mine);
          const v =
            mine(e.actorRef as AnyActorRef) &&
            liveValue((e as { snapshot?: never }).snapshot ?? ({} as never));
          if (v) values.push(v);
        });
      },
    });
    coverage.ranPath(['scripted: mixnet up, then the redial budget runs out']);
    const failed = new Promise((resolve) => client.actorRef.on('linkFailed', resolve));
    try {
      daemon.current.drop();
      await failed;
      await until(() => client.actorRef.getSnapshot().status === 'done');
      // The redial heard the mixnet up before the daemon hung up on it; giving up takes it down.
      const redial = values.findLastIndex((v) => v.link === 'down' && v.mixnet === 'connected');
      expect(redial).toBeGreaterThanOrEqual(0);
      expect(values.at(-1)).toEqual({ link: 'failed', mixnet: 'offline', work: 'accepting' });
    } finally {
      await client.close();
      await daemon.stop();
    }
  });
});

describe('client machine coverage', () => {
  it('covers every state and at least 90% of the transitions of the client machine', () => {
    expect(paths.length).toBeGreaterThan(5);
    coverage.printAndAssert(UNREACHABLE);
  });
});

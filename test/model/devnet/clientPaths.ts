/**
 * Model-based paths of machines/client.ts over the devnet (run by test/model/machines.model.test.ts).
 *
 * xstate/graph generates shortest paths (and a bounded set of simple paths) through the client
 * machine, with its connection and registry stubbed, over the events the outside world can cause.
 * Each path then runs against a real ThinClient (devnet/clientSut.ts) on the real socket
 * transport, dialing a fresh devnet (instant profile), and each model event becomes a fault knob or
 * an API call: a dropped socket, a daemon restart with a new instance token (while connected, and
 * while disconnected), the mixnet going down and up (also before a dial, which then hears it down),
 * disconnect() (twice), reconnect(), close(), and the devnet going away for good (the redial budget
 * runs out, while redialling or after reconnect()). In every state a real ARQ write is started: it
 * completes where the link is ready, and is cancelled where it is not. Knobs added for this: an
 * unreadable frame (`sendUnreadableFrame`), an echo through the mixnet (a SURB reply), and a redial
 * whose handshake stalls after the status event (`stallHandshakes('sessionReply')`) before the
 * devnet goes away.
 */
import { describe, expect, it } from 'vitest';
import { fromCallback } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { type ClientEvent, clientMachine } from '../../../machines/client.js';
import { ClientClosedError } from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import type { Unreachable } from '../coverage.js';
import { type Knob, liveValue, Sut, type Value } from './clientSut.js';
import { coverage } from './probe.js';
import { sample } from './sample.js';

/**
 * Reviewed: transitions of the client machine no path can take. None: the machine has no handler
 * for a child failing as an actor (only a bug can; the facade's error listener on the root is the
 * one net for that) and no route for replies (the transport hands them to the registry).
 */
export const CLIENT_UNREACHABLE: Unreachable[] = [];

// ---- the model ---------------------------------------------------------------------------------

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
  // disconnect() while redialling (the connection has no session to report lost), or once more.
  {
    event: { type: 'client.disconnect' },
    knob: (v) =>
      v.link === 'down'
        ? 'disconnectDown'
        : v.link === 'disconnected' && v.mixnet === 'offline'
          ? 'disconnectAgain'
          : undefined,
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
  'disconnectDown',
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

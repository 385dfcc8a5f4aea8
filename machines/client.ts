/**
 * The supervising root actor (systemId `client`): owns the connection and the work registry, and
 * so every piece of work the client does.
 *
 *   live (parallel; invokes `connection` and `registry`)
 *     link     connecting → ready ⇄ down (the connection redials) ; disconnected (by the app, from ready
 *              or down) ; failed
 *     mixnet   offline ⇄ connected              (connection_status_event.is_connected)
 *     work     accepting → closing               (closing: the registry ends all work, thin_close is sent)
 *   closed     (final; entered when the connection actor finishes)
 *
 * The registry (actors/registry.ts) holds requests, operations, copy streams and windows in Maps
 * and creates their actors under itself, so thousands in flight never enter this snapshot. This
 * machine tells it what the link does; the daemon's replies (frames with a query id) reach it
 * straight from the transport (the connection's `replyTarget`), never through here. Daemon events go
 * to the facade (`message`); SURB replies go to both. The facade reads the state value (`link`,
 * `mixnet`). A child that fails as an actor (only a bug can) is not handled here: XState then stops
 * the other child (the registry ends every piece of work) and fails this actor, whose error listener
 * in the facade ends the client with that error.
 */
import { type ActorRefFrom, assign, emit, enqueueActions, sendTo, setup, stateIn } from 'xstate';
import type { DecodedResponse } from '../src/wire/index.js';
import { type ConnectionInput, type ConnectionReport, connectionMachine } from './connection.js';
import {
  type RegistryInput,
  type RegistryLinkEvent,
  type RegistryReport,
  registryPlaceholder,
} from './registry.js';

export interface ClientInput {
  connection: ConnectionInput;
  registry: RegistryInput;
}

/** The state of the daemon socket, as the facade sees it. */
export type LinkState = 'connecting' | 'ready' | 'down' | 'disconnected' | 'failed' | 'closed';

export interface ClientContext {
  /** What the connection actor is started with (the session token is redacted in inspection). */
  connectionInput: ConnectionInput;
  registryInput: RegistryInput;
  /** What the last session-ready report said, until the registry has replayed. */
  ready: Extract<ConnectionReport, { type: 'connection.ready' }> | undefined;
  /** Why the client stopped trying, when it did. */
  error: Error | undefined;
}

/** Sent by the facade. */
export type ClientCommand =
  | { type: 'client.disconnect' }
  | { type: 'client.reconnect' }
  | { type: 'client.close' };

export type ClientEvent = ClientCommand | ConnectionReport | RegistryReport;

/** Emitted for the facade (`actor.on(type, fn)`). */
export type ClientEmitted =
  | {
      type: 'linkReady';
      instanceToken: Uint8Array | null;
      appId: Uint8Array | null;
      resumed: boolean;
      replayed: number;
      first: boolean;
    }
  | { type: 'linkLost'; graceful: boolean; error: Error | undefined; requested: boolean }
  | { type: 'linkFailed'; error: Error }
  | { type: 'mixnet'; connected: boolean }
  /** A daemon event (no query id): the facade publishes it. */
  | { type: 'message'; message: DecodedResponse }
  | { type: 'protocolError'; error: Error }
  | { type: 'closed' };

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
    input: {} as ClientInput,
    emitted: {} as ClientEmitted,
  },
  actors: {
    connection: connectionMachine,
    registry: registryPlaceholder,
  },
  actions: {
    tellRegistry: sendTo('registry', (_, event: RegistryLinkEvent) => event),
    announceLost: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'connection.lost') return;
      enqueue.sendTo('registry', {
        type: 'registry.linkLost',
        requested: event.requested,
      } satisfies RegistryLinkEvent);
      enqueue.emit({
        type: 'linkLost',
        graceful: event.graceful,
        error: event.error,
        requested: event.requested,
      });
    }),
    // disconnect() while redialling: the connection stops where it is and has no session to report lost.
    announceDisconnected: enqueueActions(({ enqueue }) => {
      enqueue.sendTo('registry', { type: 'registry.linkLost', requested: true } satisfies RegistryLinkEvent);
      enqueue.emit({ type: 'linkLost', graceful: true, error: undefined, requested: true });
    }),
    tellConnection: sendTo(
      'connection',
      (_, event: { type: 'connection.connect' | 'connection.disconnect' | 'connection.close' }) => event,
    ),
  },
  guards: {
    isSurbReply: ({ event }) =>
      event.type === 'connection.message' && event.message.key === 'message_reply_event',
    reportsMixnetUp: ({ event }) =>
      event.type === 'connection.message' &&
      event.message.key === 'connection_status_event' &&
      event.message.body.is_connected === true,
    reportsMixnetDown: ({ event }) =>
      event.type === 'connection.message' &&
      event.message.key === 'connection_status_event' &&
      event.message.body.is_connected !== true,
    requested: ({ event }) => event.type === 'connection.lost' && event.requested,
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    connectionInput: input.connection,
    registryInput: input.registry,
    ready: undefined,
    error: undefined,
  }),
  initial: 'live',
  states: {
    live: {
      type: 'parallel',
      invoke: [
        {
          id: 'registry',
          systemId: 'registry',
          src: 'registry',
          input: ({ context }) => context.registryInput,
        },
        {
          id: 'connection',
          systemId: 'connection',
          src: 'connection',
          // Replies go from the transport straight to the registry; this machine sees the rest.
          input: ({ context }) => ({ ...context.connectionInput, replyTarget: 'registry' }),
          onDone: { target: 'closed' },
        },
      ],
      states: {
        link: {
          initial: 'connecting',
          on: {
            'connection.failed': {
              target: '.failed',
              actions: [
                assign({ error: ({ event }) => event.error }),
                {
                  type: 'tellRegistry',
                  params: ({ event }) => ({ type: 'registry.linkFailed', error: event.error }),
                },
                emit(({ event }) => ({ type: 'linkFailed', error: event.error })),
              ],
            },
            'connection.ready': {
              target: '.ready',
              actions: [
                assign({ ready: ({ event }) => event }),
                {
                  type: 'tellRegistry',
                  params: ({ event }) => ({
                    type: 'registry.linkReady',
                    replay: event.replay,
                    resumed: event.resumed,
                  }),
                },
              ],
            },
            'connection.protocolError': {
              actions: emit(({ event }) => ({ type: 'protocolError', error: event.error })),
            },
            // The registry has replayed or resumed every operation and flushed what waited.
            'registry.ready': {
              actions: [
                emit(({ context, event }) => ({
                  type: 'linkReady',
                  instanceToken: context.ready?.instanceToken ?? null,
                  appId: context.ready?.appId ?? null,
                  resumed: context.ready?.resumed ?? false,
                  replayed: event.replayed,
                  first: context.ready?.first ?? false,
                })),
                assign({ ready: undefined }),
              ],
            },
          },
          states: {
            connecting: {},
            ready: {
              on: {
                'connection.lost': [
                  { guard: 'requested', target: 'disconnected', actions: 'announceLost' },
                  { target: 'down', actions: 'announceLost' },
                ],
              },
            },
            /** The connection actor redials with backoff; requests wait (registry). */
            down: {
              on: { 'client.disconnect': { target: 'disconnected', actions: 'announceDisconnected' } },
            },
            /** The application called disconnect(); reconnect() dials again. */
            disconnected: {},
            failed: {},
          },
        },
        mixnet: {
          initial: 'offline',
          states: {
            offline: {
              on: {
                'connection.message': {
                  guard: 'reportsMixnetUp',
                  target: 'connected',
                  actions: [
                    { type: 'tellRegistry', params: { type: 'registry.mixnet', connected: true } },
                    emit({ type: 'mixnet', connected: true }),
                  ],
                },
              },
            },
            connected: {
              on: {
                'connection.message': {
                  guard: 'reportsMixnetDown',
                  target: 'offline',
                  actions: [
                    { type: 'tellRegistry', params: { type: 'registry.mixnet', connected: false } },
                    emit({ type: 'mixnet', connected: false }),
                  ],
                },
                'connection.lost': 'offline',
                'connection.failed': 'offline',
                // A redial that heard the status before disconnect() stopped it.
                'client.disconnect': { guard: stateIn({ live: { link: 'down' } }), target: 'offline' },
              },
            },
          },
        },
        work: {
          initial: 'accepting',
          on: {
            'connection.message': [
              {
                guard: 'isSurbReply',
                actions: [
                  {
                    type: 'tellRegistry',
                    params: ({ event }) => ({ type: 'registry.message', message: event.message }),
                  },
                  emit(({ event }) => ({ type: 'message', message: event.message })),
                ],
              },
              { actions: emit(({ event }) => ({ type: 'message', message: event.message })) },
            ],
          },
          states: {
            accepting: {
              on: {
                'client.disconnect': {
                  actions: { type: 'tellConnection', params: { type: 'connection.disconnect' } },
                },
                'client.reconnect': {
                  actions: { type: 'tellConnection', params: { type: 'connection.connect' } },
                },
                'client.close': 'closing',
              },
            },
            closing: {
              entry: [
                { type: 'tellRegistry', params: { type: 'registry.close' } },
                { type: 'tellConnection', params: { type: 'connection.close' } },
              ],
            },
          },
        },
      },
    },
    closed: {
      type: 'final',
      entry: emit({ type: 'closed' }),
    },
  },
});

export type ClientActorRef = ActorRefFrom<typeof clientMachine>;

/**
 * The supervising root actor (systemId `client`): owns the connection and every ARQ operation.
 *
 *   live (invokes the connection actor, systemId `connection`)
 *     active    requests go out, replies come back, operations are spawned and settled
 *     closing   every operation is told to close; the connection sends thin_close
 *   closed      (final)
 *
 * - Each start_resending_* is an `arq` actor spawned with systemId `op:<query id hex>`. It
 *   outlives reconnects: on a lost socket every operation is paused; when a session is ready again
 *   it either resumes (the daemon kept our session) or replays its request byte-for-byte.
 * - Replies are routed by query_id: to the operation that owns it, otherwise emitted for the
 *   facade, which correlates local requests itself.
 * - A cancel goes to the daemon while the socket is up; otherwise it only drops local tracking.
 * - Child errors are caught here (`xstate.error.actor.*`); nothing escalates to the host process.
 *
 * The facade listens to emitted events (`ClientEmitted`) and reads `context.link`.
 */
import { type ActorRefFrom, assign, emit, enqueueActions, setup } from 'xstate';
import type { DecodedResponse } from '../src/wire/index.js';
import {
  type ArqInput,
  type ArqKind,
  type ArqOutput,
  type ArqReply,
  type ArqReport,
  arqMachine,
} from './arq.js';
import { type ConnectionInput, type ConnectionReport, connectionMachine } from './connection.js';

export interface ClientInput {
  connection: ConnectionInput;
}

/** The state of the daemon socket, as the facade sees it. */
export type LinkState = 'connecting' | 'ready' | 'down' | 'disconnected' | 'failed' | 'closed';

export interface OpEntry {
  kind: ArqKind;
  cancelKey: string;
}

export interface ClientContext {
  /** What the connection actor is started with (the session token is redacted in inspection). */
  connectionInput: ConnectionInput;
  link: LinkState;
  /** The daemon's own link to the mixnet (connection_status_event.is_connected). */
  mixnetConnected: boolean;
  /** The in-flight operations (the replay set), by query id hex. */
  ops: Record<string, OpEntry>;
  /** Cancel requests awaiting their reply: cancel query id hex → cancel key. */
  cancels: Record<string, string>;
}

/** Sent by the facade. */
export type ClientCommand =
  | { type: 'client.startOp'; op: ArqInput }
  | { type: 'client.request'; queryId: string; bytes: Uint8Array }
  | { type: 'client.cancelOp'; cancelKey: string; request?: { queryId: string; bytes: Uint8Array } }
  | { type: 'client.disconnect' }
  | { type: 'client.reconnect' }
  | { type: 'client.close' };

export type ClientEvent = ClientCommand | ConnectionReport | ArqReport;

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
  /** A frame no operation claimed: replies to local requests and daemon events. */
  | { type: 'message'; message: DecodedResponse }
  | { type: 'protocolError'; error: Error }
  | { type: 'settled'; queryId: string; output: ArqOutput }
  /** A request could not be sent because the socket is not ready. */
  | { type: 'unsent'; queryId: string }
  | { type: 'actorError'; actorId: string; error: unknown }
  | { type: 'closed' };

const OP_PREFIX = 'op:';
const REPLY_KEY: Record<ArqKind, string> = {
  encryptedMessage: 'start_resending_encrypted_message_reply',
  copyCommand: 'start_resending_copy_command_reply',
};
const CANCEL_REPLY_KEYS: ReadonlySet<string> = new Set([
  'cancel_resending_encrypted_message_reply',
  'cancel_resending_copy_command_reply',
]);

function hex(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return undefined;
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The query_id of a reply, in hex, when it has one. */
export function replyQueryId(message: DecodedResponse): string | undefined {
  if (message.key === 'unknown') return undefined;
  const body = message.body as { query_id?: Uint8Array };
  return hex(body.query_id);
}

const opsWithKey = (context: ClientContext, cancelKey: string): string[] =>
  Object.entries(context.ops)
    .filter(([, op]) => op.cancelKey === cancelKey)
    .map(([queryId]) => queryId);

const withoutKey = <T>(record: Record<string, T>, key: string): Record<string, T> => {
  const { [key]: _, ...rest } = record;
  return rest;
};

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
    input: {} as ClientInput,
    emitted: {} as ClientEmitted,
  },
  actors: {
    connection: connectionMachine,
    arq: arqMachine,
  },
  actions: {
    broadcastToOps: enqueueActions(({ context, enqueue }, params: { event: { type: string } }) => {
      for (const queryId of Object.keys(context.ops))
        enqueue.sendTo(OP_PREFIX + queryId, params.event as never);
    }),
    /** An operation reached a final state: forget it and hand its output to the facade. */
    settleOp: enqueueActions(({ context, event, enqueue }) => {
      const { actorId, output } = event as unknown as { actorId: string; output: ArqOutput };
      if (!actorId.startsWith(OP_PREFIX)) return;
      const queryId = actorId.slice(OP_PREFIX.length);
      enqueue.stopChild(actorId);
      enqueue.assign({ ops: withoutKey(context.ops, queryId) });
      enqueue.emit({ type: 'settled', queryId, output });
    }),
    /** A child threw (a bug, never a daemon error code): report it; an operation settles as abandoned. */
    opCrashed: enqueueActions(({ context, event, enqueue }) => {
      const { actorId, error } = event as unknown as { actorId: string; error: unknown };
      enqueue.emit({ type: 'actorError', actorId, error });
      if (!actorId.startsWith(OP_PREFIX)) return;
      const queryId = actorId.slice(OP_PREFIX.length);
      enqueue.stopChild(actorId);
      enqueue.assign({ ops: withoutKey(context.ops, queryId) });
      enqueue.emit({
        type: 'settled',
        queryId,
        output: { outcome: 'abandoned', error: error instanceof Error ? error : new Error(String(error)) },
      });
    }),
  },
  guards: {
    isReady: ({ context }) => context.link === 'ready',
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    connectionInput: input.connection,
    link: 'connecting',
    mixnetConnected: false,
    ops: {},
    cancels: {},
  }),
  initial: 'live',
  states: {
    live: {
      invoke: {
        id: 'connection',
        systemId: 'connection',
        src: 'connection',
        input: ({ context }) => context.connectionInput,
        onDone: { target: 'closed' },
        onError: {
          target: 'closed',
          actions: [
            emit(({ event }) => ({ type: 'actorError', actorId: 'connection', error: event.error })),
            emit(({ event }) => ({
              type: 'linkFailed',
              error: event.error instanceof Error ? event.error : new Error(String(event.error)),
            })),
            assign({ link: 'failed' }),
          ],
        },
      },
      on: {
        // ---- from the connection ----
        'connection.message': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { message } = event;
            if (message.key === 'connection_status_event') {
              enqueue.assign({ mixnetConnected: message.body.is_connected === true });
            }
            const queryId = replyQueryId(message);
            const op = queryId === undefined ? undefined : context.ops[queryId];
            if (queryId !== undefined && op && REPLY_KEY[op.kind] === message.key) {
              enqueue.sendTo(OP_PREFIX + queryId, {
                type: 'op.reply',
                reply: (message as { body: unknown }).body as ArqReply,
              });
              return;
            }
            if (queryId !== undefined && CANCEL_REPLY_KEYS.has(message.key)) {
              const cancelKey = context.cancels[queryId];
              if (cancelKey !== undefined) {
                for (const id of opsWithKey(context, cancelKey)) {
                  enqueue.sendTo(OP_PREFIX + id, { type: 'op.cancelAck' });
                }
                enqueue.assign({ cancels: withoutKey(context.cancels, queryId) });
              }
            }
            enqueue.emit({ type: 'message', message });
          }),
        },
        'connection.ready': {
          actions: [
            assign({ link: 'ready', cancels: {} }),
            enqueueActions(({ context, event, enqueue }) => {
              const ids = Object.keys(context.ops);
              for (const id of ids)
                enqueue.sendTo(OP_PREFIX + id, { type: event.replay ? 'op.replay' : 'op.resume' });
              enqueue.emit({
                type: 'linkReady',
                instanceToken: event.instanceToken,
                appId: event.appId,
                resumed: event.resumed,
                replayed: event.replay ? ids.length : 0,
                first: event.first,
              });
            }),
          ],
        },
        'connection.lost': {
          actions: [
            assign(({ event }) => ({
              link: event.requested ? ('disconnected' as const) : ('down' as const),
              mixnetConnected: false,
            })),
            { type: 'broadcastToOps', params: { event: { type: 'op.pause' } } },
            emit(({ event }) => ({
              type: 'linkLost',
              graceful: event.graceful,
              error: event.error,
              requested: event.requested,
            })),
          ],
        },
        'connection.protocolError': {
          actions: emit(({ event }) => ({ type: 'protocolError', error: event.error })),
        },
        'connection.failed': {
          actions: [
            assign({ link: 'failed', mixnetConnected: false }),
            enqueueActions(({ context, event, enqueue }) => {
              for (const id of Object.keys(context.ops)) {
                enqueue.sendTo(OP_PREFIX + id, { type: 'op.abandon', error: event.error });
              }
            }),
            emit(({ event }) => ({ type: 'linkFailed', error: event.error })),
          ],
        },

        // ---- from operations ----
        'op.transmit': {
          guard: 'isReady',
          actions: enqueueActions(({ event, enqueue }) => {
            enqueue.sendTo('connection', { type: 'connection.send', bytes: event.bytes });
          }),
        },
        'xstate.done.actor.*': { actions: 'settleOp' },
        'xstate.error.actor.*': { actions: 'opCrashed' },
      },
      initial: 'active',
      states: {
        active: {
          on: {
            'client.startOp': [
              {
                guard: ({ context, event }) => context.link === 'ready' && !(event.op.queryId in context.ops),
                actions: enqueueActions(({ context, event, enqueue }) => {
                  const { op } = event;
                  enqueue.assign({
                    ops: { ...context.ops, [op.queryId]: { kind: op.kind, cancelKey: op.cancelKey } },
                  });
                  enqueue.spawnChild('arq', {
                    id: OP_PREFIX + op.queryId,
                    systemId: OP_PREFIX + op.queryId,
                    input: op,
                  });
                }),
              },
              { actions: emit(({ event }) => ({ type: 'unsent', queryId: event.op.queryId })) },
            ],
            'client.request': [
              {
                guard: 'isReady',
                actions: enqueueActions(({ event, enqueue }) => {
                  enqueue.sendTo('connection', { type: 'connection.send', bytes: event.bytes });
                }),
              },
              { actions: emit(({ event }) => ({ type: 'unsent', queryId: event.queryId })) },
            ],
            'client.cancelOp': {
              actions: enqueueActions(({ context, event, enqueue }) => {
                const targets = opsWithKey(context, event.cancelKey);
                const { request } = event;
                const sent = request !== undefined && context.link === 'ready';
                if (request && sent) {
                  enqueue.sendTo('connection', { type: 'connection.send', bytes: request.bytes });
                  enqueue.assign({ cancels: { ...context.cancels, [request.queryId]: event.cancelKey } });
                } else if (request) {
                  enqueue.emit({ type: 'unsent', queryId: request.queryId });
                }
                for (const id of targets) enqueue.sendTo(OP_PREFIX + id, { type: 'op.cancel', sent });
              }),
            },
            'client.disconnect': {
              actions: enqueueActions(({ enqueue }) => {
                enqueue.sendTo('connection', { type: 'connection.disconnect' });
              }),
            },
            'client.reconnect': {
              actions: enqueueActions(({ enqueue }) => {
                enqueue.sendTo('connection', { type: 'connection.connect' });
              }),
            },
            'client.close': { target: 'closing' },
          },
        },
        closing: {
          entry: [
            { type: 'broadcastToOps', params: { event: { type: 'op.close' } } },
            enqueueActions(({ enqueue }) => {
              enqueue.sendTo('connection', { type: 'connection.close' });
            }),
          ],
          on: {
            'client.startOp': {
              actions: emit(({ event }) => ({ type: 'unsent', queryId: event.op.queryId })),
            },
            'client.request': { actions: emit(({ event }) => ({ type: 'unsent', queryId: event.queryId })) },
          },
        },
      },
    },
    closed: {
      type: 'final',
      entry: [
        assign(({ context }) => ({ link: context.link === 'failed' ? 'failed' : 'closed' })),
        emit({ type: 'closed' }),
      ],
    },
  },
});

export type ClientActorRef = ActorRefFrom<typeof clientMachine>;

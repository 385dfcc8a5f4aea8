/**
 * The connection to kpclientd: dial → handshake → ready ⇄ backoff/redial → closed.
 *
 *   online (invokes the socket transport)
 *     connecting   dialing → awaitingStatus → awaitingDocument → awaitingSessionReply
 *     ready        every frame is forwarded to the parent, except replies when a reply target
 *                  takes them straight from the transport (ConnectionInput.replyTarget)
 *     closing      thin_close sent, waiting for the socket to close
 *   backoff        `after: reconnectDelay` → online
 *   disconnected   the user dropped the socket; waits for `connection.connect`
 *   failed         the first dial failed, or the redial budget ran out (final)
 *   closed         (final)
 *
 * The daemon speaks first (connection_status_event, new_pki_document_event); we then send our
 * session token and wait for session_token_reply, forwarding everything else that arrives in the
 * meantime — a resuming daemon flushes queued replies before its reply (spec/wire-protocol.md §2.2).
 *
 * Everything the parent needs to know leaves through the one `report` action (a `sendParent` by
 * default); tests swap it for a recorder. The socket lives in the `transport` actor
 * (actors/transport.ts), which this file names but does not implement.
 */
import { type ActorRefFrom, assign, fromCallback, sendParent, sendTo, setup } from 'xstate';
import type { DecodedResponse } from '../src/wire/index.js';

/** Redial policy. Delays grow `initialDelayMs · factor^(n-1)` up to `maxDelayMs`, ± `jitter`. */
export interface ReconnectPolicy {
  /** @default 1000 */
  initialDelayMs: number;
  /** @default 60000 */
  maxDelayMs: number;
  /** @default 2 */
  factor: number;
  /** Fraction of the delay added or removed at random. @default 0.2 */
  jitter: number;
  /** Redials after a lost connection before giving up. @default Infinity */
  maxAttempts: number;
}

export const DEFAULT_RECONNECT: Readonly<ReconnectPolicy> = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** The delay before redial number `attempt` (1-based); `random` is a sample of [0, 1). */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + 2 * spread * random));
}

/** Where to dial; structurally the `dial` part of src/config.ts's Config. */
export interface DialTarget {
  readonly type: 'tcp' | 'unix' | 'ws';
  readonly address: string;
  readonly network?: string;
}

export interface ConnectionInput {
  dial: DialTarget;
  /** Our ClientInstanceToken: 16 random bytes, the same for every redial of this client. */
  clientToken: Uint8Array;
  reconnect?: Partial<ReconnectPolicy>;
  /** Dial plus handshake must finish within this. @default 60000 */
  handshakeTimeoutMs?: number;
  /** How long close() waits for the socket to flush thin_close. @default 2000 */
  closeTimeoutMs?: number;
  /**
   * The systemId of the actor that takes the daemon's replies (frames with a query_id) straight from
   * the transport, as `transport.reply`: the request/reply data path then skips this machine, which
   * only needs the handshake and the daemon's events. Without it, replies are forwarded like any frame.
   */
  replyTarget?: string;
}

/** The transport's input: where to dial, and who takes replies directly (ConnectionInput.replyTarget). */
export interface TransportInput {
  dial: DialTarget;
  replyTarget?: string;
}

// ---- events ---------------------------------------------------------------------------------

/** What the transport actor sends back. */
export type TransportEvent =
  | { type: 'transport.open' }
  | { type: 'transport.message'; message: DecodedResponse }
  | { type: 'transport.protocolError'; error: Error }
  | { type: 'transport.closed'; error?: Error };

/** What the transport sends the reply target (ConnectionInput.replyTarget) for each reply frame. */
export interface TransportReply {
  type: 'transport.reply';
  message: DecodedResponse;
}

/** What the transport actor accepts (from this machine, or `transport.sendRaw` from the registry). */
export type TransportCommand =
  | { type: 'transport.send'; message: { key: 'session_token' | 'thin_close'; body: object } }
  | { type: 'transport.sendRaw'; bytes: Uint8Array }
  | { type: 'transport.end' };

/** What the parent (the client actor) sends. */
export type ConnectionCommand =
  | { type: 'connection.send'; bytes: Uint8Array }
  | { type: 'connection.connect' }
  | { type: 'connection.disconnect' }
  | { type: 'connection.close' };

export type ConnectionEvent = TransportEvent | ConnectionCommand;

/** What this machine reports to its parent. */
export type ConnectionReport =
  /** Any frame other than session_token_reply, in arrival order (handshake frames included). */
  | { type: 'connection.message'; message: DecodedResponse }
  | {
      type: 'connection.ready';
      instanceToken: Uint8Array | null;
      appId: Uint8Array | null;
      resumed: boolean;
      /** In-flight operations must be sent again: the daemon cannot have them. */
      replay: boolean;
      first: boolean;
    }
  | { type: 'connection.lost'; graceful: boolean; error: Error | undefined; requested: boolean }
  | { type: 'connection.protocolError'; error: Error }
  | { type: 'connection.failed'; error: Error };

export interface ConnectionContext {
  dial: DialTarget;
  replyTarget: string | undefined;
  clientToken: Uint8Array;
  reconnect: ReconnectPolicy;
  handshakeTimeoutMs: number;
  closeTimeoutMs: number;
  /** Redials since the connection was last ready. */
  attempt: number;
  everReady: boolean;
  /** The instance token of the daemon on the current socket (hex), once its status arrived. */
  instanceToken: string | null;
  instanceTokenBytes: Uint8Array | null;
  /** The instance token of the last session that became ready (hex). */
  sessionInstanceToken: string | null;
  /** A shutdown_event arrived on this socket. */
  graceful: boolean;
  /** A protocol error dropped frames (perhaps replies) since the last ready. */
  framesLost: boolean;
  lastError: Error | undefined;
}

// ---- pure helpers -----------------------------------------------------------------------------

function hex(bytes: Uint8Array | undefined | null): string | null {
  if (!bytes) return null;
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function messageKey(event: ConnectionEvent): string | undefined {
  return event.type === 'transport.message' ? event.message.key : undefined;
}

/** Whether a session that just became ready needs the in-flight operations sent again. */
export function needsReplay(
  context: Pick<ConnectionContext, 'everReady' | 'sessionInstanceToken' | 'instanceToken' | 'framesLost'>,
  resumed: boolean,
): boolean {
  if (!context.everReady) return false;
  return context.sessionInstanceToken !== context.instanceToken || !resumed || context.framesLost;
}

const lostError = (context: ConnectionContext, event: ConnectionEvent): Error | undefined => {
  if (context.graceful) return undefined;
  if (context.lastError) return context.lastError;
  if (event.type === 'transport.closed' && event.error) return event.error;
  if ((event as { type: string }).type === 'xstate.error.actor.transport') {
    return toError((event as { error?: unknown }).error);
  }
  return new Error('the daemon closed the connection');
};

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

// ---- reports (all through the one `report` action) ----------------------------------------------

type Args = { context: ConnectionContext; event: ConnectionEvent };

/** Hands a frame to the parent unchanged. */
const forward = {
  type: 'report',
  params: ({ event }: Args): ConnectionReport => ({
    type: 'connection.message',
    message: (event as Extract<ConnectionEvent, { type: 'transport.message' }>).message,
  }),
} as const;

const reportLost = {
  type: 'report',
  params: ({ context, event }: Args): ConnectionReport => ({
    type: 'connection.lost',
    graceful: context.graceful,
    error: lostError(context, event),
    requested: false,
  }),
} as const;

const reportFailed = {
  type: 'report',
  params: ({ context }: Args): ConnectionReport => ({
    type: 'connection.failed',
    error: context.lastError ?? new Error('cannot connect to the daemon'),
  }),
} as const;

// ---- the machine --------------------------------------------------------------------------------

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    /** The socket. Provided by actors/transport.ts (tests provide scripted ones). */
    transport: fromCallback<TransportCommand, TransportInput>(() => {
      throw new Error('connectionMachine: provide a transport actor');
    }),
  },
  actions: {
    report: sendParent((_, params: ConnectionReport) => params),
    sendSessionToken: sendTo('transport', ({ context }) => ({
      type: 'transport.send',
      message: { key: 'session_token', body: { client_instance_token: context.clientToken } },
    })),
    sendRaw: sendTo('transport', ({ event }) => ({
      type: 'transport.sendRaw',
      bytes: (event as Extract<ConnectionEvent, { type: 'connection.send' }>).bytes,
    })),
    sendThinClose: sendTo('transport', { type: 'transport.send', message: { key: 'thin_close', body: {} } }),
    endTransport: sendTo('transport', { type: 'transport.end' }),
    recordStatus: assign(({ event }) => {
      if (event.type !== 'transport.message' || event.message.key !== 'connection_status_event') return {};
      const token = event.message.body.instance_token ?? null;
      return { instanceToken: hex(token), instanceTokenBytes: token };
    }),
    recordShutdown: assign({ graceful: true }),
    recordProtocolError: assign(({ event }) => ({
      framesLost: true,
      lastError: (event as Extract<ConnectionEvent, { type: 'transport.protocolError' }>).error,
    })),
    recordClosed: assign(({ context, event }) => ({
      lastError:
        context.lastError ??
        (event.type === 'transport.closed' ? event.error : toError((event as { error?: unknown }).error)),
    })),
    resetSocketState: assign({
      graceful: false,
      lastError: undefined,
      instanceToken: null,
      instanceTokenBytes: null,
    }),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
  },
  guards: {
    neverReady: ({ context }) => !context.everReady,
    attemptsExhausted: ({ context }) => context.attempt > context.reconnect.maxAttempts,
    isStatus: ({ event }) => messageKey(event) === 'connection_status_event',
    isDocument: ({ event }) => messageKey(event) === 'new_pki_document_event',
    isSessionReply: ({ event }) => messageKey(event) === 'session_token_reply',
    isShutdown: ({ event }) => messageKey(event) === 'shutdown_event',
  },
  delays: {
    reconnectDelay: ({ context }) => reconnectDelay(context.reconnect, context.attempt, Math.random()),
    handshakeTimeout: ({ context }) => context.handshakeTimeoutMs,
    closeTimeout: ({ context }) => context.closeTimeoutMs,
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    dial: input.dial,
    replyTarget: input.replyTarget,
    clientToken: input.clientToken,
    reconnect: { ...DEFAULT_RECONNECT, ...input.reconnect },
    handshakeTimeoutMs: input.handshakeTimeoutMs ?? 60_000,
    closeTimeoutMs: input.closeTimeoutMs ?? 2000,
    attempt: 0,
    everReady: false,
    instanceToken: null,
    instanceTokenBytes: null,
    sessionInstanceToken: null,
    graceful: false,
    framesLost: false,
    lastError: undefined,
  }),
  initial: 'online',
  output: ({ context }) => ({ error: context.lastError }),
  states: {
    online: {
      entry: 'resetSocketState',
      invoke: {
        // The registry writes requests to it (children.transport) while the session is ready. No
        // systemId: graph traversal of this machine makes many snapshots in one system.
        id: 'transport',
        src: 'transport',
        input: ({ context }) => ({ dial: context.dial, replyTarget: context.replyTarget }),
      },
      on: {
        'transport.protocolError': {
          actions: [
            'recordProtocolError',
            {
              type: 'report',
              params: ({ event }) => ({ type: 'connection.protocolError', error: event.error }),
            },
          ],
        },
        'transport.closed': [
          { guard: 'neverReady', target: 'failed', actions: 'recordClosed' },
          { target: 'backoff', actions: 'recordClosed' },
        ],
        'xstate.error.actor.transport': [
          { guard: 'neverReady', target: 'failed', actions: 'recordClosed' },
          { target: 'backoff', actions: 'recordClosed' },
        ],
        'connection.disconnect': { target: 'disconnected' },
        'connection.close': { target: '.closing' },
      },
      initial: 'connecting',
      states: {
        connecting: {
          initial: 'dialing',
          after: {
            handshakeTimeout: [
              {
                guard: 'neverReady',
                target: '#connection.failed',
                actions: assign({ lastError: () => new Error('timed out connecting to the daemon') }),
              },
              {
                target: '#connection.backoff',
                actions: assign({ lastError: () => new Error('timed out connecting to the daemon') }),
              },
            ],
          },
          states: {
            dialing: {
              on: {
                'transport.open': 'awaitingStatus',
                // Nothing to say goodbye on: the daemon has not seen us yet.
                'connection.close': '#connection.closed',
              },
            },
            awaitingStatus: {
              on: {
                'transport.message': [
                  { guard: 'isStatus', target: 'awaitingDocument', actions: ['recordStatus', forward] },
                  { guard: 'isShutdown', actions: ['recordShutdown', forward] },
                  { actions: forward },
                ],
              },
            },
            awaitingDocument: {
              on: {
                'transport.message': [
                  {
                    guard: 'isDocument',
                    target: 'awaitingSessionReply',
                    actions: [forward, 'sendSessionToken'],
                  },
                  { guard: 'isStatus', actions: ['recordStatus', forward] },
                  { guard: 'isShutdown', actions: ['recordShutdown', forward] },
                  { actions: forward },
                ],
              },
            },
            awaitingSessionReply: {
              on: {
                'transport.message': [
                  {
                    guard: 'isSessionReply',
                    target: '#connection.online.ready',
                    actions: [
                      {
                        type: 'report',
                        params: ({ context, event }) => {
                          const body =
                            event.message.key === 'session_token_reply' ? event.message.body : undefined;
                          const resumed = body?.resumed === true;
                          return {
                            type: 'connection.ready',
                            instanceToken: context.instanceTokenBytes,
                            appId: body?.app_id ?? null,
                            resumed,
                            replay: needsReplay(context, resumed),
                            first: !context.everReady,
                          };
                        },
                      },
                      assign(({ context }) => ({
                        everReady: true,
                        attempt: 0,
                        framesLost: false,
                        sessionInstanceToken: context.instanceToken,
                      })),
                    ],
                  },
                  { guard: 'isStatus', actions: ['recordStatus', forward] },
                  { guard: 'isShutdown', actions: ['recordShutdown', forward] },
                  { actions: forward },
                ],
              },
            },
          },
        },
        ready: {
          on: {
            'transport.message': [
              { guard: 'isStatus', actions: ['recordStatus', forward] },
              { guard: 'isShutdown', actions: ['recordShutdown', forward] },
              { guard: 'isSessionReply' },
              { actions: forward },
            ],
            'connection.send': { actions: 'sendRaw' },
            'transport.closed': { target: '#connection.backoff', actions: ['recordClosed', reportLost] },
            'xstate.error.actor.transport': {
              target: '#connection.backoff',
              actions: ['recordClosed', reportLost],
            },
            'connection.disconnect': {
              target: '#connection.disconnected',
              actions: {
                type: 'report',
                params: { type: 'connection.lost', graceful: true, error: undefined, requested: true },
              },
            },
          },
        },
        closing: {
          entry: ['sendThinClose', 'endTransport'],
          after: { closeTimeout: '#connection.closed' },
          on: {
            'transport.closed': '#connection.closed',
            'xstate.error.actor.transport': '#connection.closed',
            'transport.message': { actions: forward },
            'connection.close': {},
            'connection.disconnect': {},
          },
        },
      },
    },
    backoff: {
      entry: 'countAttempt',
      always: {
        guard: 'attemptsExhausted',
        target: 'failed',
      },
      after: { reconnectDelay: 'online' },
      on: {
        'connection.connect': 'online',
        'connection.disconnect': 'disconnected',
        'connection.close': 'closed',
      },
    },
    disconnected: {
      on: {
        'connection.connect': { target: 'online', actions: assign({ attempt: 0 }) },
        'connection.close': 'closed',
      },
    },
    failed: {
      type: 'final',
      entry: reportFailed,
    },
    closed: { type: 'final' },
  },
});

export type ConnectionActorRef = ActorRefFrom<typeof connectionMachine>;

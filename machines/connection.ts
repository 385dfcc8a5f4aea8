/**
 * The connection to kpclientd: dial → handshake → ready ⇄ backoff/redial → closed.
 *
 *   online (invokes the socket transport)
 *     connecting   dialing → awaitingStatus → awaitingDocument → awaitingSessionReply
 *     ready        every frame is forwarded to the parent, except replies when a reply target
 *                  takes them straight from the transport (ConnectionInput.replyTarget)
 *     closing      thin_close sent, waiting for the socket to close; a second close or a
 *                  disconnect has nothing left to do, so neither is handled here
 *   backoff        `after: reconnectDelay` → online
 *   disconnected   the user dropped the socket; waits for `connection.connect`
 *   failed         the first dial failed, or the redial budget ran out (final)
 *   closed         (final)
 *
 * The daemon speaks first (connection_status_event, new_pki_document_event); we then send our
 * session token and wait for session_token_reply, forwarding everything else that arrives in the
 * meantime — a resuming daemon flushes queued replies before its reply (katzenpost client/listener.go; pinned by client/session_resume_test.go).
 *
 * Everything the parent needs to know leaves through the one `report` action (a `sendParent` by
 * default); tests swap it for a recorder. The socket lives in the `transport` actor
 * (actors/transport.ts), which this file names but does not implement. The transport reports every
 * failure as `transport.closed` and never throws, so no error of that actor is handled here (one it
 * did throw would fail this machine, and the client with it). The registry writes requests
 * straight to the transport (`transport.sendRaw`); they do not pass through this machine.
 */
import { type ActorRefFrom, assign, fromCallback, sendParent, sendTo, setup } from 'xstate';
import type {
  ConnectionContext,
  ConnectionEvent,
  ConnectionInput,
  ConnectionReport,
  TransportCommand,
  TransportInput,
} from './connectionEvents.js';
import { DEFAULT_RECONNECT, needsReplay, reconnectDelay } from './redial.js';

export type * from './connectionEvents.js';
export * from './redial.js';

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

const lostError = (context: ConnectionContext, event: ConnectionEvent): Error | undefined => {
  if (context.graceful) return undefined;
  if (context.lastError) return context.lastError;
  if (event.type === 'transport.closed' && event.error) return event.error;
  return new Error('the daemon closed the connection');
};

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
      lastError: context.lastError ?? (event.type === 'transport.closed' ? event.error : undefined),
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
      },
      initial: 'connecting',
      states: {
        connecting: {
          initial: 'dialing',
          on: {
            'connection.disconnect': '#connection.disconnected',
            'connection.close': '#connection.online.closing',
          },
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
            'transport.closed': { target: '#connection.backoff', actions: ['recordClosed', reportLost] },
            'connection.disconnect': {
              target: '#connection.disconnected',
              actions: {
                type: 'report',
                params: { type: 'connection.lost', graceful: true, error: undefined, requested: true },
              },
            },
            'connection.close': 'closing',
          },
        },
        closing: {
          entry: ['sendThinClose', 'endTransport'],
          after: { closeTimeout: '#connection.closed' },
          on: {
            'transport.closed': '#connection.closed',
            'transport.message': { actions: forward },
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

/**
 * One in-flight `start_resending_encrypted_message` or `start_resending_copy_command`.
 *
 *   sending      transmit the encoded request (the same bytes every time) → awaiting
 *   awaiting     the daemon runs its ARQ; exactly one reply comes back
 *   paused       the socket is down; wait to learn whether the daemon still has the operation:
 *                op.replay (a new daemon, or a lost session: send again) or op.resync.begin (the same
 *                session on the same daemon, which may have lost the reply while we were away)
 *   resyncing    a cancel went to the daemon for this operation, so that it holds it no more (a reply
 *                that reached kpclientd while the socket was down is dropped, and the operation wedged
 *                with no timer: katzenpost client/pigeonhole.go:1429-1434). The daemon answers the original with code 24
 *                if it still had it, then the cancel itself (op.resync.answered) → sending, the same
 *                bytes again. A real reply first ends the operation as in awaiting, and nothing is
 *                re-sent. Lost link: paused again, to resync (or replay) on the next session. A user
 *                cancel: cancelling (either cancel reply ends it). close(): closed. Abandonment needs a
 *                lost link first, so it comes in paused.
 *   cancelling   a cancel went to the daemon; it answers the original with code 24, then the cancel
 *   done | expected | failed | cancelled | closed | abandoned   (final, with output)
 *
 * Daemon error codes are data here: BoxIDNotFound, BoxAlreadyExists and Tombstone end in
 * `expected`, other codes in `failed`, code 24 in `cancelled` (after a cancel we sent). The facade
 * turns outputs into promise results and error classes. The client's work registry
 * (actors/registry.ts) creates it, routes replies to it by query_id and tells it how the link came
 * back (actors/relink.ts).
 */
import { type ActorRefFrom, assign, raise, sendTo, setup } from 'xstate';
import type { ArqKind, ArqOutput, ArqReply } from '../src/protocol/outcome.js';

export type { ArqKind, ArqOutput, ArqReply } from '../src/protocol/outcome.js';

export interface ArqInput {
  /** Lowercase hex of the request's query_id. */
  queryId: string;
  kind: ArqKind;
  /** The encoded request body (one CBOR map); replayed unchanged. */
  request: Uint8Array;
  /** Hex of envelope_hash (encrypted message) or BLAKE2b-256(write_cap) (copy command). */
  cancelKey: string;
}

export type ArqEvent =
  | { type: 'op.reply'; reply: ArqReply }
  | { type: 'op.pause' }
  | { type: 'op.replay' }
  /** The same session came back on the same daemon: resynchronise (see `resyncing`). */
  | { type: 'op.resync.begin' }
  /** The daemon answered the resync's cancel: it holds the operation no more. */
  | { type: 'op.resync.answered' }
  /**
   * The caller cancelled. With the link up (awaiting, resyncing) a cancel request went to the daemon,
   * so its code-24 reply (or the cancel's own) follows; paused, nothing reaches the daemon.
   */
  | { type: 'op.cancel' }
  /** The daemon answered our cancel request. */
  | { type: 'op.cancelAck' }
  | { type: 'op.close' }
  | { type: 'op.abandon'; error: Error };

/** What an operation asks of its parent. */
export type ArqReport =
  | { type: 'op.transmit'; queryId: string; bytes: Uint8Array }
  /** Send the daemon a cancel for this operation (by its cancel key) and answer op.resync.answered. */
  | { type: 'op.resync.cancel'; queryId: string };

export interface ArqContext extends ArqInput {
  transmissions: number;
  /** Cancels sent to resynchronise after a resumed session. */
  resyncs: number;
  result: ArqOutput | undefined;
}

const CANCELLED = 24;
const EXPECTED_ENCRYPTED_MESSAGE_CODES: ReadonlySet<number> = new Set([1, 10, 11]);

const code = (event: ArqEvent): number | undefined =>
  event.type === 'op.reply' ? (event.reply.error_code ?? 0) : undefined;

/**
 * How a reply ends the operation. Code 24 answers only a cancel this client sent, so awaiting has no
 * branch for it (an unasked-for 24 would be `failed` with code 24, which the facade reports as
 * cancelled anyway).
 */
const onReply = [
  { guard: 'isSuccess', target: 'done', actions: 'recordDone' },
  { guard: 'isExpectedOutcome', target: 'expected', actions: 'recordExpected' },
  { target: 'failed', actions: 'recordFailed' },
] as const;

export const arqMachine = setup({
  types: {
    context: {} as ArqContext,
    events: {} as ArqEvent,
    input: {} as ArqInput,
    output: {} as ArqOutput,
  },
  actions: {
    /** To the client's work registry, which owns the socket side (actors/registry.ts). */
    transmit: sendTo(
      ({ system }) => system.get('registry'),
      ({ context }): ArqReport => ({ type: 'op.transmit', queryId: context.queryId, bytes: context.request }),
    ),
    countTransmission: assign({ transmissions: ({ context }) => context.transmissions + 1 }),
    requestResyncCancel: sendTo(
      ({ system }) => system.get('registry'),
      ({ context }): ArqReport => ({ type: 'op.resync.cancel', queryId: context.queryId }),
    ),
    countResync: assign({ resyncs: ({ context }) => context.resyncs + 1 }),
    /** A real reply reached us while resyncing: handle it in awaiting, as any reply. */
    replyAgain: raise(({ event }) => event),
    recordDone: assign({
      result: ({ event }) => ({
        outcome: 'done',
        reply: (event as Extract<ArqEvent, { type: 'op.reply' }>).reply,
      }),
    }),
    recordExpected: assign({
      result: ({ event }) => {
        const reply = (event as Extract<ArqEvent, { type: 'op.reply' }>).reply;
        return { outcome: 'expected', errorCode: reply.error_code ?? 0, reply };
      },
    }),
    recordFailed: assign({
      result: ({ event }) => {
        const reply = (event as Extract<ArqEvent, { type: 'op.reply' }>).reply;
        return { outcome: 'failed', errorCode: reply.error_code ?? 0, reply };
      },
    }),
    recordCancelled: assign({ result: { outcome: 'cancelled' } }),
    recordClosed: assign({ result: { outcome: 'closed' } }),
    recordAbandoned: assign({
      result: ({ event }) => ({
        outcome: 'abandoned',
        error: (event as Extract<ArqEvent, { type: 'op.abandon' }>).error,
      }),
    }),
  },
  guards: {
    isSuccess: ({ event }) => code(event) === 0,
    isCancelledCode: ({ event }) => code(event) === CANCELLED,
    isExpectedOutcome: ({ context, event }) =>
      context.kind === 'encryptedMessage' && EXPECTED_ENCRYPTED_MESSAGE_CODES.has(code(event) ?? -1),
  },
}).createMachine({
  id: 'arq',
  context: ({ input }) => ({ ...input, transmissions: 0, resyncs: 0, result: undefined }),
  output: ({ context }) => context.result ?? { outcome: 'abandoned', error: new Error('no outcome') },
  initial: 'sending',
  states: {
    sending: {
      entry: ['transmit', 'countTransmission'],
      always: 'awaiting',
    },
    // An operation runs only while the link is ready, and every loss of the link pauses it first:
    // so replay and abandonment come in paused, and a cancel here always went to the daemon.
    awaiting: {
      on: {
        'op.reply': onReply,
        'op.pause': 'paused',
        'op.cancel': 'cancelling',
        'op.close': { target: 'closed', actions: 'recordClosed' },
      },
    },
    paused: {
      on: {
        'op.replay': 'sending',
        'op.resync.begin': 'resyncing',
        // Disconnected: nothing reaches the daemon, so only local tracking is dropped.
        'op.cancel': { target: 'cancelled', actions: 'recordCancelled' },
        'op.close': { target: 'closed', actions: 'recordClosed' },
        'op.abandon': { target: 'abandoned', actions: 'recordAbandoned' },
      },
    },
    resyncing: {
      entry: ['requestResyncCancel', 'countResync'],
      on: {
        'op.reply': [
          // The daemon cancelling the original at our request; the cancel's own reply follows.
          { guard: 'isCancelledCode' },
          // The real reply came first: the operation is over, nothing is sent again.
          { target: 'awaiting', actions: 'replyAgain' },
        ],
        'op.resync.answered': 'sending',
        'op.pause': 'paused',
        'op.cancel': 'cancelling',
        'op.close': { target: 'closed', actions: 'recordClosed' },
      },
    },
    cancelling: {
      on: {
        // The reply the daemon owed before it saw our cancel: normally code 24, but the operation
        // may have finished first.
        'op.reply': [
          { guard: 'isCancelledCode', target: 'cancelled', actions: 'recordCancelled' },
          ...onReply,
        ],
        'op.cancelAck': { target: 'cancelled', actions: 'recordCancelled' },
        // Not worth replaying something we are abandoning.
        'op.pause': { target: 'cancelled', actions: 'recordCancelled' },
        'op.close': { target: 'closed', actions: 'recordClosed' },
      },
    },
    done: { type: 'final' },
    expected: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
    closed: { type: 'final' },
    abandoned: { type: 'final' },
  },
});

export type ArqActorRef = ActorRefFrom<typeof arqMachine>;

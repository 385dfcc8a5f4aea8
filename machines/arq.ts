/**
 * One in-flight `start_resending_encrypted_message` or `start_resending_copy_command`.
 *
 *   sending      transmit the encoded request (the same bytes every time) → awaiting
 *   awaiting     the daemon runs its ARQ; exactly one reply comes back
 *   paused       the socket is down; wait to learn whether the daemon still has the operation
 *                (op.resume: same session, keep waiting) or lost it (op.replay: send again)
 *   cancelling   a cancel went to the daemon; it answers the original with code 24, then the cancel
 *   done | expected | failed | cancelled | closed | abandoned   (final, with output)
 *
 * Daemon error codes are data here: BoxIDNotFound, BoxAlreadyExists and Tombstone end in
 * `expected`, other codes in `failed`, code 24 in `cancelled`. The facade turns outputs into
 * promise results and error classes. The client's work registry (actors/registry.ts) creates it,
 * routes replies to it by query_id and decides between resume and replay.
 */
import { type ActorRefFrom, assign, sendTo, setup } from 'xstate';
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
  | { type: 'op.resume' }
  | { type: 'op.replay' }
  /** `sent`: a cancel request went to the daemon, so its code-24 reply (or the cancel's own) follows. */
  | { type: 'op.cancel'; sent: boolean }
  /** The daemon answered our cancel request. */
  | { type: 'op.cancelAck' }
  | { type: 'op.close' }
  | { type: 'op.abandon'; error: Error };

/** What an operation asks of its parent. */
export type ArqReport = { type: 'op.transmit'; queryId: string; bytes: Uint8Array };

export interface ArqContext extends ArqInput {
  transmissions: number;
  result: ArqOutput | undefined;
}

const CANCELLED = 24;
const EXPECTED_ENCRYPTED_MESSAGE_CODES: ReadonlySet<number> = new Set([1, 10, 11]);

const code = (event: ArqEvent): number | undefined =>
  event.type === 'op.reply' ? (event.reply.error_code ?? 0) : undefined;

/** The reply-handling transitions shared by `awaiting` and `cancelling`. */
const onReply = [
  { guard: 'isSuccess', target: 'done', actions: 'recordDone' },
  { guard: 'isCancelledCode', target: 'cancelled', actions: 'recordCancelled' },
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
    cancelSent: ({ event }) => event.type === 'op.cancel' && event.sent,
  },
}).createMachine({
  id: 'arq',
  context: ({ input }) => ({ ...input, transmissions: 0, result: undefined }),
  output: ({ context }) => context.result ?? { outcome: 'abandoned', error: new Error('no outcome') },
  initial: 'sending',
  states: {
    sending: {
      entry: ['transmit', 'countTransmission'],
      always: 'awaiting',
    },
    awaiting: {
      on: {
        'op.reply': onReply,
        'op.pause': 'paused',
        'op.replay': 'sending',
        'op.cancel': [
          { guard: 'cancelSent', target: 'cancelling' },
          { target: 'cancelled', actions: 'recordCancelled' },
        ],
        'op.close': { target: 'closed', actions: 'recordClosed' },
        'op.abandon': { target: 'abandoned', actions: 'recordAbandoned' },
      },
    },
    paused: {
      on: {
        'op.resume': 'awaiting',
        'op.replay': 'sending',
        // Disconnected: nothing reaches the daemon, so only local tracking is dropped.
        'op.cancel': { target: 'cancelled', actions: 'recordCancelled' },
        'op.close': { target: 'closed', actions: 'recordClosed' },
        'op.abandon': { target: 'abandoned', actions: 'recordAbandoned' },
      },
    },
    cancelling: {
      on: {
        // The reply the daemon owed before it saw our cancel: normally code 24, but the operation
        // may have finished first.
        'op.reply': onReply,
        'op.cancelAck': { target: 'cancelled', actions: 'recordCancelled' },
        // Not worth replaying something we are abandoning.
        'op.pause': { target: 'cancelled', actions: 'recordCancelled' },
        'op.close': { target: 'closed', actions: 'recordClosed' },
        'op.abandon': { target: 'cancelled', actions: 'recordCancelled' },
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

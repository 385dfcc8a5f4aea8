/**
 * The ARQ machine's test model, shared by the scripted-daemon test and the devnet paths: the events
 * the client system can send one operation, which of them it can send in each state, and the paths
 * xstate/graph's createTestModel generates from them.
 */
import { createActor } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { type ArqEvent, type ArqKind, arqMachine } from '../../machines/arq.js';

export const reply = (code: number): ArqEvent => ({ type: 'op.reply', reply: { error_code: code } });

const EVENTS: ArqEvent[] = [
  reply(0),
  reply(24),
  reply(1),
  reply(3),
  { type: 'op.pause' },
  { type: 'op.replay' },
  { type: 'op.resync.begin' },
  { type: 'op.resync.answered' },
  { type: 'op.cancel' },
  { type: 'op.cancelAck' },
  { type: 'op.close' },
  { type: 'op.abandon', error: new Error('gave up redialling') },
];

export type ArqSnapshot = { value: unknown; context: { kind: ArqKind; result?: { outcome: string } } };

const isReply = (e: ArqEvent, code?: number) =>
  e.type === 'op.reply' && (code === undefined || (e.reply.error_code ?? 0) === code);

/**
 * What the supervisor can send an operation in each state: replies (code 24 only once a cancel went
 * out), cancels and a pause while the socket is up; replay, resync, cancels and abandonment only
 * after a pause; a cancel acknowledgement only after a cancel went out, the resync's answer only
 * while resyncing.
 */
function realizable(s: ArqSnapshot, e: ArqEvent): boolean {
  switch (s.value) {
    case 'awaiting':
      return (isReply(e) && !isReply(e, 24)) || ['op.pause', 'op.cancel', 'op.close'].includes(e.type);
    case 'paused':
      return ['op.replay', 'op.resync.begin', 'op.cancel', 'op.close', 'op.abandon'].includes(e.type);
    case 'resyncing':
      return ['op.reply', 'op.resync.answered', 'op.pause', 'op.cancel', 'op.close'].includes(e.type);
    case 'cancelling':
      return ['op.reply', 'op.cancelAck', 'op.pause', 'op.close'].includes(e.type);
    default:
      return false;
  }
}

export const eventName = (e: ArqEvent | { type: string }) =>
  e.type === 'op.reply'
    ? `reply(${(e as Extract<ArqEvent, { type: 'op.reply' }>).reply.error_code})`
    : e.type;

const serialize = (s: ArqSnapshot) => JSON.stringify([s.value, s.context.result?.outcome ?? null]);

/** Shortest paths to every state and every edge, and a few longer stories, without duplicates. */
export function arqPaths(kind: ArqKind) {
  const input = { input: { queryId: '00', kind, request: new Uint8Array(1), cancelKey: '00' } };
  const logic = arqMachine.provide({ actions: { transmit: () => {}, requestResyncCancel: () => {} } });
  const model = createTestModel(logic, { events: EVENTS, filterEvents: realizable as never });
  // `transmissions` grows with every replay, so states are told apart by value and outcome only.
  const byState = model.getShortestPaths({
    ...input,
    serializeState: (s) => serialize(s as unknown as ArqSnapshot),
  });
  const byEdge = model.getShortestPaths({
    ...input,
    serializeState: (s, e, prev) =>
      JSON.stringify([
        prev ? serialize(prev as unknown as ArqSnapshot) : '',
        e ? eventName(e) : '',
        serialize(s as unknown as ArqSnapshot),
      ]),
  });
  // Longer stories the shortest paths cut short: life after a resume or a replay.
  const stories = [
    [{ type: 'op.pause' }, { type: 'op.replay' }, reply(0)],
    [{ type: 'op.pause' }, { type: 'op.replay' }, { type: 'op.cancel' }, reply(24)],
    [{ type: 'op.pause' }, { type: 'op.resync.begin' }, reply(24), { type: 'op.resync.answered' }, reply(0)],
    [{ type: 'op.pause' }, { type: 'op.resync.begin' }, reply(24), { type: 'op.resync.answered' }, reply(1)],
    [
      { type: 'op.pause' },
      { type: 'op.resync.begin' },
      { type: 'op.pause' },
      { type: 'op.replay' },
      reply(1),
    ],
    [
      { type: 'op.pause' },
      { type: 'op.resync.begin' },
      { type: 'op.pause' },
      { type: 'op.resync.begin' },
      { type: 'op.resync.answered' },
      { type: 'op.cancel' },
      { type: 'op.cancelAck' },
    ],
    [{ type: 'op.pause' }, { type: 'op.resync.begin' }, { type: 'op.cancel' }, reply(24)],
    [{ type: 'op.cancel' }, { type: 'op.pause' }],
  ] as ArqEvent[][];
  // (getPathsFromEvents builds its graph without `input`, so it starts from an explicit snapshot.)
  const fromState = createActor(logic, input).getSnapshot();
  const told = stories.flatMap((events) =>
    model.getPathsFromEvents(events, {
      fromState,
      serializeState: (s) => serialize(s as unknown as ArqSnapshot),
    }),
  );
  const seen = new Set<string>();
  return [...byState, ...byEdge, ...told].filter((p) => {
    const key = p.steps.map((s) => eventName(s.event)).join(' → ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

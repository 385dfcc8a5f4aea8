/**
 * The connection machine (machines/connection.ts) as the devnet can drive it: a test model whose
 * snapshot is the pure machine's snapshot plus what the devnet's side of the socket will do, and
 * whose events are the devnet's fault knobs and the client's commands, each turned into the one
 * machine event it causes. xstate/graph generates the paths; connectionOnDevnet.ts runs them.
 *
 * The daemon's side matters because a socket's handshake is fixed when the daemon accepts it
 * (stallHandshakes): an unstalled handshake sends status, document and session reply on its own, with
 * nothing in between; a stalled one stops before its stage, answers no session token, and hears only
 * broadcasts (a mixnet status change, a new epoch's document, a restart's shutdown_event). The
 * daemon's side also knows its generation (each restart brings a new instance token) and whether it
 * holds the client's session, so the model's session reply says `resumed` when the devnet's would.
 */
import { type ActorLogic, createActor, fromCallback, SimulatedClock, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  type ConnectionEvent,
  type ConnectionInput,
  type ConnectionReport,
  connectionMachine,
} from '../../../machines/connection.js';
import { Coverage } from '../coverage.js';

export type Stall = 'status' | 'document' | 'sessionReply' | null;

/** What makes one machine event happen over the devnet. */
export type DevnetEvent =
  /** The dial is accepted; the daemon stalls its handshake before `stall` (stallHandshakes). */
  | { type: 'open'; stall: Stall }
  /** connection_status_event: the handshake's first frame, else a mixnet status change. */
  | { type: 'status' }
  /** new_pki_document_event: the handshake's second frame, else a new epoch's broadcast. */
  | { type: 'document' }
  /** session_token_reply: only an unstalled handshake sends it, right after the document. */
  | { type: 'sessionReply' }
  /** shutdown_event: a daemon restart (a new instance token), or the devnet stopping for good. */
  | { type: 'shutdown'; stop: boolean }
  /** A frame that does not decode (sendUnreadableFrame): a protocol error, then the close. */
  | { type: 'unreadable' }
  /** The socket closes: by itself after a shutdown, an unreadable frame or thin_close; a refused
   * dial once the devnet is stopped; else dropConnections. */
  | { type: 'closed' }
  | { type: 'disconnect' }
  | { type: 'connect' }
  /** close(); `keep`: the daemon leaves the socket open after thin_close (ignoreThinClose). */
  | { type: 'close'; keep: boolean }
  | { type: 'handshakeTimeout' }
  | { type: 'reconnectDelay' }
  | { type: 'closeTimeout' };

type Due = 'status' | 'document' | 'sessionReply' | 'closed';

/** The devnet's side, as the connection can tell it. */
export interface DaemonSide {
  /** The devnet accepts dials: false once it is stopped. */
  listening: boolean;
  /** What the daemon sends (or does) next on this socket on its own, before anything else can happen. */
  due: Due[];
  /** Daemon restarts so far: each daemon has its own instance token. */
  generation: number;
  /** The daemon holds a session for the client's token, so a session reply says resumed. */
  session: boolean;
}

const INITIAL_DAEMON: DaemonSide = { listening: true, due: [], generation: 0, session: false };

type MachineSnapshot = SnapshotFrom<typeof connectionMachine>;

export interface ModelSnapshot {
  status: 'active' | 'done';
  output: undefined;
  error: undefined;
  machine: MachineSnapshot;
  daemon: DaemonSide;
}

export const HANDSHAKE_MS = 30_000;
export const CLOSE_MS = 2000;
/** A constant redial delay, and one redial before giving up: short paths to `failed`. */
export const RECONNECT = { initialDelayMs: 1000, maxDelayMs: 1000, factor: 1, jitter: 0, maxAttempts: 1 };
export const MODEL_INPUT: ConnectionInput = {
  dial: { type: 'tcp', address: '127.0.0.1:1' },
  clientToken: new Uint8Array(16),
  reconnect: RECONNECT,
  handshakeTimeoutMs: HANDSHAKE_MS,
  closeTimeoutMs: CLOSE_MS,
};

export const modelMachine = connectionMachine.provide({
  actors: { transport: fromCallback(() => () => {}) as never },
  actions: { report: () => {} },
});

const frame = (key: string, body: object = {}): ConnectionEvent =>
  ({ type: 'transport.message', message: { key, body } }) as ConnectionEvent;
const after = (name: string) => ({ type: `xstate.after.${name}` }) as unknown as ConnectionEvent;

/** The machine event each devnet event causes, with the daemon's side `d` as it was. */
export function machineEvent(e: DevnetEvent, d: DaemonSide): ConnectionEvent {
  switch (e.type) {
    case 'open':
      return { type: 'transport.open' };
    case 'status':
      return frame('connection_status_event', { instance_token: new Uint8Array(16).fill(d.generation) });
    case 'document':
      return frame('new_pki_document_event');
    case 'sessionReply':
      return frame('session_token_reply', { app_id: new Uint8Array(16), resumed: d.session });
    case 'shutdown':
      return frame('shutdown_event');
    case 'unreadable':
      return { type: 'transport.protocolError', error: new Error('unreadable frame') };
    case 'closed':
      return { type: 'transport.closed' };
    case 'disconnect':
    case 'connect':
      return { type: `connection.${e.type}` };
    case 'close':
      return { type: 'connection.close' };
    case 'handshakeTimeout':
      return after('handshakeTimeout.connection.online.connecting');
    case 'reconnectDelay':
      return after('reconnectDelay.connection.backoff');
    case 'closeTimeout':
      return after('closeTimeout.connection.online.closing');
  }
}

/** The innermost state name: dialing, awaitingStatus, …, ready, closing, backoff, …, closed. */
export function leaf(value: unknown): string {
  let v = value;
  while (v && typeof v === 'object') v = Object.values(v)[0];
  return String(v);
}

const AWAITING = new Set(['awaitingStatus', 'awaitingDocument', 'awaitingSessionReply']);
const STALLS: Stall[] = [null, 'sessionReply', 'document', 'status'];
const BROADCASTS: DevnetEvent[] = [
  { type: 'status' },
  { type: 'document' },
  { type: 'shutdown', stop: false },
  { type: 'shutdown', stop: true },
  { type: 'unreadable' },
  { type: 'closed' },
];

/**
 * What the devnet and the client can make happen now. The client's commands need a ThinClient, which
 * exists once the first session was ready; before that only an aborted connect closes it (its signal).
 * A disconnect or close while dialing is made in the same tick as the dial.
 */
export function enabledEvents(s: ModelSnapshot): DevnetEvent[] {
  if (s.status !== 'active') return [];
  const state = leaf(s.machine.value);
  const { due, listening } = s.daemon;
  const client = s.machine.context.everReady;
  const commands: DevnetEvent[] = client ? [{ type: 'disconnect' }] : [];
  const closes: DevnetEvent[] = [
    { type: 'close', keep: false },
    { type: 'close', keep: true },
  ];
  if (state === 'dialing') {
    const dial: DevnetEvent[] = listening
      ? STALLS.map((stall) => ({ type: 'open', stall }))
      : [{ type: 'closed' }];
    return client ? [...dial, ...commands, { type: 'close', keep: false }] : dial;
  }
  if (due.length > 0) return [{ type: due[0]! }];
  if (AWAITING.has(state)) return [...BROADCASTS, { type: 'handshakeTimeout' }, ...commands, ...closes];
  if (state === 'ready') return [...BROADCASTS, ...commands, ...closes];
  if (state === 'closing') return [...BROADCASTS, { type: 'closeTimeout' }];
  if (state === 'backoff') return [{ type: 'reconnectDelay' }, { type: 'connect' }, ...commands, closes[0]!];
  if (state === 'disconnected') return [{ type: 'connect' }, closes[0]!];
  return [];
}

/** The handshake frames the daemon sends on its own: those before the stage it stalls at. */
function handshakeFrames(stall: Stall): Due[] {
  const all: Due[] = ['status', 'document', 'sessionReply'];
  return stall === null ? all : all.slice(0, all.indexOf(stall));
}

/** The daemon's side after `e` took the machine from `before` to `after`. */
function nextDaemon(d: DaemonSide, e: DevnetEvent, before: string, after: string): DaemonSide {
  const restart = e.type === 'shutdown' && !e.stop;
  const side = {
    listening: d.listening && !(e.type === 'shutdown' && e.stop),
    generation: d.generation + (restart ? 1 : 0),
    // A restart forgets every session; the session reply is for the session the token claimed.
    session: (d.session || e.type === 'sessionReply') && !restart,
  };
  if (e.type === 'open') return { ...side, due: handshakeFrames(e.stall) };
  if (d.due[0] === e.type) return { ...side, due: d.due.slice(1) };
  if (e.type === 'shutdown' || e.type === 'unreadable') return { ...side, due: ['closed'] };
  if (e.type === 'close' && after === 'closing' && before !== 'closing')
    return { ...side, due: e.keep ? [] : ['closed'] };
  return { ...side, due: [] };
}

function snapshotOf(machine: MachineSnapshot, daemon: DaemonSide): ModelSnapshot {
  return {
    status: machine.status === 'active' ? 'active' : 'done',
    output: undefined,
    error: undefined,
    machine,
    daemon,
  };
}

/** The test model's logic: the pure connection machine, stepped by the devnet events. */
export const connectionOnDevnetLogic: ActorLogic<ModelSnapshot, DevnetEvent, ConnectionInput> = {
  getInitialSnapshot: (scope, input) =>
    snapshotOf(modelMachine.getInitialSnapshot(scope as never, input), INITIAL_DAEMON),
  transition: (s, e, scope) => {
    const machine = modelMachine.transition(s.machine, machineEvent(e, s.daemon), scope as never);
    return snapshotOf(machine, nextDaemon(s.daemon, e, leaf(s.machine.value), leaf(machine.value)));
  },
  getPersistedSnapshot: (s) => s,
};

export const eventName = (e: DevnetEvent): string => {
  switch (e.type) {
    case 'open':
      return e.stall === null ? 'open' : `open(stall ${e.stall})`;
    case 'shutdown':
      return e.stop ? 'shutdown(stop)' : 'shutdown(restart)';
    case 'close':
      return e.keep ? 'close(kept)' : 'close';
    default:
      return e.type;
  }
};

/** The daemon of the socket against the daemon of the last session: what a ready must replay. */
export const tokens = (c: Pick<MachineSnapshot['context'], 'instanceToken' | 'sessionInstanceToken'>) =>
  c.instanceToken === null
    ? 'none'
    : c.sessionInstanceToken === null
      ? 'fresh'
      : c.instanceToken === c.sessionInstanceToken
        ? 'same'
        : 'changed';

/** A state as the traversal tells states apart (the daemon's generation shows only as `tokens`). */
const abstract = ({ machine, daemon }: ModelSnapshot) =>
  JSON.stringify([
    machine.value,
    machine.context.everReady,
    machine.context.attempt,
    machine.context.framesLost,
    tokens(machine.context),
    daemon.listening,
    daemon.due,
    daemon.session,
  ]);

/** A report to the parent, in short: `ready first`, `ready replay`, `lost graceful requested`, … */
export function reportName(r: ConnectionReport): string {
  switch (r.type) {
    case 'connection.message':
      return `message ${r.message.key}`;
    case 'connection.ready':
      return ['ready', r.first && 'first', r.resumed && 'resumed', r.replay && 'replay']
        .filter(Boolean)
        .join(' ');
    case 'connection.lost':
      return ['lost', r.graceful && 'graceful', r.requested && 'requested'].filter(Boolean).join(' ');
    default:
      return r.type.slice('connection.'.length);
  }
}

/** One step of a path: the event, the model's state after it, and what the machine reported. */
export type ModelStep = { event: DevnetEvent; state: ModelSnapshot; reports: string[] };

/**
 * A generated path replayed on the pure machine (timers on a simulated clock): the exact state after
 * each event (the traversal keeps one snapshot per abstract state, reached by whichever path came
 * first), and the machine transitions the path takes.
 */
export function replay(events: readonly DevnetEvent[]): { steps: ModelStep[]; transitions: Set<string> } {
  const coverage = new Coverage('model', connectionMachine);
  const clock = new SimulatedClock();
  const reports: string[] = [];
  const recording = modelMachine.provide({
    actions: { report: (_, params: ConnectionReport) => void reports.push(reportName(params)) },
  });
  const actor = createActor(recording, { clock, input: MODEL_INPUT, inspect: coverage.observer() });
  actor.start();
  let daemon = INITIAL_DAEMON;
  const steps: ModelStep[] = [];
  for (const event of events) {
    const before = leaf(actor.getSnapshot().value);
    const reported = reports.length;
    if (event.type === 'handshakeTimeout') clock.increment(HANDSHAKE_MS);
    else if (event.type === 'reconnectDelay') clock.increment(RECONNECT.initialDelayMs);
    else if (event.type === 'closeTimeout') clock.increment(CLOSE_MS);
    else actor.send(machineEvent(event, daemon));
    const machine = actor.getSnapshot();
    daemon = nextDaemon(daemon, event, before, leaf(machine.value));
    steps.push({ event, state: snapshotOf(machine, daemon), reports: reports.slice(reported) });
  }
  actor.stop();
  return { steps, transitions: coverage.transitions };
}

/**
 * What a path must show at least once: each devnet event in each state, each machine transition,
 * each kind of report but forwarded frames (a first session, a resumed one, one after a restart…).
 */
function goalsOf(steps: readonly ModelStep[], transitions: Set<string>): string[] {
  const goals: string[] = [];
  let from = 'dialing';
  for (const { event, state, reports } of steps) {
    goals.push(`${from} --${eventName(event)}-->`);
    for (const r of reports) if (!r.startsWith('message')) goals.push(`report ${r}`);
    from = leaf(state.machine.value);
  }
  return [...goals, ...transitions];
}

/**
 * xstate/graph's shortest paths to every abstract state and to every edge between them, then the
 * fewest of them (greedily, most new goals first) that together show every goal any of them shows.
 */
export function connectionPaths(): { paths: ModelStep[][]; goals: Set<string> } {
  const options = { events: enabledEvents, input: MODEL_INPUT };
  const byState = getShortestPaths(connectionOnDevnetLogic, { ...options, serializeState: abstract });
  const byEdge = getShortestPaths(connectionOnDevnetLogic, {
    ...options,
    serializeState: (s, e, prev) =>
      JSON.stringify([prev ? abstract(prev) : '', e ? eventName(e) : '', abstract(s)]),
  });
  const generated = [...byState, ...byEdge]
    .map((p) => (p.steps as ModelStep[]).filter((s) => (s.event.type as string) !== 'xstate.init'))
    .filter((steps) => steps.length > 0);
  // A path that begins another shows nothing the other does not: only the longest are replayed.
  const names = (steps: readonly ModelStep[], n = steps.length) =>
    steps
      .slice(0, n)
      .map((s) => eventName(s.event))
      .join(' → ');
  const prefixes = new Set(generated.flatMap((steps) => steps.slice(1).map((_, n) => names(steps, n + 1))));
  const longest = [...new Map(generated.map((steps) => [names(steps), steps])).values()].filter(
    (steps) => !prefixes.has(names(steps)),
  );
  const candidates = longest.map((generated) => {
    const { steps, transitions } = replay(generated.map((s) => s.event));
    // What the events enabled depends on is in the abstract state, so the replay agrees with it.
    steps.forEach((s, i) => {
      if (abstract(s.state) !== abstract(generated[i]!.state)) throw new Error('replay left the path');
    });
    return { steps, goals: new Set(goalsOf(steps, transitions)) };
  });
  const goals = new Set(candidates.flatMap((c) => [...c.goals]));
  const open = new Set(goals);
  const chosen: ModelStep[][] = [];
  while (open.size > 0) {
    let best = candidates[0]!;
    let gain = -1;
    for (const c of candidates) {
      const g = [...c.goals].filter((x) => open.has(x)).length;
      if (g > gain || (g === gain && c.steps.length < best.steps.length)) [best, gain] = [c, g];
    }
    chosen.push(best.steps);
    for (const g of best.goals) open.delete(g);
  }
  return { paths: chosen, goals };
}

/**
 * One generated path of the connection model (connectionModel.ts) run by a ThinClient's real
 * connection actor on a fresh devnet. Each model event is made to happen by the devnet's knobs or
 * the client's methods; timers fire on the client's simulated clock. Every event the real actor
 * receives is logged with the state it left the actor in and what it reported to the client while
 * handling it; each must be the path's next event, taking the actor to the model's state (value,
 * redial count, session history, socket flags) with the model's reports (frames forwarded, ready
 * with its resumed/replay flags, lost, protocol error, failed).
 */
import { expect } from 'vitest';
import { type AnyActorRef, type InspectionEvent, SimulatedClock } from 'xstate';
import type { ConnectionContext, ConnectionReport } from '../../../machines/connection.js';
import { type Devnet, startDevnet, VirtualClock } from '../../../src/devnet/index.js';
import { ThinClient } from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import {
  CLOSE_MS,
  type DevnetEvent,
  HANDSHAKE_MS,
  leaf,
  type ModelSnapshot,
  type ModelStep,
  machineEvent,
  RECONNECT,
  reportName,
  type Stall,
} from './connectionModel.js';
import { probeInspect } from './probe.js';

const EPOCH_MS = 120_000;

/** One event the real connection actor received, and the state it left the actor in. */
interface Received {
  event: { type: string; message?: { key: string } };
  key: string;
  value?: string;
  context?: string;
  /** What the actor reported to the client while it handled the event. */
  reports: string[];
}

/**
 * The part of the context the model decides: redial count, session history, socket flags (not
 * lastError: whether a closed socket carries an errno is the kernel's, not the model's).
 */
const contextOf = (c: ConnectionContext) =>
  JSON.stringify({
    attempt: c.attempt,
    everReady: c.everReady,
    graceful: c.graceful,
    framesLost: c.framesLost,
  });

const keyOf = (e: { type: string; message?: { key: string } }) =>
  e.type === 'transport.message' ? `${e.type}:${e.message?.key}` : e.type;

export class ConnectionOnDevnet {
  private readonly clock = new SimulatedClock();
  private readonly abort = new AbortController();
  private readonly log: Received[] = [];
  private client: ThinClient | undefined;
  private readonly connected: Promise<ThinClient | undefined>;
  private stopping: Promise<void> | undefined;
  /** Dials the path has had accepted so far. */
  private opens = 0;

  private constructor(readonly net: Devnet) {
    this.connected = ThinClient.connect(net.thinClientConfig, {
      clock: this.clock,
      reconnect: RECONNECT,
      handshakeTimeoutMs: HANDSHAKE_MS,
      signal: this.abort.signal,
      inspect: probeInspect((e) => this.watch(e)),
    }).then(
      (c) => (this.client = c),
      () => undefined,
    );
  }

  /** A fresh devnet whose first accepted dial stalls as the path's first `open` says. */
  static async start(firstStall: Stall): Promise<ConnectionOnDevnet> {
    const net = await startDevnet({
      authorityScheme: 'Ed25519',
      clock: new VirtualClock(),
      timing: { epochMs: EPOCH_MS },
      // Stalled handshakes wait for whole epochs; the devnet's idle-socket timeout would otherwise
      // close the (blameless, silent) client socket first.
      limits: { handshakeTimeoutMs: Number.POSITIVE_INFINITY },
      // A session outlives every dropped socket of a path, however many epochs it runs through.
      sessionGracePeriodMs: 24 * 3600_000,
    });
    net.stallHandshakes(firstStall);
    return new ConnectionOnDevnet(net);
  }

  private watch(e: InspectionEvent): void {
    const id = (e.actorRef as AnyActorRef & { systemId?: string }).systemId;
    if (id === 'client' && e.type === '@xstate.event' && e.event.type.startsWith('connection.')) {
      // Reported while the connection handles its oldest event not yet handled.
      this.log.find((r) => r.value === undefined)?.reports.push(reportName(e.event as ConnectionReport));
      return;
    }
    if (id !== 'connection') return;
    if (e.type === '@xstate.event' && !e.event.type.startsWith('xstate.init')) {
      const event = e.event as Received['event'];
      this.log.push({ event, key: keyOf(event), reports: [] });
    } else if (e.type === '@xstate.snapshot') {
      const entry = this.log.find((r) => r.event === e.event && r.value === undefined);
      if (!entry) return;
      const snapshot = e.snapshot as unknown as { value?: unknown; context: ConnectionContext };
      entry.value = JSON.stringify(snapshot.value);
      entry.context = contextOf(snapshot.context);
    }
  }

  /** Runs the path: causes each step's event and checks the actor against the model after it. */
  async run(steps: readonly ModelStep[]): Promise<void> {
    let before: ModelSnapshot | undefined;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const next = steps[i + 1];
      const dials = leaf(step.state.machine.value) === 'dialing';
      // The daemon fixes a socket's handshake when it accepts it.
      if (dials) this.net.stallHandshakes(nextStall(steps, i + 1));
      // A disconnect or close while dialing has to come in the tick the dial starts.
      const sameTick = next !== undefined && dials && isCommand(next.event);
      await this.cause(step.event, before);
      if (sameTick) await this.cause(next.event, step.state);
      await this.check(i, step);
      if (sameTick) await this.check(++i, next);
      before = steps[i]!.state;
    }
  }

  /** Makes `e` happen; `before` is the model's state it happens in (undefined: the initial state). */
  private async cause(e: DevnetEvent, before: ModelSnapshot | undefined): Promise<void> {
    const net = this.net;
    const due = before?.daemon.due[0];
    switch (e.type) {
      case 'open':
        this.opens++;
        return; // the devnet accepts the dial on its own
      case 'sessionReply':
        return; // an unstalled handshake answers the session token
      case 'status':
        if (due !== 'status') net.setMixnetConnected(!net.isMixnetConnected());
        return;
      case 'document':
        if (due !== 'document') await (net.clock as VirtualClock).advance(EPOCH_MS);
        return;
      case 'shutdown':
        if (e.stop) this.stopping = net.stop();
        else await net.restartDaemon();
        return;
      case 'unreadable':
        net.sendUnreadableFrame();
        return;
      case 'closed':
        // After a shutdown, an unreadable frame or thin_close the socket closes by itself, and once the
        // devnet has stopped a dial is refused.
        if (due !== 'closed' && leaf(before?.machine.value) !== 'dialing') net.dropConnections();
        return;
      case 'disconnect':
        void this.client!.disconnect();
        return;
      case 'connect':
        this.client!.reconnect().catch(() => {});
        return;
      case 'close':
        net.ignoreThinClose(e.keep);
        if (this.client) void this.client.close();
        else this.abort.abort(); // before the first session: connect's signal closes the client
        return;
      case 'handshakeTimeout':
        this.clock.increment(HANDSHAKE_MS);
        return;
      case 'reconnectDelay':
        this.clock.increment(RECONNECT.initialDelayMs);
        return;
      case 'closeTimeout':
        this.clock.increment(CLOSE_MS);
        return;
    }
  }

  /** The actor's next received event is the step's, and left it in the model's state. */
  private async check(i: number, step: ModelStep): Promise<void> {
    await until(() => this.log[i]?.value !== undefined);
    const got = this.log[i]!;
    const want = {
      key: keyOf(machineEvent(step.event, step.state.daemon)),
      value: JSON.stringify(step.state.machine.value),
      context: contextOf(step.state.machine.context),
      reports: step.reports,
    };
    expect(
      { key: got.key, value: got.value, context: got.context, reports: got.reports },
      this.log.map((r) => `${r.key} → ${r.value}`).join('\n'),
    ).toEqual(want);
    // The client saw the socket open; what the daemon broadcasts next must find it accepted.
    if (step.event.type === 'open') await until(() => this.net.stats().connections.admitted >= this.opens);
  }

  async stop(): Promise<void> {
    this.stopping ??= this.net.stop();
    await this.stopping;
    this.abort.abort();
    const client = await this.connected;
    await client?.close();
  }
}

/** The stall of the next dial the path has accepted, at or after step `i`. */
function nextStall(steps: readonly ModelStep[], i: number): Stall {
  for (let j = i; j < steps.length; j++) {
    const e = steps[j]!.event;
    if (e.type === 'open') return e.stall;
  }
  return null;
}

const isCommand = (e: DevnetEvent) => e.type === 'disconnect' || e.type === 'close';

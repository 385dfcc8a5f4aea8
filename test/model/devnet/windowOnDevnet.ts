/**
 * One windowed transfer of a ThinClient over the devnet (a readStream of windowModel.ts's boxes, so
 * that a box can fail for good: a tombstone), run along a generated path of machines/window.ts. The
 * devnet's virtual clock holds every box in flight until the run moves it on; the client's simulated
 * clock holds the admission gap. The outcome of each attempt is planned from the path, and set up as
 * the window admits it (START_BOXES to its `boxes` child):
 *
 *   done          the mixnet is up; the box completes when the devnet's clock moves on, after one of
 *                 the faults it survives: none, the first transmission lost (the loss knob, on while
 *                 it is sent), a daemon restart with a new instance token (replayed), disconnect() and
 *                 reconnect() (resumed), the socket dropped (resumed)
 *   retry         the mixnet is down, so the daemon's link refuses the attempt at once (retryable)
 *   fatal         the mixnet is up and the box holds a tombstone (written before the transfer)
 *   held          the mixnet is up; the box stays in flight (a cancel, or the end of the path)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { SimulatedClock } from 'xstate';
import type { StartBoxes } from '../../../machines/window.js';
import { nextIndex } from '../../../src/crypto/bacap.js';
import { type Devnet, startDevnet, VirtualClock } from '../../../src/devnet/index.js';
import { ThinClient, TombstoneError } from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import { probeInspect } from './probe.js';
import { BOXES, comparable, GAP_MS, TICK, type WindowPath, type WindowSnap } from './windowModel.js';

export const DONE_FAULTS = ['none', 'loss', 'restart', 'disconnect', 'drop'] as const;
export type DoneFault = (typeof DONE_FAULTS)[number];
export type AttemptPlan = { outcome: 'retry' | 'fatal' | 'held' } | { outcome: 'done'; fault: DoneFault };

/** The plan of every attempt of a path, by `k/attempt`; `faultFor` picks the fault of each completion. */
export function planAttempts(
  path: WindowPath,
  faultFor: (stateBefore: string) => DoneFault,
): Map<string, AttemptPlan> {
  const plan = new Map<string, AttemptPlan>();
  let before: WindowSnap['context']['failures'] = {};
  let valueBefore = path.pacing ? 'pacing' : 'admitting';
  for (const { event, state } of path.steps) {
    if (event.type === 'BOX_DONE' || event.type === 'BOX_FAILED') {
      const key = `${event.k}/${(before[event.k] ?? 0) + 1}`;
      if (event.type === 'BOX_DONE') plan.set(key, { outcome: 'done', fault: faultFor(valueBefore) });
      else plan.set(key, { outcome: event.retryable ? 'retry' : 'fatal' });
    }
    before = state.context.failures;
    valueBefore = typeof state.value === 'string' ? state.value : Object.values(state.value)[0]!;
  }
  return plan;
}

type Outcome = { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown; data?: Uint8Array };

export class WindowOnDevnet {
  private window: AnyActorRef | undefined;
  private last: WindowSnap | undefined;
  private lostBefore = 0;
  readonly abort = new AbortController();
  outcome: Outcome = { state: 'pending' };
  private payloads: Uint8Array[] = [];

  private constructor(
    readonly net: Devnet,
    readonly client: ThinClient,
    readonly clock: SimulatedClock,
    readonly plan: Map<string, AttemptPlan>,
  ) {}

  static async start(path: WindowPath, plan: Map<string, AttemptPlan>): Promise<WindowOnDevnet> {
    const net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
      clock: new VirtualClock(),
      timing: { hopFloorMs: 1000 },
    });
    const clock = new SimulatedClock();
    let sut: WindowOnDevnet | undefined;
    const client = await ThinClient.connect(net.thinClientConfig, {
      clock,
      // Redials at once (the client's clock stands still), so that no redial moves it past a gap.
      reconnect: { initialDelayMs: 0, factor: 1, jitter: 0, maxAttempts: 5 },
      inspect: probeInspect((e) => sut?.watch(e)),
    });
    sut = new WindowOnDevnet(net, client, clock, plan);
    await sut.begin(path);
    return sut;
  }

  private watch(ev: InspectionEvent): void {
    const ref = ev.actorRef as AnyActorRef & { systemId?: string };
    if (
      ev.type === '@xstate.event' &&
      ev.event.type === 'START_BOXES' &&
      (ref as { _parent?: AnyActorRef })._parent === this.window
    ) {
      for (const { k, attempt } of (ev.event as StartBoxes).boxes) this.admitted(k, attempt);
      return;
    }
    if (!ref.systemId?.startsWith('window:')) return;
    this.window ??= ref;
    if (ev.type === '@xstate.snapshot' && ref === this.window) this.last = ev.snapshot as WindowSnap;
  }

  /** Sets the devnet up for the outcome planned for this attempt, before its request reaches the daemon. */
  private admitted(k: number, attempt: number): void {
    const plan = this.plan.get(`${k}/${attempt}`) ?? { outcome: 'held' };
    this.net.setMixnetConnected(plan.outcome !== 'retry');
    if (plan.outcome === 'done' && plan.fault === 'loss') {
      this.lostBefore = this.net.stats().packetsLost;
      this.net.setLossProbability(0.999);
    }
  }

  /** Writes the boxes (a tombstone where a box is to fail for good), then starts the read. */
  private async begin(path: WindowPath): Promise<void> {
    const c = this.client;
    const keys = await c.newKeypair(new Uint8Array(randomBytes(32)));
    const fatal = new Set(
      path.steps.flatMap((s) => (s.event.type === 'BOX_FAILED' && !s.event.retryable ? [s.event.k] : [])),
    );
    let index = keys.firstMessageIndex;
    let written = 0;
    for (let k = 0; k < BOXES; k++) {
      const payload = fatal.has(k) ? new Uint8Array(0) : new Uint8Array(randomBytes(16));
      this.payloads.push(payload);
      const w = await c.encryptWrite(payload, keys.writeCap, index);
      void c.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w }).then(() => written++);
      index = nextIndex(index);
    }
    await this.advance(() => written === BOXES);
    c.readStream(keys.readCap, keys.firstMessageIndex, BOXES, 1, {
      pacing: path.pacing ? { meanGapMs: GAP_MS } : false,
      maxAttempts: 2,
      signal: this.abort.signal,
    }).then(
      (r) => {
        this.outcome = { state: 'fulfilled', data: r.data };
      },
      (error: unknown) => {
        this.outcome = { state: 'rejected', error };
      },
    );
    await until(() => this.last !== undefined);
  }

  private matches(state: WindowSnap): boolean {
    return (
      this.last !== undefined && JSON.stringify(comparable(this.last)) === JSON.stringify(comparable(state))
    );
  }

  /** Makes the step's event happen and waits until the window is in the step's state. */
  async step(step: WindowPath['steps'][number]): Promise<void> {
    const { event, state } = step;
    const there = () => this.matches(state);
    switch (event.type) {
      case 'BOX_DONE': {
        const attempt = (this.last!.context.failures[event.k] ?? 0) + 1;
        const plan = this.plan.get(`${event.k}/${attempt}`);
        if (plan?.outcome === 'done') await this.survive(plan.fault);
        await this.advance(there);
        break;
      }
      case 'BOX_FAILED':
        if (event.retryable) await until(there);
        else await this.advance(there);
        break;
      case 'CANCEL':
        this.abort.abort(new Error('stop'));
        await until(there);
        // Every box in flight is cancelled at the daemon.
        await until(() => this.net.stats().arqsInFlight === 0);
        break;
      case TICK:
        this.clock.increment(20 * GAP_MS + 1);
        await until(there);
        break;
    }
    expect(comparable(this.last!)).toEqual(comparable(state));
  }

  /** The box in flight goes through `fault` first (it is sent and dispatched by the daemon). */
  private async survive(fault: DoneFault): Promise<void> {
    await until(() => this.net.stats().arqsInFlight > 0);
    switch (fault) {
      case 'none':
        return;
      case 'loss':
        await this.advance(() => this.net.stats().packetsLost > this.lostBefore);
        this.net.setLossProbability(0);
        return;
      case 'restart':
        await this.net.restartDaemon();
        await this.redialed();
        // Replayed to the new daemon, and dispatched there.
        await until(() => this.net.stats().arqsInFlight > 0);
        return;
      case 'disconnect':
        await this.client.disconnect();
        await this.client.reconnect();
        return;
      case 'drop':
        this.net.dropConnections();
        await this.redialed();
        return;
    }
  }

  private async redialed(): Promise<void> {
    await until(() => !this.client.isDaemonConnected());
    await until(() => {
      this.clock.increment(0);
      return this.client.isDaemonConnected();
    });
  }

  /** Moves the devnet's clock on until `done`. */
  private async advance(done: () => boolean): Promise<void> {
    const ok = await (this.net.clock as VirtualClock).advanceUntil(done, 500, 600_000);
    expect(ok).toBe(true);
  }

  /** A final state settled the read the way the model says; a path that ends before leaves it pending. */
  async settled(final: WindowSnap): Promise<void> {
    if (final.status !== 'done') {
      expect(this.outcome.state).toBe('pending');
      return;
    }
    await until(() => this.outcome.state !== 'pending');
    if (final.value === 'done') {
      expect(this.outcome.state).toBe('fulfilled');
      expect(Buffer.from(this.outcome.data!).equals(Buffer.concat(this.payloads))).toBe(true);
    } else if (final.value === 'cancelled') {
      expect((this.outcome.error as Error).message).toBe('stop');
    } else {
      const last = final.context.failedBox!;
      const fatal = this.payloads[last]!.length === 0;
      expect(this.outcome.error).toBeInstanceOf(fatal ? TombstoneError : Error);
      if (!fatal) expect(String(this.outcome.error)).toContain('mixnet');
    }
  }

  async stop(): Promise<void> {
    await this.client.close();
    await this.net.stop();
  }
}

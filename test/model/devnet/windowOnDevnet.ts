/**
 * One windowed transfer of a ThinClient over the devnet (a readStream, so that a box can fail for
 * good: a tombstone), run along a generated path of machines/window.ts. The devnet's virtual clock
 * holds every box in flight until the run moves it on, and a read polls until its box is written; the
 * client's simulated clock holds the admission gap. A box completes when the run writes it, and fails
 * for good when the run writes it a tombstone; the outcome of each attempt is planned from the path,
 * and set up as the window admits it (START_BOXES to its `boxes` child):
 *
 *   done          the mixnet is up; once the box is written, the read completes after one of the
 *                 faults it survives: none, loss (the loss knob is on as it is sent, until a packet
 *                 is lost: its own, or with another box in flight maybe that one's poll; both are
 *                 sent again), a daemon restart with a new instance token (replayed), disconnect()
 *                 and reconnect() (resumed), the socket dropped (resumed)
 *   retry         the mixnet is down, so the daemon's link refuses the attempt at once (retryable)
 *   fatal, held   the mixnet is up; the box stays in flight until it is written a tombstone (fatal),
 *                 or the transfer is cancelled, or the path ends
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { SimulatedClock } from 'xstate';
import type { StartBoxes } from '../../../machines/window.js';
import { nextIndex } from '../../../src/crypto/bacap.js';
import type { Devnet, VirtualClock } from '../../../src/devnet/index.js';
import { ThinClient, TombstoneError } from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import { startFrozenDevnet } from './frozenDevnet.js';
import { probeInspect } from './probe.js';
import { comparable, GAP_MS, TICK, type WindowPath, type WindowSnap } from './windowModel.js';

export const DONE_FAULTS = ['none', 'loss', 'restart', 'disconnect', 'drop'] as const;
export type DoneFault = (typeof DONE_FAULTS)[number];
export type AttemptPlan =
  | { outcome: 'retry' | 'fatal' | 'held' }
  | {
      outcome: 'done';
      fault: DoneFault;
      /** The window's state as it completes. */
      in: string;
    };

/**
 * The plan of every attempt of a path, by `k/attempt`; `faultFor` picks the fault of each completion.
 * A box admitted together with another (the first window of an unpaced transfer) is not given the
 * loss: the first packet lost would be the first box's.
 */
export function planAttempts(
  path: WindowPath,
  faultFor: (stateBefore: string, loss: boolean) => DoneFault,
): Map<string, AttemptPlan> {
  const plan = new Map<string, AttemptPlan>();
  let before: WindowSnap['context']['failures'] = {};
  let valueBefore = path.pacing ? 'pacing' : 'admitting';
  for (const { event, state } of path.steps) {
    if (event.type === 'BOX_DONE' || event.type === 'BOX_FAILED') {
      const attempt = (before[event.k] ?? 0) + 1;
      const key = `${event.k}/${attempt}`;
      const together = !path.pacing && path.shape.window > 1 && attempt === 1 && event.k < path.shape.window;
      if (event.type === 'BOX_DONE')
        plan.set(key, { outcome: 'done', fault: faultFor(valueBefore, !together), in: valueBefore });
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
  private lossOn = false;
  private writeCap: Uint8Array = new Uint8Array(0);
  private indices: Uint8Array[] = [];
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
    const net = await startFrozenDevnet();
    const clock = new SimulatedClock();
    let sut: WindowOnDevnet | undefined;
    const client = await ThinClient.connect(net.thinClientConfig, {
      clock,
      // Redials at once (the client's clock stands still), so that no redial moves it past a gap.
      reconnect: { initialDelayMs: 0, factor: 1, jitter: 0, maxAttempts: 5 },
      // The daemon polls a read until its box is written: one operation per attempt, on the devnet's
      // clock (the client's own scheduler would poll on the client's, which stands still).
      waitingReads: false,
      inspect: probeInspect((e) => sut?.watch(e)),
    });
    sut = new WindowOnDevnet(net, client, clock, plan);
    await sut.begin(path);
    return sut;
  }

  private watch(ev: InspectionEvent): void {
    const ref = ev.actorRef as AnyActorRef & {
      systemId?: string;
      _parent?: AnyActorRef & { systemId?: string };
    };
    if (ev.type === '@xstate.event' && ev.event.type === 'START_BOXES') {
      // To the window's `boxes` child: there is one window per run.
      if (ref._parent?.systemId?.startsWith('window:'))
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
    if (plan.outcome === 'done' && plan.fault === 'loss' && !this.lossOn) {
      this.lostBefore = this.net.stats().packetsLost;
      this.lossOn = true;
      this.net.setLossProbability(0.999);
    }
  }

  /** Starts the read of boxes nobody has written yet. */
  private async begin(path: WindowPath): Promise<void> {
    const c = this.client;
    const keys = await c.newKeypair(new Uint8Array(randomBytes(32)));
    this.writeCap = keys.writeCap;
    let index = keys.firstMessageIndex;
    for (let k = 0; k < path.shape.boxCount; k++) {
      this.indices.push(index);
      this.payloads.push(new Uint8Array(randomBytes(16)));
      index = nextIndex(index);
    }
    c.readStream(keys.readCap, keys.firstMessageIndex, path.shape.boxCount, path.shape.window, {
      pacing: path.pacing ? { meanGapMs: GAP_MS } : false,
      maxAttempts: path.shape.maxAttempts,
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
    await this.loseFirstTransmission();
  }

  /** A box admitted with the loss knob on: its first transmission is lost, then the knob goes off. */
  private async loseFirstTransmission(): Promise<void> {
    if (!this.lossOn) return;
    // No read completes meanwhile: its box is not written yet.
    await this.advance(() => this.net.stats().packetsLost > this.lostBefore);
    this.net.setLossProbability(0);
    this.lossOn = false;
  }

  /** Writes box k (a tombstone for `fatal`) and moves time on until the write is done and `there`. */
  private async write(k: number, fatal: boolean, there: () => boolean): Promise<void> {
    const payload = fatal ? new Uint8Array(0) : this.payloads[k]!;
    if (fatal) this.payloads[k] = payload;
    const w = await this.client.encryptWrite(payload, this.writeCap, this.indices[k]!);
    let written = false;
    void this.client
      .startResendingEncryptedMessage({ writeCap: this.writeCap, ...w })
      .then(() => (written = true));
    await this.advance(() => written && there());
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
        await this.write(event.k, false, there);
        break;
      }
      case 'BOX_FAILED':
        if (event.retryable) await until(there);
        else await this.write(event.k, true, there);
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
    await this.loseFirstTransmission();
  }

  /** The box in flight goes through `fault` first (it is sent and dispatched by the daemon). */
  private async survive(fault: DoneFault): Promise<void> {
    await until(() => this.net.stats().arqsInFlight > 0);
    switch (fault) {
      case 'none':
        return;
      case 'loss': // lost as it was sent (loseFirstTransmission)
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
      return;
    }
    if (final.value === 'cancelled') expect((this.outcome.error as Error).message).toBe('stop');
    else {
      const fatal = this.payloads[final.context.failedBox!]!.length === 0;
      expect(this.outcome.error).toBeInstanceOf(fatal ? TombstoneError : Error);
      if (!fatal) expect(String(this.outcome.error)).toContain('mixnet');
    }
    // Every box still in flight is cancelled at the daemon.
    await until(() => this.net.stats().arqsInFlight === 0);
  }

  async stop(): Promise<void> {
    await this.client.close();
    await this.net.stop();
  }
}

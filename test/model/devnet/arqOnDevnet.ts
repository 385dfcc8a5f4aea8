/**
 * One ARQ operation of a ThinClient over the devnet, held in flight by the devnet's virtual clock
 * (each hop takes a simulated second), and the fault knobs that make its model events happen:
 *
 *   (start)    the operation's first transmission is lost (the loss knob, on while it is sent), so
 *              every reply below comes from the daemon's retransmission
 *   reply      time moves on; the outcome is chosen by what the operation is (`Mode`): a write
 *              (done), a no-retry read of a box never written (expected), a copy command over a
 *              temp channel holding no copy stream (failed); with a cancel out, code 24
 *   pause      the socket dropped (then resync), a daemon restart with a new instance token (then
 *              replay), disconnect() (a pause that lasts), the devnet going away (then abandon)
 *   resync     the same session comes back: the client's cancel finds the operation at the daemon
 *              (code 24, then its answer), or finds nothing when the daemon's send queue, which a
 *              dropped socket empties, still held it (`queued`: only the answer); a pause, cancel or
 *              close during the resync is caused as the operation enters it, before the daemon reads
 *              the resync's cancel
 *   cancel     cancelResending… with the link up or down
 *   cancelAck  the cancel reaches a daemon whose mixnet is down, so the operation still sits in its
 *              send queue: only the cancel is answered
 *   a reply after a cancel went out: the daemon's frames are held while its reply is written, the
 *              cancel goes, then the frames go
 *   pause, close after a cancel went out: in the same tick, before the daemon reads the cancel
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ArqEvent } from '../../../machines/arq.js';
import { blake2b256 } from '../../../src/crypto/hash.js';
import type { Devnet, VirtualClock } from '../../../src/devnet/index.js';
import { ThinClient } from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import { EventTally } from '../eventTally.js';
import { startFrozenDevnet } from './frozenDevnet.js';
import { probeInspect } from './probe.js';

export type Mode = 'write' | 'missing' | 'copyFails' | 'queued';

type Outcome = { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown };

export class ArqOnDevnet {
  private op: AnyActorRef | undefined;
  private readonly tally = new EventTally();
  lastValue: unknown;
  /** The operation's states, without repeats: the model's steps are checked against it in order. */
  readonly visited: unknown[] = [];
  /** Caused as the operation enters `resyncing` (in a microtask, before the daemon reads anything). */
  private onResyncing: (() => void) | undefined;
  outcome: Outcome = { state: 'pending' };
  private cancelKey: Uint8Array = new Uint8Array(0);

  private constructor(
    readonly net: Devnet,
    readonly client: ThinClient,
    readonly mode: Mode,
  ) {}

  /** A client on a fresh devnet, and its operation in flight. */
  static async start(mode: Mode): Promise<ArqOnDevnet> {
    const net = await startFrozenDevnet();
    let sut: ArqOnDevnet | undefined;
    const client = await ThinClient.connect(net.thinClientConfig, {
      reconnect: { initialDelayMs: 10, factor: 1, jitter: 0, maxAttempts: 1 },
      inspect: probeInspect((e) => sut?.watch(e)),
    });
    sut = new ArqOnDevnet(net, client, mode);
    await sut.begin();
    return sut;
  }

  private watch(ev: InspectionEvent) {
    const ref = ev.actorRef as AnyActorRef;
    if (!ref.id.startsWith('op:') || !this.watching) return;
    this.op ??= ref;
    if (ref !== this.op) return;
    if (ev.type === '@xstate.event') this.tally.record(ev.event.type);
    if (ev.type !== '@xstate.snapshot') return;
    const value = (ev.snapshot as { value?: unknown }).value;
    this.lastValue = value;
    if (this.visited.at(-1) !== value) this.visited.push(value);
    if (value === 'resyncing' && this.onResyncing) {
      const cause = this.onResyncing;
      this.onResyncing = undefined;
      queueMicrotask(cause);
    }
  }

  /** Set once the operation under test starts (setting up a copy command runs a write first). */
  private watching = false;

  private async begin(): Promise<void> {
    const c = this.client;
    const keys = await c.newKeypair(new Uint8Array(randomBytes(32)));
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => {
          this.outcome = { state: 'fulfilled' };
        },
        (error: unknown) => {
          this.outcome = { state: 'rejected', error };
        },
      );
    if (this.mode === 'copyFails') {
      // The temp channel's first box holds a plain message, not a copy stream.
      const w = await c.encryptWrite(
        new TextEncoder().encode('no stream'),
        keys.writeCap,
        keys.firstMessageIndex,
      );
      let written = false;
      const write = c.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w }).then(() => {
        written = true;
      });
      await this.advance(() => written);
      await write;
      this.watching = true;
      this.loseFirstTransmission();
      this.cancelKey = blake2b256(keys.writeCap);
      settle(c.startResendingCopyCommand(keys.writeCap));
    } else if (this.mode === 'missing') {
      const r = await c.encryptRead(keys.readCap, keys.firstMessageIndex);
      this.watching = true;
      this.loseFirstTransmission();
      this.cancelKey = r.envelopeHash;
      settle(
        c.startResendingEncryptedMessage({
          readCap: keys.readCap,
          messageBoxIndex: keys.firstMessageIndex,
          ...r,
          noRetryOnBoxIdNotFound: true,
        }),
      );
    } else {
      const w = await c.encryptWrite(
        new TextEncoder().encode('model'),
        keys.writeCap,
        keys.firstMessageIndex,
      );
      this.watching = true;
      if (this.mode === 'write') this.loseFirstTransmission();
      this.cancelKey = w.envelopeHash;
      settle(c.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w }));
      // The request reaches a daemon whose mixnet has just gone down: it waits in the send queue.
      if (this.mode === 'queued') this.net.setMixnetConnected(false);
    }
    await until(() => this.lastValue === 'awaiting');
    // Dispatched by the daemon (its send slot is a zero-delay timer): a cancel now finds it there.
    if (this.mode !== 'queued') await until(() => this.net.stats().arqsInFlight > 0);
    if (this.lostBefore !== undefined) {
      await this.advance(() => this.net.stats().packetsLost > this.lostBefore!);
      this.net.setLossProbability(0);
      expect(this.lastValue).toBe('awaiting');
    }
  }

  private lostBefore: number | undefined;
  /** A pause or close caused in the same tick as the cancel before it. */
  private causedWithCancel: 'op.pause' | 'op.close' | undefined;

  /** The mixnet loses (almost surely: the devnet takes p < 1) the packet the operation sends now. */
  private loseFirstTransmission(): void {
    this.lostBefore = this.net.stats().packetsLost;
    this.net.setLossProbability(0.999);
  }

  private cancel(): Promise<void> {
    const p =
      this.mode === 'copyFails'
        ? this.client.cancelResendingCopyCommand(this.cancelKey)
        : this.client.cancelResendingEncryptedMessage(this.cancelKey);
    return p.catch(() => {});
  }

  /** How many times each event has been caused so far (a path may repeat one). */
  private readonly caused = new Map<string, number>();

  /** Waits for the `n`th delivery of `type` (the operation's own doing). */
  private async nth(type: string, n: number): Promise<void> {
    await until(() => this.tally.count(type) >= n);
  }

  /**
   * Makes `event` happen; `rest` are the model's following events (some causes are chosen to suit
   * them), `from` the model's state before it.
   */
  async cause(event: ArqEvent, rest: ArqEvent[], from: unknown): Promise<void> {
    const next = rest[0];
    const n = (this.caused.get(event.type) ?? 0) + 1;
    this.caused.set(event.type, n);
    switch (event.type) {
      case 'op.reply': {
        const code = event.reply.error_code ?? 0;
        // Code 24 answers a cancel that went out; after a caller's cancel, the reply is on its way already.
        if (code === 24 || this.tally.count('op.cancel') > 0) await this.nth('op.reply', n);
        else
          await this.tally.delivered('op.reply', () => this.advance(() => this.tally.count('op.reply') >= n));
        return;
      }
      case 'op.cancelAck':
        await this.nth(event.type, n);
        return;
      case 'op.pause':
        if (from === 'resyncing' || (from === 'cancelling' && this.causedWithCancel === 'op.pause'))
          return void (await this.nth('op.pause', n));
        await this.tally.delivered('op.pause', () => this.pauseFor(rest));
        return;
      case 'op.resync.begin':
        await this.nth(event.type, n);
        return;
      case 'op.resync.answered':
      case 'op.replay':
        await this.nth(event.type, n);
        // Sent again and dispatched by the daemon, so that a cancel finds it.
        if (this.mode !== 'queued') await until(() => this.net.stats().arqsInFlight > 0);
        return;
      case 'op.cancel':
        if (from === 'resyncing') return void (await this.nth(event.type, n));
        await this.causeCancel(next);
        return;
      case 'op.close':
        if (from === 'resyncing' || (from === 'cancelling' && this.causedWithCancel === 'op.close'))
          return void (await this.nth('op.close', n));
        await this.tally.delivered('op.close', () => this.client.close());
        return;
      case 'op.abandon':
        await this.nth(event.type, n);
        return;
    }
  }

  /** Loses the link the way the events after the pause (`after`) need. */
  private async pauseFor(after: ArqEvent[]): Promise<void> {
    const next = after[0];
    if (next?.type === 'op.replay') await this.net.restartDaemon();
    else if (next?.type === 'op.abandon') await this.net.stop();
    else if (next?.type === 'op.resync.begin') {
      this.causeDuringResync(after.slice(1));
      this.net.dropConnections();
    } else await this.client.disconnect(); // stays paused for a local cancel or close
  }

  /** Arranges the first of `during` (a pause, cancel or close) for the moment the operation enters `resyncing`. */
  private causeDuringResync(during: ArqEvent[]): void {
    const first = during[0];
    if (first?.type === 'op.pause') this.onResyncing = () => void this.pauseFor(during.slice(1));
    else if (first?.type === 'op.cancel') this.onResyncing = () => void this.cancel();
    else if (first?.type === 'op.close') this.onResyncing = () => void this.client.close();
  }

  private async causeCancel(next: ArqEvent | undefined): Promise<void> {
    const code = next?.type === 'op.reply' ? (next.reply.error_code ?? 0) : undefined;
    if (code !== undefined && code !== 24) {
      // The daemon's reply is written before it reads the cancel, and reaches the client after it.
      this.net.holdFrames(true);
      await this.advance(() => this.net.stats().arqsInFlight === 0);
      await this.tally.delivered('op.cancel', () => void this.cancel());
      this.net.holdFrames(false);
      return;
    }
    if (next?.type === 'op.pause' || next?.type === 'op.close') this.causedWithCancel = next.type;
    await this.tally.delivered('op.cancel', () => {
      void this.cancel();
      // In the same tick: the daemon never reads the cancel.
      if (next?.type === 'op.pause') this.net.dropConnections();
      if (next?.type === 'op.close') void this.client.close();
    });
  }

  /** Moves the devnet's clock on until `done`. */
  private async advance(done: () => boolean): Promise<void> {
    const ok = await (this.net.clock as VirtualClock).advanceUntil(done, 500, 600_000);
    expect(ok).toBe(true);
  }

  /** The operation's `index`th state (repeats dropped) is the model's; a final state settled the caller. */
  async check(value: unknown, index: number, final: boolean): Promise<void> {
    await until(() => this.visited.length > index);
    expect(this.visited[index]).toEqual(value);
    if (final) {
      await until(() => this.outcome.state !== 'pending');
      expect(this.outcome.state).toBe(value === 'done' ? 'fulfilled' : 'rejected');
    } else if (index === this.visited.length - 1) expect(this.outcome.state).toBe('pending');
  }

  async stop(): Promise<void> {
    await this.client.close();
    await this.net.stop();
  }
}

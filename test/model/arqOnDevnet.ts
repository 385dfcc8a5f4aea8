/**
 * One ARQ write of a ThinClient over the devnet, held in flight by the devnet's virtual clock (each
 * hop takes a simulated second), and the devnet's fault knobs that make its model events happen: time
 * moving on (the reply),
 * a dropped socket then the redial to the same daemon (pause, resume), a daemon restart with a new
 * instance token (pause, replay), disconnect() (a pause that lasts), a cancel with the link up or
 * down, close(), and the devnet going away for good (abandon).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ArqEvent } from '../../machines/arq.js';
import { type Devnet, startDevnet, VirtualClock } from '../../src/devnet/index.js';
import { ThinClient } from '../../src/index.js';
import { until } from '../unit/client/harness.js';
import { EventTally } from './eventTally.js';

/**
 * The model events this driver causes on the devnet, by their test names. Not yet here: a cancel sent
 * to the devnet daemon and its answer, and a reply after a resume (these paths hang; the scripted
 * daemon runs them).
 */
export const DEVNET_EVENTS = new Set([
  'reply(0)',
  'op.pause',
  'op.resume',
  'op.replay',
  'cancel(local)',
  'op.close',
  'op.abandon',
]);

export class ArqOnDevnet {
  private op: AnyActorRef | undefined;
  private readonly tally = new EventTally();
  lastValue: unknown;
  outcome: { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown } = { state: 'pending' };
  private readonly hash = new Uint8Array(randomBytes(32));

  private constructor(
    readonly net: Devnet,
    readonly client: ThinClient,
  ) {}

  /** A client on a fresh devnet whose mixnet is down, and its write in flight. */
  static async start(observe: (ev: InspectionEvent) => void): Promise<ArqOnDevnet> {
    const net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
      // Nothing crosses the mixnet until the test moves time on: the write stays in flight.
      clock: new VirtualClock(),
      timing: { hopFloorMs: 1000 },
    });
    let sut: ArqOnDevnet | undefined;
    let attached = false;
    const client = await ThinClient.connect(net.thinClientConfig, {
      reconnect: { initialDelayMs: 10, factor: 1, jitter: 0, maxAttempts: 1 },
      inspect: (ev) => {
        if (attached) return;
        attached = true;
        (ev.actorRef as AnyActorRef).system.inspect((e) => {
          observe(e);
          sut?.watch(e);
        });
      },
    });
    sut = new ArqOnDevnet(net, client);
    await sut.begin();
    return sut;
  }

  private watch(ev: InspectionEvent) {
    const ref = ev.actorRef as AnyActorRef;
    if (!ref.id.startsWith('op:')) return;
    this.op ??= ref;
    if (ref !== this.op) return;
    if (ev.type === '@xstate.event') this.tally.record(ev.event.type);
    if (ev.type === '@xstate.snapshot') this.lastValue = (ev.snapshot as { value?: unknown }).value;
  }

  private async begin(): Promise<void> {
    const keys = await this.client.newKeypair(new Uint8Array(randomBytes(32)));
    const w = await this.client.encryptWrite(
      new TextEncoder().encode('model'),
      keys.writeCap,
      keys.firstMessageIndex,
    );
    this.hash.set(w.envelopeHash);
    this.client.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w }).then(
      () => {
        this.outcome = { state: 'fulfilled' };
      },
      (error: unknown) => {
        this.outcome = { state: 'rejected', error };
      },
    );
    await until(() => this.lastValue === 'awaiting');
  }

  /** Makes `event` happen; `next` is the model's following event (a pause is caused to suit it). */
  async cause(event: ArqEvent, next: ArqEvent | undefined): Promise<void> {
    switch (event.type) {
      case 'op.reply':
        // Code 0 once time moves on; code 24 when the daemon answers our cancel.
        if (event.reply.error_code === 24)
          await until(() => this.tally.count('op.reply') + this.tally.count('op.cancelAck') > 0);
        else await this.tally.delivered('op.reply', () => this.advance());
        return;
      case 'op.cancelAck':
        await until(() => this.tally.count('op.reply') + this.tally.count('op.cancelAck') > 0);
        return;
      case 'op.pause':
        await this.tally.delivered('op.pause', async () => {
          if (next?.type === 'op.replay') await this.net.restartDaemon();
          else if (next?.type === 'op.abandon') await this.net.stop();
          else if (next?.type === 'op.resume') this.net.dropConnections();
          else await this.client.disconnect(); // stays paused for a local cancel or close
        });
        return;
      case 'op.resume':
      case 'op.replay':
        await until(() => this.tally.count(event.type) > 0);
        return;
      case 'op.cancel':
        await this.tally.delivered('op.cancel', () => this.client.cancelResendingEncryptedMessage(this.hash));
        return;
      case 'op.close':
        await this.tally.delivered('op.close', () => this.client.close());
        return;
      case 'op.abandon':
        await until(() => this.tally.count('op.abandon') > 0);
        return;
    }
  }

  /** Moves the devnet's clock on until the reply is back. */
  private async advance(): Promise<void> {
    const clock = this.net.clock as VirtualClock;
    const n = this.tally.count('op.reply');
    await clock.advanceUntil(() => this.tally.count('op.reply') > n, 500, 600_000);
  }

  /** The operation is in the model's state; a final state settled the caller. */
  async check(value: unknown, final: boolean): Promise<void> {
    await until(() => this.lastValue === value || (final && this.outcome.state !== 'pending'));
    expect(this.lastValue).toEqual(value);
    if (final) {
      await until(() => this.outcome.state !== 'pending');
      expect(this.outcome.state).toBe(value === 'done' ? 'fulfilled' : 'rejected');
    } else expect(this.outcome.state).toBe('pending');
  }

  async stop(): Promise<void> {
    await this.client.close();
    await this.net.stop();
  }
}

/**
 * Model-based test of machines/arq.ts.
 *
 * `createTestModel` generates shortest paths to every state and every (state, event) edge of one
 * ARQ operation that the client system can actually produce. Each path runs against the real
 * system: a ThinClient (its supervising actor spawns the operation) and a scripted daemon over a
 * socket. Model events become real causes: a reply frame, a dropped socket, a redial to the same
 * daemon (resync: a cancel, its answer, the same request again) or to a restarted one (replay), a
 * cancel with the socket up or down, the cancel's reply, close(), and a redial budget running out. After each step the operation actor
 * `op:<query id>` must be in the model's state; at a final state the caller's promise must have
 * settled the way that state promises. A scripted daemon says exactly what a path names, so this is the
 * conformance test; the coverage line counts only devnet runs (machines.model.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ArqEvent, ArqKind } from '../../machines/arq.js';
import { ThinClient } from '../../src/client.js';
import { blake2b256 } from '../../src/crypto/hash.js';
import {
  ClientClosedError,
  ConnectionLostError,
  isExpectedOutcome,
  OperationCancelledError,
} from '../../src/errors.js';
import { type ReceivedRequest, ScriptedDaemon } from '../helpers/scriptedDaemon.js';
import { RecordingClock, until } from '../unit/client/harness.js';
import { arqPaths, eventName, type ArqSnapshot as Snapshot } from './arqModel.js';
import { EventTally } from './eventTally.js';

type Inspected = {
  type: string;
  actorRef: { id: string };
  event?: { type: string };
  snapshot?: { value?: unknown };
};

const FINAL = new Set(['done', 'expected', 'failed', 'cancelled', 'closed', 'abandoned']);

for (const kind of ['encryptedMessage', 'copyCommand'] as const) {
  const paths = arqPaths(kind);

  describe(`ARQ operation (${kind}): generated paths against a ThinClient and a scripted daemon`, () => {
    it('the model reaches every state of the machine', () => {
      const reached = new Set(paths.flatMap((p) => p.steps.map((s) => s.state.value as string)));
      const expected = [
        'awaiting',
        'paused',
        'resyncing',
        'cancelling',
        'done',
        'failed',
        'cancelled',
        'closed',
        'abandoned',
      ];
      if (kind === 'encryptedMessage') expected.push('expected');
      for (const state of expected) expect(reached).toContain(state);
    });

    for (const path of paths) {
      const name = path.steps
        .map((s) => s.event as { type: string })
        .filter((e) => e.type !== 'xstate.init')
        .map(eventName)
        .join(' → ');
      it(name, async () => {
        const sut = await Sut.start(kind);
        try {
          await path.test({
            states: { '*': (state) => sut.check(state as unknown as Snapshot) },
            events: {
              'op.reply': ({ event }) =>
                sut.reply((event as Extract<ArqEvent, { type: 'op.reply' }>).reply.error_code ?? 0),
              'op.pause': () => sut.pause(),
              'op.replay': () => sut.replay(),
              'op.resync.begin': () => sut.resync(),
              'op.resync.answered': () => sut.answerResync(),
              'op.cancel': () => sut.cancel(),
              'op.cancelAck': () => sut.ackCancel(),
              'op.close': () => sut.close(),
              'op.abandon': () => sut.abandon(),
            },
          });
        } finally {
          await sut.stop();
        }
      });
    }
  });
}

/** The system under test: one operation inside a real client, driven through the daemon and the API. */
class Sut {
  private readonly tally = new EventTally();
  private opId = '';
  private lastValue: unknown;
  private request!: ReceivedRequest;
  private cancelRequest: ReceivedRequest | undefined;
  private resyncCancel: ReceivedRequest | undefined;
  private outcome: { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown } = { state: 'pending' };
  private handshakes = 1;

  private constructor(
    readonly kind: ArqKind,
    readonly daemon: ScriptedDaemon,
    readonly clock: RecordingClock,
    readonly client: ThinClient,
  ) {}

  static async start(kind: ArqKind): Promise<Sut> {
    const daemon = await ScriptedDaemon.start();
    const clock = new RecordingClock();
    let sut: Sut | undefined;
    const client = await ThinClient.connect(daemon.config, {
      clock,
      reconnect: { jitter: 0, maxAttempts: 1 },
      inspect: (ev) => sut?.observe(ev as unknown as Inspected),
    });
    sut = new Sut(kind, daemon, clock, client);
    await sut.begin();
    return sut;
  }

  private observe(ev: {
    type: string;
    actorRef: { id: string };
    event?: { type: string };
    snapshot?: { value?: unknown };
  }) {
    if (!this.opId || ev.actorRef.id !== this.opId) return;
    if (ev.type === '@xstate.event' && ev.event) this.tally.record(ev.event.type);
    if (ev.type === '@xstate.snapshot') this.lastValue = ev.snapshot?.value;
  }

  private get hash(): Uint8Array {
    return new Uint8Array(32).fill(7);
  }

  private get writeCap(): Uint8Array {
    return new Uint8Array(168).fill(7);
  }

  private async begin(): Promise<void> {
    const call =
      this.kind === 'encryptedMessage'
        ? this.client.startResendingEncryptedMessage({
            writeCap: this.writeCap,
            envelopeDescriptor: new Uint8Array(8).fill(1),
            messageCiphertext: new Uint8Array(64).fill(2),
            envelopeHash: this.hash,
          })
        : this.client.startResendingCopyCommand(this.writeCap);
    call.then(
      () => {
        this.outcome = { state: 'fulfilled' };
      },
      (error: unknown) => {
        this.outcome = { state: 'rejected', error };
      },
    );
    this.request = await this.daemon.nextRequest((r) => r.key.startsWith('start_resending'));
    this.opId = `op:${Buffer.from(this.request.body.query_id as Uint8Array).toString('hex')}`;
    this.lastValue = (this.client.actorRef.system.get(this.opId)!.getSnapshot() as { value: unknown }).value;
  }

  /** The operation is in the model's state; a final state settled the caller as it should. */
  async check(state: Snapshot): Promise<void> {
    expect(this.lastValue).toEqual(state.value);
    if (!FINAL.has(state.value as string)) {
      expect(this.outcome.state).toBe('pending');
      return;
    }
    await until(() => this.outcome.state !== 'pending');
    const { error } = this.outcome;
    switch (state.value) {
      case 'done':
        expect(this.outcome.state).toBe('fulfilled');
        break;
      case 'expected':
        expect(isExpectedOutcome(error)).toBe(true);
        break;
      case 'failed':
        expect(this.outcome.state).toBe('rejected');
        expect(isExpectedOutcome(error)).toBe(false);
        expect(error).not.toBeInstanceOf(OperationCancelledError);
        break;
      case 'cancelled':
        expect(error).toBeInstanceOf(OperationCancelledError);
        break;
      case 'closed':
        expect(error).toBeInstanceOf(ClientClosedError);
        break;
      case 'abandoned':
        expect(error).toBeInstanceOf(ConnectionLostError);
        break;
    }
    // A settled operation leaves the replay set.
    expect(this.client.actorRef.system.get(this.opId)).toBeUndefined();
  }

  async reply(code: number): Promise<void> {
    const key =
      this.kind === 'encryptedMessage'
        ? 'start_resending_encrypted_message_reply'
        : 'start_resending_copy_command_reply';
    await this.tally.delivered('op.reply', () =>
      this.daemon.current.reply(this.request, key, { error_code: code } as never),
    );
  }

  async pause(): Promise<void> {
    await this.tally.delivered('op.pause', () => this.daemon.current.drop());
  }

  /** Redials a restarted daemon: the operation is sent again, the same bytes. */
  async replay(): Promise<void> {
    await this.daemon.restart();
    await this.tally.delivered('op.replay', () => this.clock.increment(1000));
    await this.daemon.handshake(++this.handshakes);
    await this.sentAgain();
  }

  /** Redials the same daemon: the session resumes and the operation sends a cancel to resync. */
  async resync(): Promise<void> {
    await this.tally.delivered('op.resync.begin', () => this.clock.increment(1000));
    await this.daemon.handshake(++this.handshakes);
    const conn = this.daemon.current;
    this.resyncCancel = await this.daemon.nextRequest(
      (r) => r.key.startsWith('cancel_resending') && r.conn === conn,
    );
  }

  /** The daemon answers the resync's cancel: the operation sends its request again. */
  async answerResync(): Promise<void> {
    const request = this.resyncCancel!;
    await this.tally.delivered('op.resync.answered', () =>
      request.conn.reply(request, `${request.key}_reply` as never, { error_code: 0 } as never),
    );
    await this.sentAgain();
  }

  private async sentAgain(): Promise<void> {
    const conn = this.daemon.current;
    const again = await this.daemon.nextRequest((r) => r.key === this.request.key && r.conn === conn);
    expect(Buffer.from(again.bytes).equals(Buffer.from(this.request.bytes))).toBe(true);
    this.request = again;
  }

  async cancel(): Promise<void> {
    const connected = this.client.isDaemonConnected();
    await this.tally.delivered('op.cancel', () => {
      const cancel =
        this.kind === 'encryptedMessage'
          ? this.client.cancelResendingEncryptedMessage(this.hash)
          : this.client.cancelResendingCopyCommand(blake2b256(this.writeCap));
      cancel.catch(() => {});
    });
    if (connected)
      this.cancelRequest = await this.daemon.nextRequest((r) => r.key.startsWith('cancel_resending'));
  }

  async ackCancel(): Promise<void> {
    const request = this.cancelRequest!;
    await this.tally.delivered('op.cancelAck', () =>
      request.conn.reply(request, `${request.key}_reply` as never, { error_code: 0 } as never),
    );
  }

  async close(): Promise<void> {
    let closing: Promise<void> | undefined;
    await this.tally.delivered('op.close', () => {
      closing = this.client.close();
    });
    await closing;
  }

  /** The redial budget (one attempt) runs out: nothing listens. */
  async abandon(): Promise<void> {
    await this.daemon.pause();
    await this.tally.delivered('op.abandon', () => this.clock.increment(1000));
    await this.daemon.resume();
  }

  async stop(): Promise<void> {
    await this.client.close();
    await this.daemon.stop();
  }
}

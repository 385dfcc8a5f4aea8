/**
 * Model-based test of machines/arq.ts.
 *
 * `createTestModel` generates shortest paths to every state and every (state, event) edge of one
 * ARQ operation that the client system can actually produce. Each path runs against the real
 * system: a ThinClient (its supervising actor spawns the operation) and a scripted daemon over a
 * socket. Model events become real causes: a reply frame, a dropped socket, a redial to the same
 * daemon (resume) or to a restarted one (replay), a cancel with the socket up or down, the cancel's
 * reply, close(), and a redial budget running out. After each step the operation actor
 * `op:<query id>` must be in the model's state; at a final state the caller's promise must have
 * settled the way that state promises.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { type ArqEvent, type ArqKind, arqMachine } from '../../machines/arq.js';
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
import { ArqOnDevnet, DEVNET_EVENTS } from './arqOnDevnet.js';
import { Coverage, type Unreachable } from './coverage.js';
import { EventTally } from './eventTally.js';

/** What the real operation actors did on every path (both kinds; devnet runs add theirs). */
const coverage = new Coverage('arq', arqMachine);

/**
 * Reviewed against actors/registry.ts: an operation exists only while the link is ready, and every
 * loss of the link pauses it (op.pause) before the registry can say anything else about the link.
 */
const UNREACHABLE: Unreachable[] = [
  {
    transition: 'arq.awaiting op.replay #0',
    reason:
      'a replay comes with a new session, and a new session follows a lost one, which paused the operation',
  },
  {
    transition: 'arq.awaiting op.cancel #1',
    reason:
      'a cancel is local (sent: false) only while the link is not ready, and then the operation is paused',
  },
  {
    transition: 'arq.awaiting op.abandon #0',
    reason:
      'the registry abandons operations when the redial budget runs out, after the lost link paused them',
  },
  {
    transition: 'arq.cancelling op.abandon #0',
    reason:
      'as above: the lost link that precedes giving up ends a cancelling operation first (op.pause → cancelled)',
  },
];

const reply = (code: number): ArqEvent => ({ type: 'op.reply', reply: { error_code: code } });

const EVENTS: ArqEvent[] = [
  reply(0),
  reply(24),
  reply(1),
  reply(3),
  { type: 'op.pause' },
  { type: 'op.resume' },
  { type: 'op.replay' },
  { type: 'op.cancel', sent: true },
  { type: 'op.cancel', sent: false },
  { type: 'op.cancelAck' },
  { type: 'op.close' },
  { type: 'op.abandon', error: new Error('gave up redialling') },
];

type Snapshot = { value: unknown; context: { kind: ArqKind; result?: { outcome: string } } };

/**
 * What the supervisor can send an operation in each state: replies, cancels with `sent: true` and
 * a pause while the socket is up; resume, replay, local cancels and abandonment only after a pause;
 * a cancel acknowledgement only after a cancel went out.
 */
function realizable(s: Snapshot, e: ArqEvent): boolean {
  switch (s.value) {
    case 'awaiting':
      return ['op.reply', 'op.pause', 'op.close'].includes(e.type) || (e.type === 'op.cancel' && e.sent);
    case 'paused':
      return (
        ['op.resume', 'op.replay', 'op.close', 'op.abandon'].includes(e.type) ||
        (e.type === 'op.cancel' && !e.sent)
      );
    case 'cancelling':
      return ['op.reply', 'op.cancelAck', 'op.pause', 'op.close'].includes(e.type);
    default:
      return false;
  }
}

const eventName = (e: ArqEvent | { type: string }) =>
  e.type === 'op.reply'
    ? `reply(${(e as Extract<ArqEvent, { type: 'op.reply' }>).reply.error_code})`
    : e.type === 'op.cancel'
      ? `cancel(${(e as Extract<ArqEvent, { type: 'op.cancel' }>).sent ? 'sent' : 'local'})`
      : e.type;

const serialize = (s: Snapshot) => JSON.stringify([s.value, s.context.result?.outcome ?? null]);

function pathsFor(kind: ArqKind) {
  const input = { input: { queryId: '00', kind, request: new Uint8Array(1), cancelKey: '00' } };
  const logic = arqMachine.provide({ actions: { transmit: () => {} } });
  const model = createTestModel(logic, { events: EVENTS, filterEvents: realizable as never });
  // `transmissions` grows with every replay, so states are told apart by value and outcome only.
  const byState = model.getShortestPaths({
    ...input,
    serializeState: (s) => serialize(s as unknown as Snapshot),
  });
  const byEdge = model.getShortestPaths({
    ...input,
    serializeState: (s, e, prev) =>
      JSON.stringify([
        prev ? serialize(prev as unknown as Snapshot) : '',
        e ? eventName(e) : '',
        serialize(s as unknown as Snapshot),
      ]),
  });
  // Longer stories the shortest paths cut short: life after a resume or a replay.
  const stories = [
    [{ type: 'op.pause' }, { type: 'op.resume' }, reply(0)],
    [{ type: 'op.pause' }, { type: 'op.replay' }, reply(0)],
    [{ type: 'op.pause' }, { type: 'op.replay' }, { type: 'op.cancel', sent: true }, reply(24)],
    [{ type: 'op.pause' }, { type: 'op.resume' }, { type: 'op.pause' }, { type: 'op.replay' }, reply(1)],
    [{ type: 'op.cancel', sent: true }, { type: 'op.pause' }],
  ] as ArqEvent[][];
  // (getPathsFromEvents builds its graph without `input`, so it starts from an explicit snapshot.)
  const fromState = createActor(logic, input).getSnapshot();
  const told = stories.flatMap((events) =>
    model.getPathsFromEvents(events, {
      fromState,
      serializeState: (s) => serialize(s as unknown as Snapshot),
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

type Inspected = {
  type: string;
  actorRef: { id: string };
  event?: { type: string };
  snapshot?: { value?: unknown };
};

const FINAL = new Set(['done', 'expected', 'failed', 'cancelled', 'closed', 'abandoned']);

for (const kind of ['encryptedMessage', 'copyCommand'] as const) {
  const paths = pathsFor(kind);

  describe(`ARQ operation (${kind}): generated paths against a ThinClient and a scripted daemon`, () => {
    it('the model reaches every state of the machine', () => {
      const reached = new Set(paths.flatMap((p) => p.steps.map((s) => s.state.value as string)));
      const expected = [
        'awaiting',
        'paused',
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
        coverage.ranPath([kind, name]);
        const sut = await Sut.start(kind);
        try {
          await path.test({
            states: { '*': (state) => sut.check(state as unknown as Snapshot) },
            events: {
              'op.reply': ({ event }) =>
                sut.reply((event as Extract<ArqEvent, { type: 'op.reply' }>).reply.error_code ?? 0),
              'op.pause': () => sut.pause(),
              'op.resume': () => sut.redial(false),
              'op.replay': () => sut.redial(true),
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

describe('ARQ operation (encryptedMessage): generated paths against a ThinClient write over the devnet', () => {
  const devnetPaths = pathsFor('encryptedMessage').filter((p) => {
    const events = p.steps
      .map((s) => s.event as ArqEvent)
      .filter((e) => (e.type as string) !== 'xstate.init');
    const names = events.map(eventName);
    // After a cancel went out the devnet answers at once: only its answer can follow.
    const afterCancel = names.indexOf('cancel(sent)');
    if (
      afterCancel >= 0 &&
      names[afterCancel + 1] &&
      !['reply(24)', 'op.cancelAck'].includes(names[afterCancel + 1]!)
    )
      return false;
    if (names.join(' ').includes('op.resume reply(0)')) return false;
    return names.length > 0 && names.every((n) => DEVNET_EVENTS.has(n));
  });

  it('has devnet paths for every fault knob', () => {
    const names = new Set(devnetPaths.flatMap((p) => p.steps.map((s) => eventName(s.event))));
    for (const n of DEVNET_EVENTS) expect(names).toContain(n);
  });

  for (const path of devnetPaths) {
    const steps = path.steps.filter((s) => (s.event.type as string) !== 'xstate.init');
    const name = steps.map((s) => eventName(s.event)).join(' → ');
    it(`follows the model through ${name}`, async () => {
      coverage.ranPath(['devnet', name]);
      const sut = await ArqOnDevnet.start(coverage.observer((actor) => actor.id.startsWith('op:')));
      try {
        for (let i = 0; i < steps.length; i++) {
          const step = steps[i]!;
          await sut.cause(step.event as ArqEvent, steps[i + 1]?.event as ArqEvent | undefined);
          const value = step.state.value as string;
          await sut.check(value, FINAL.has(value));
        }
      } finally {
        await sut.stop();
      }
    });
  }
});

describe('ARQ operation coverage', () => {
  it('covers every state and at least 90% of the transitions of the ARQ machine', () => {
    coverage.printAndAssert(UNREACHABLE);
  });
});

/** The system under test: one operation inside a real client, driven through the daemon and the API. */
class Sut {
  private readonly tally = new EventTally();
  private opId = '';
  private lastValue: unknown;
  private request!: ReceivedRequest;
  private cancelRequest: ReceivedRequest | undefined;
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
    // Unredacted, for the transitions taken (the client's own inspector empties them).
    client.actorRef.system.inspect(coverage.observer((actor) => actor.id.startsWith('op:')));
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

  /** Redials: to the same daemon (the session resumes) or to a restarted one (the op replays). */
  async redial(restarted: boolean): Promise<void> {
    if (restarted) await this.daemon.restart();
    await this.tally.delivered(restarted ? 'op.replay' : 'op.resume', () => this.clock.increment(1000));
    await this.daemon.handshake(++this.handshakes);
    if (restarted) {
      const again = await this.daemon.nextRequest(
        (r) => r.key === this.request.key && r.conn === this.daemon.current,
      );
      expect(Buffer.from(again.bytes).equals(Buffer.from(this.request.bytes))).toBe(true);
    }
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

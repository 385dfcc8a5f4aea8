/**
 * One copy stream of a ThinClient over the devnet (copyToChannel of one box, or resumeCopy of a
 * checkpoint), run along a generated path of machines/copyStream.ts. Each step's I/O is held until
 * the path says how it ends:
 *
 *   the store (saving the job, a checkpoint, discarding it): every put and delete waits at a gate,
 *               which lets it through (done), refuses it (error) or keeps it while the copy is cancelled
 *   the daemon's local calls (the temp channel's keypair, building envelopes, encrypting a temp box):
 *               the daemon's frames are held when the call is to fail or be cancelled; it fails
 *               because the client disconnects from the daemon
 *   the mixnet operations (a temp write, the copy command): the devnet's virtual clock holds them in
 *               flight; they fail because the daemon's mixnet is down (so the client refuses them),
 *               the copy command is reported Failed when the destination box is already written, and
 *               a completion goes through a fault first, in turn: none, the first transmission lost,
 *               a daemon restart with a new instance token, disconnect() and reconnect(), the socket
 *               dropped
 *
 * A fault that must be in place before a step starts (frames held, mixnet down, loss on) is set up
 * before the step that leads into it.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { CopyJob } from '../../../machines/copyStream.js';
import type { Devnet, VirtualClock } from '../../../src/devnet/index.js';
import {
  CopyCommandFailedError,
  copyToChannel,
  MemoryCheckpointStore,
  resumeCopy,
  ThinClient,
} from '../../../src/index.js';
import { saveCopyCheckpoint, saveCopyJob } from '../../../src/pigeonhole/checkpoint.js';
import { streamBoxPayloadLength } from '../../../src/pigeonhole/streams.js';
import { until } from '../../unit/client/harness.js';
import {
  builtWithoutTempChannel,
  type CopyPath,
  type CopySnap,
  comparable,
  eventKind,
  stateName,
} from './copyStreamModel.js';
import { startFrozenDevnet } from './frozenDevnet.js';
import { probeInspect } from './probe.js';

export const ARQ_FAULTS = ['none', 'loss', 'restart', 'disconnect', 'drop'] as const;
export type ArqFault = (typeof ARQ_FAULTS)[number];

const STORE = new Set(['savingJob', 'persisting', 'finishing']);
const LOCAL = new Set(['creatingTempChannel', 'building', 'encryptingTempBox']);
const MIXNET = new Set(['sendingTempBox', 'copying']);

/** A store whose puts and deletes wait at a gate the run opens or shuts, once `gated` is on. */
class GatedStore extends MemoryCheckpointStore {
  gated = false;
  waiting: { pass: () => void; refuse: () => void } | undefined;
  private gate(op: () => Promise<void>): Promise<void> {
    if (!this.gated) return op();
    return new Promise<void>((resolve, reject) => {
      this.waiting = {
        pass: () => op().then(resolve, reject),
        refuse: () => reject(new Error('disk full')),
      };
    });
  }
  /** Lets the waiting operation through, or refuses it. */
  open(pass: boolean): void {
    const w = this.waiting!;
    this.waiting = undefined;
    if (pass) w.pass();
    else w.refuse();
  }
  override put(key: string, value: Uint8Array): Promise<void> {
    return this.gate(() => super.put(key, value));
  }
  override delete(key: string): Promise<void> {
    return this.gate(() => super.delete(key));
  }
}

type Outcome = { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown };

export class CopyStreamOnDevnet {
  private copy: AnyActorRef | undefined;
  last: CopySnap | undefined;
  /** Every state the copy was seen in (some last only until its I/O returns), and how far a step matched. */
  private readonly seen: string[] = [];
  private cursor = 0;
  private readonly prepared = new Set<number>();
  readonly store = new GatedStore();
  readonly abort = new AbortController();
  outcome: Outcome = { state: 'pending' };
  private lostBefore = 0;
  private framesHeld = false;
  private destination: { readCap: Uint8Array; index: Uint8Array; payload: Uint8Array } | undefined;

  private constructor(
    readonly net: Devnet,
    readonly client: ThinClient,
    readonly path: CopyPath,
    /** The fault each mixnet completion goes through, by step. */
    readonly faults: Map<number, ArqFault>,
  ) {}

  static async start(path: CopyPath, faults: Map<number, ArqFault>): Promise<CopyStreamOnDevnet> {
    const net = await startFrozenDevnet();
    let sut: CopyStreamOnDevnet | undefined;
    const client = await ThinClient.connect(net.thinClientConfig, {
      reconnect: { initialDelayMs: 10, factor: 1, jitter: 0, maxAttempts: 5 },
      inspect: probeInspect((e) => sut?.watch(e)),
    });
    sut = new CopyStreamOnDevnet(net, client, path, faults);
    await sut.begin();
    return sut;
  }

  private watch(ev: InspectionEvent): void {
    const ref = ev.actorRef as AnyActorRef & { systemId?: string };
    if (!ref.systemId?.startsWith('copy:')) return;
    this.copy ??= ref;
    if (ev.type === '@xstate.snapshot' && ref === this.copy) {
      this.last = ev.snapshot as CopySnap;
      this.seen.push(JSON.stringify(comparable(this.last)));
    }
  }

  /** The state the copy is in before step `j`. */
  private stateBefore(j: number): string {
    if (j > 0) return stateName(this.path.steps[j - 1]!.state);
    return this.path.resumed ? 'creatingTempChannel' : 'savingJob';
  }

  private kindAt(j: number): string | undefined {
    const e = this.path.steps[j]?.event;
    return e && eventKind(e);
  }

  /** Sets up what step `j` needs before the copy enters the state it happens in. */
  private async prepare(j: number): Promise<void> {
    if (this.prepared.has(j)) return;
    this.prepared.add(j);
    const at = this.stateBefore(j);
    const kind = this.kindAt(j);
    if (LOCAL.has(at) && (kind === 'error' || kind === 'cancel')) this.holdFrames(true);
    // A temp write starts as its encryption returns: its fault is set up before the encryption.
    const arqStep = at === 'encryptingTempBox' && this.stateBefore(j + 1) === 'sendingTempBox' ? j + 1 : j;
    if (!MIXNET.has(this.stateBefore(arqStep))) return;
    const arqKind = this.kindAt(arqStep);
    if (arqKind === 'error') {
      this.net.setMixnetConnected(false);
      await until(() => !this.client.isConnected());
    } else if (arqKind === 'done' && this.faults.get(arqStep) === 'loss') {
      this.lostBefore = this.net.stats().packetsLost;
      this.net.setLossProbability(0.999);
    }
  }

  private holdFrames(hold: boolean): void {
    this.framesHeld = hold;
    this.net.holdFrames(hold);
  }

  private async begin(): Promise<void> {
    const c = this.client;
    const keys = await c.newKeypair(new Uint8Array(randomBytes(32)));
    const payload = new Uint8Array(randomBytes(streamBoxPayloadLength(c)));
    this.destination = { readCap: keys.readCap, index: keys.firstMessageIndex, payload };
    if (this.path.steps.some((s) => eventKind(s.event) === 'failed')) {
      // The destination box is taken: the courier reports the copy Failed.
      const w = await c.encryptWrite(
        new TextEncoder().encode('taken'),
        keys.writeCap,
        keys.firstMessageIndex,
      );
      let written = false;
      void c.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w }).then(() => (written = true));
      await this.advance(() => written);
    }
    const id = 'model';
    let run: () => Promise<unknown>;
    if (this.path.resumed) {
      const job: CopyJob = {
        kind: 'payload',
        destinations: [{ payload, writeCap: keys.writeCap, startIndex: keys.firstMessageIndex }],
        chunkLength: streamBoxPayloadLength(c),
        batchBoxes: 1,
      };
      const built = await c.createCourierEnvelopesFromPayload(
        payload,
        keys.writeCap,
        keys.firstMessageIndex,
        true,
        true,
      );
      await saveCopyJob(this.store, id, job);
      await saveCopyCheckpoint(this.store, id, {
        ...builtWithoutTempChannel(job, built.envelopes),
        nextDestIndices: [built.nextDestIndex],
      });
      run = () => resumeCopy(c, this.store, id, { signal: this.abort.signal });
    } else {
      run = () =>
        copyToChannel(c, payload, keys.writeCap, keys.firstMessageIndex, {
          checkpointStore: this.store,
          batchBoxes: 1,
          id,
          signal: this.abort.signal,
        });
    }
    this.store.gated = true;
    await this.prepare(0);
    run().then(
      () => {
        this.outcome = { state: 'fulfilled' };
      },
      (error: unknown) => {
        this.outcome = { state: 'rejected', error };
      },
    );
    await until(() => this.last !== undefined);
  }

  /** Where the copy was seen in `state` since the last step matched, or -1. */
  private find(state: CopySnap): number {
    const want = JSON.stringify(comparable(state));
    return this.seen.indexOf(want, this.cursor);
  }

  /** Makes step `j` happen and waits until the copy has been in the step's state. */
  async step(j: number): Promise<void> {
    const { event, state } = this.path.steps[j]!;
    const at = this.stateBefore(j);
    const kind = eventKind(event);
    const there = () => this.find(state) >= 0;
    // What the next step needs is set up before this one leads into its state.
    await this.prepareAfter(j);
    if (STORE.has(at)) await this.throughStore(kind, there);
    else if (LOCAL.has(at)) await this.throughDaemon(kind, there);
    else if (MIXNET.has(at)) await this.throughMixnet(j, kind, there);
    else await until(there);
    const i = this.find(state);
    expect(JSON.parse(this.seen[i]!)).toEqual(comparable(state));
    this.cursor = i + 1;
  }

  private prepareAfter(j: number): Promise<void> {
    return j + 1 < this.path.steps.length ? this.prepare(j + 1) : Promise.resolve();
  }

  private async throughStore(kind: string, there: () => boolean): Promise<void> {
    await until(() => this.store.waiting !== undefined);
    if (kind === 'cancel') {
      this.abort.abort(new Error('stop'));
      await until(there);
      // The operation the cancel left behind goes through, so that the store's next one can run.
      this.store.open(true);
      return;
    }
    this.store.open(kind === 'done');
    // A discard is two deletes (the checkpoint, then the job); any other step is one operation.
    for (;;) {
      await until(() => there() || this.store.waiting !== undefined);
      if (there()) return;
      this.store.open(kind === 'done');
    }
  }

  private async throughDaemon(kind: string, there: () => boolean): Promise<void> {
    if (kind === 'error') await this.client.disconnect();
    if (kind === 'cancel') this.abort.abort(new Error('stop'));
    await until(there);
    if (this.framesHeld) this.holdFrames(false);
  }

  private async throughMixnet(j: number, kind: string, there: () => boolean): Promise<void> {
    if (kind === 'error') return void (await until(there));
    await until(() => this.net.stats().arqsInFlight > 0);
    if (kind === 'cancel') {
      this.abort.abort(new Error('stop'));
      await until(there);
      return;
    }
    if (kind === 'done') await this.survive(this.faults.get(j) ?? 'none');
    await this.advance(there);
  }

  /** The operation in flight goes through `fault` first. */
  private async survive(fault: ArqFault): Promise<void> {
    switch (fault) {
      case 'none':
        return;
      case 'loss':
        await this.advance(() => this.net.stats().packetsLost > this.lostBefore);
        this.net.setLossProbability(0);
        return;
      case 'restart':
        await this.net.restartDaemon();
        await until(() => !this.client.isDaemonConnected());
        await until(() => this.client.isDaemonConnected());
        await until(() => this.net.stats().arqsInFlight > 0);
        return;
      case 'disconnect':
        await this.client.disconnect();
        await this.client.reconnect();
        return;
      case 'drop':
        this.net.dropConnections();
        await until(() => !this.client.isDaemonConnected());
        await until(() => this.client.isDaemonConnected());
        return;
    }
  }

  private async advance(done: () => boolean): Promise<void> {
    const ok = await (this.net.clock as VirtualClock).advanceUntil(done, 500, 600_000);
    expect(ok).toBe(true);
  }

  /** The copy's call settled the way its final state says, and the store holds what it should. */
  async settled(final: CopySnap): Promise<void> {
    if (final.status !== 'done') {
      expect(this.outcome.state).toBe('pending');
      return;
    }
    await until(() => this.outcome.state !== 'pending');
    const left = await this.store.keys();
    const discardRefused = this.path.steps.some(
      (s) => s.event.type === 'xstate.error.actor.discardCheckpoint',
    );
    switch (final.value) {
      case 'done':
        expect(this.outcome.state).toBe('fulfilled');
        if (!discardRefused) expect(left).toEqual([]);
        expect(Buffer.from(await this.readDestination()).equals(Buffer.from(this.destination!.payload))).toBe(
          true,
        );
        break;
      case 'cancelled':
        expect((this.outcome.error as Error).message).toBe('stop');
        if (!discardRefused) expect(left).toEqual([]);
        break;
      case 'failed':
        expect(this.outcome.error).toBeInstanceOf(CopyCommandFailedError);
        expect(left.length).toBeGreaterThan(0);
        break;
      default:
        expect(this.outcome.state).toBe('rejected');
    }
  }

  /** The destination box, as the courier wrote it. */
  private async readDestination(): Promise<Uint8Array> {
    const { readCap, index } = this.destination!;
    const r = await this.client.encryptRead(readCap, index);
    let plaintext: Uint8Array | undefined;
    void this.client
      .startResendingEncryptedMessage({ readCap, messageBoxIndex: index, ...r })
      .then((reply) => (plaintext = reply.plaintext));
    await this.advance(() => plaintext !== undefined);
    return plaintext!;
  }

  async stop(): Promise<void> {
    if (this.framesHeld) this.holdFrames(false);
    await this.client.close();
    await this.net.stop();
  }
}

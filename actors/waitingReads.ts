/**
 * The client's own scheduler for reads that wait for a message (used by actors/registry.ts).
 *
 * Left to itself, kpclientd re-polls a read of an unwritten box on every send slot, through the app's
 * resend queue, which it serves before the app's new requests: a few such reads starve everything
 * else the app sends. And it re-sends the same envelope, which the courier answers from its dedup
 * cache, re-dispatching it to the replicas only 5 times (katzenpost client/pigeonhole.go; courier/server/plugin.go, maxRedispatchAttempts).
 *
 * So every read the caller lets the daemon retry (`startResendingEncryptedMessage` with a read cap and
 * a box index, without `noRetryOnBoxIdNotFound`; stream reads are such reads) is sent with the no-retry
 * flag instead. Its first poll goes out at once, like any request. A read answered BoxIDNotFound is a
 * *waiting read*, and from then on:
 *
 * - a read just found waiting is re-polled `youngPolls` more times as a first poll (default none);
 * - the `inDaemon` oldest waiting reads are polled back to back (a new poll as each answer comes), so
 *   a read whose box is written next returns within a few send slots of the write;
 * - the others wait here, and are polled one at a time (one lane), each after an exponential backoff
 *   in send slots (1/LambdaP) with jitter, and take an `inDaemon` place when one frees (oldest first);
 * - an envelope is polled at most `pollsPerEnvelope` times (the courier's re-dispatch cap), and a poll
 *   after a backoff always takes a fresh envelope (a new encryptRead): the courier's cached answer for
 *   an old one dates from the previous poll.
 *
 * So at most `inDaemon` + 1 waiting reads are at the daemon: the app's new requests always get slots.
 *
 * Slots are not all: kpclientd makes a connection's local requests one after another (encrypt_read is
 * seconds of CTIDH), decrypts every reply one after another daemon-wide, and the replicas share their
 * CPU among all polls. So while the application has a request in flight (first polls included) the
 * scheduler yields: at most `whileAppBusy` own requests out, no fresh envelope unless a read is starved.
 */
import type { AnyActorRef } from 'xstate';
import type { TimerClock } from '../machines/registry.js';
import { type ArqOutput, hex, type Result, type StartResendingParams } from '../src/protocol/index.js';
import type { EncryptResult } from '../src/protocol/types.js';
import type { WaitingReadsPolicy } from './waitingReadsPolicy.js';

export { DEFAULT_WAITING_READS, type WaitingReadsPolicy } from './waitingReadsPolicy.js';

const BOX_ID_NOT_FOUND = 1;

/** What a read hands the scheduler: the caller's request as parameters. */
export type ReadParams = StartResendingParams & { readCap: Uint8Array; messageBoxIndex: Uint8Array };

type Envelope = Pick<EncryptResult, 'envelopeDescriptor' | 'messageCiphertext' | 'envelopeHash'>;

/** What the scheduler needs of the registry. */
export interface WaitingReadsHost {
  /** Starts one no-retry read operation (its own query id) and reports its output. */
  poll(
    params: StartResendingParams,
    respond: (result: Result<ArqOutput>) => void,
    parent: AnyActorRef | undefined,
  ): void;
  /** A fresh envelope for the same box (encrypt_read, a local request). */
  encryptRead(readCap: Uint8Array, index: Uint8Array, respond: (result: Result<Envelope>) => void): void;
  /** Stops the poll under this envelope hash at the daemon (its reply comes back as code 24). */
  cancelPoll(envelopeHash: Uint8Array): void;
  /** Mean gap between send slots in ms (1/LambdaP of the current document). */
  sendSlotMs(): number;
  /** True while a request of the application (not one of the scheduler's) is in flight. */
  appBusy(): boolean;
  clock: TimerClock;
}

interface Read {
  readonly id: string;
  /** Start order: the oldest waiting reads are the ones polled back to back. */
  readonly seq: number;
  readonly params: ReadParams;
  readonly respond: (result: Result<ArqOutput>) => void;
  /** The actor that parents the read's polls (a stream's window), if any. */
  readonly parent: AnyActorRef | undefined;
  envelope: Envelope;
  /** Polls of `envelope` so far. */
  polls: number;
  /** BoxIDNotFound answers so far (0: not waiting yet). */
  misses: number;
  /** Its first poll waits its turn, or is at the daemon. */
  first: 'queued' | 'sent' | undefined;
  /** An envelope hash while a poll is at the daemon, 'encrypting' while a fresh envelope is made. */
  busy: Uint8Array | 'encrypting' | undefined;
  timer: unknown;
  cancelled: boolean;
  /** Held while the application is busy: its next request wants a fresh envelope (or not). */
  held: boolean | undefined;
  /** It has waited long enough for a fresh envelope to be made even while the application is busy. */
  starved: boolean;
  starveTimer: unknown;
}

export class WaitingReads {
  private readonly reads = new Map<string, Read>();
  /** Reads answered BoxIDNotFound, oldest first; the first `inDaemon` are polled back to back. */
  private readonly waiting: Read[] = [];
  /** Waiting reads whose backoff has run out, for the one lane. */
  private readonly due: Read[] = [];
  /** Reads waiting for their first poll, and the number of first polls at the daemon. */
  private readonly unsent: Read[] = [];
  private firstInFlight = 0;
  private started = 0;
  /** Reads whose next request waits for the application (oldest held first). */
  private readonly heldBack: Read[] = [];
  /** The read whose poll holds the lane. */
  private lane: Read | undefined;
  /** Set while held requests wait out the application's turn (appSettled). */
  private releaseTimer: unknown;
  readonly counts = { polls: 0, freshEnvelopes: 0 };

  constructor(
    private readonly host: WaitingReadsHost,
    private readonly policy: WaitingReadsPolicy,
  ) {}

  /** Reads being served (waiting or not yet answered). */
  get size(): number {
    return this.reads.size;
  }

  /** Reads held here with nothing at the daemon for them now (no poll, no encrypt_read). */
  get idle(): number {
    let n = 0;
    for (const read of this.reads.values()) if (read.busy === undefined) n++;
    return n;
  }

  start(
    id: string,
    params: ReadParams,
    respond: (result: Result<ArqOutput>) => void,
    parent?: AnyActorRef,
  ): void {
    const read: Read = {
      id,
      seq: this.started++,
      params,
      respond,
      parent,
      envelope: params as Envelope,
      polls: 0,
      misses: 0,
      first: 'queued',
      busy: undefined,
      timer: undefined,
      cancelled: false,
      held: undefined,
      starved: false,
      starveTimer: undefined,
    };
    this.reads.set(id, read);
    this.unsent.push(read);
    this.sendFirst();
  }

  private sendFirst(): void {
    while (this.firstInFlight < this.policy.firstPolls) {
      const read = this.unsent.shift();
      if (!read) return;
      this.firstInFlight++;
      read.first = 'sent';
      this.send(read);
    }
  }

  /** A read's first poll has been answered (or the read ended before it was). */
  private firstAnswered(read: Read): void {
    const was = read.first;
    read.first = undefined;
    if (was === 'queued') this.unsent.splice(this.unsent.indexOf(read), 1);
    if (was !== 'sent') return;
    this.firstInFlight--;
    this.sendFirst();
  }

  /** The caller cancelled the read(s) it started under this envelope hash: true if one was here. */
  cancel(cancelKey: string): boolean {
    let found = false;
    for (const [id, read] of this.reads) {
      if (hex(read.params.envelopeHash) !== cancelKey) continue;
      found = true;
      if (read.cancelled) continue;
      read.cancelled = true;
      // A poll under the caller's own envelope is stopped by the caller's cancel itself.
      if (read.busy instanceof Uint8Array && hex(read.busy) !== cancelKey) this.host.cancelPoll(read.busy);
      else if (read.busy === undefined) this.finish(id, { ok: true, value: { outcome: 'cancelled' } });
    }
    return found;
  }

  /**
   * A request of the application has settled: held requests may go, but only `minDelayMs` later. An
   * application usually sends its next request as soon as it has a reply (encrypt_write, then its
   * write, then encrypt_read, then its read); released at once, a held request would take the
   * daemon's reader (kpclientd makes a connection's local requests one after another) just before it.
   */
  appSettled(): void {
    if (this.heldBack.length === 0 || this.releaseTimer !== undefined) return;
    this.releaseTimer = this.host.clock.setTimeout(() => {
      this.releaseTimer = undefined;
      this.release();
    }, this.policy.minDelayMs);
  }

  /** The client is closing or gave up: reads with no poll at the daemon end here. */
  endIdle(output: ArqOutput): void {
    this.host.clock.clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    for (const [id, read] of this.reads)
      if (read.busy === undefined) this.finish(id, { ok: true, value: output });
  }

  private live(read: Read): boolean {
    return this.reads.get(read.id) === read;
  }

  private hot(read: Read): boolean {
    const i = this.waiting.indexOf(read);
    return i >= 0 && i < this.policy.inDaemon;
  }

  /** Just found waiting: its box was perhaps written a moment ago (a read right after its write). */
  private young(read: Read): boolean {
    return read.misses <= this.policy.youngPolls;
  }

  /** Polls now, or holds it while it must yield to the application (first and young polls are its own, counted as first polls). */
  private send(read: Read, freshEnvelope = read.polls >= this.policy.pollsPerEnvelope): void {
    if (read.first === undefined && !this.mayGo(read, freshEnvelope)) this.holdBack(read, freshEnvelope);
    else this.go(read, freshEnvelope);
  }

  /** Polls with the current envelope while it is fresh enough, else with a new one. */
  private go(read: Read, freshEnvelope: boolean): void {
    if (freshEnvelope) {
      this.host.clock.clearTimeout(read.starveTimer);
      read.starveTimer = undefined;
      read.starved = false;
    }
    if (!freshEnvelope) return void this.pollWith(read);
    read.busy = 'encrypting';
    this.host.encryptRead(read.params.readCap, read.params.messageBoxIndex, (result) => {
      read.busy = undefined;
      if (!this.live(read)) return;
      if (!result.ok) return void this.finish(read.id, result);
      if (read.cancelled) return void this.finish(read.id, { ok: true, value: { outcome: 'cancelled' } });
      this.counts.freshEnvelopes++;
      read.envelope = result.value;
      read.polls = 0;
      this.pollWith(read);
    });
  }

  /** The scheduler's own requests at the daemon now, and the application's reads' (first and young polls). */
  private inFlight(): { own: number; app: number } {
    const n = { own: 0, app: 0 };
    for (const read of this.reads.values()) {
      if (read.busy === undefined) continue;
      if (read.first !== undefined) n.app++;
      else n.own++;
    }
    return n;
  }

  private mayGo(read: Read, freshEnvelope: boolean): boolean {
    if (this.policy.whileAppBusy === Number.POSITIVE_INFINITY) return true;
    const { own, app } = this.inFlight();
    if (app === 0 && !this.host.appBusy()) return true;
    if (freshEnvelope && !read.starved) return false;
    return own < this.policy.whileAppBusy || (read.starved && own === 0);
  }

  private holdBack(read: Read, freshEnvelope: boolean): void {
    read.held = freshEnvelope;
    this.heldBack.push(read);
    if (freshEnvelope && read.starveTimer === undefined && !read.starved) {
      read.starveTimer = this.host.clock.setTimeout(() => {
        read.starveTimer = undefined;
        read.starved = true;
        if (this.live(read) && read.held !== undefined) this.release();
      }, this.policy.backoffMaxSlots * this.host.sendSlotMs());
    }
  }

  /** Sends the held requests that may go now, oldest first. */
  private release(): void {
    for (let i = 0; i < this.heldBack.length; ) {
      const read = this.heldBack[i]!;
      const fresh = read.held === true || read.polls >= this.policy.pollsPerEnvelope;
      if (!this.mayGo(read, fresh)) {
        i++;
        continue;
      }
      this.heldBack.splice(i, 1);
      read.held = undefined;
      this.go(read, fresh);
    }
  }

  private pollWith(read: Read): void {
    const { envelopeDescriptor, messageCiphertext, envelopeHash } = read.envelope;
    read.busy = envelopeHash;
    read.polls++;
    this.counts.polls++;
    this.host.poll(
      { ...read.params, envelopeDescriptor, messageCiphertext, envelopeHash, noRetryOnBoxIdNotFound: true },
      (result) => this.answered(read, result),
      read.parent,
    );
  }

  private answered(read: Read, result: Result<ArqOutput>): void {
    read.busy = undefined;
    if (this.lane === read) this.releaseLane();
    if (this.heldBack.length > 0) queueMicrotask(() => this.release());
    if (!this.live(read)) return;
    const id = read.id;
    const notFound =
      result.ok && result.value.outcome === 'expected' && result.value.errorCode === BOX_ID_NOT_FOUND;
    this.firstAnswered(read);
    if (!notFound || read.cancelled) {
      return void this.finish(
        id,
        read.cancelled && notFound ? { ok: true, value: { outcome: 'cancelled' } } : result,
      );
    }
    read.misses++;
    if (read.misses === 1) this.enlist(read);
    // Young: re-polled as a first poll again (under the same cap), before it joins the others.
    if (this.young(read)) {
      read.first = 'queued';
      this.unsent.push(read);
      return void this.sendFirst();
    }
    this.next(read);
  }

  /** Into the waiting list in start order; one that lands among the hot ones pushes the last one out. */
  private enlist(read: Read): void {
    let i = this.waiting.length;
    while (i > 0 && this.waiting[i - 1]!.seq > read.seq) i--;
    this.waiting.splice(i, 0, read);
  }

  /** After a BoxIDNotFound: at once if the read is hot, else after its backoff, through the lane. */
  private next(read: Read): void {
    const { minDelayMs } = this.policy;
    if (this.hot(read)) {
      read.timer = this.host.clock.setTimeout(() => this.fire(read, false), minDelayMs);
      return;
    }
    const slots = Math.min(
      this.policy.backoffBaseSlots * 2 ** Math.max(0, read.misses - 1),
      this.policy.backoffMaxSlots,
    );
    const { jitter } = this.policy;
    const delay =
      Math.max(minDelayMs, slots * this.host.sendSlotMs()) * (1 - jitter + 2 * jitter * Math.random());
    read.timer = this.host.clock.setTimeout(() => {
      read.timer = undefined;
      // Promoted meanwhile: it is polled as a hot read.
      if (this.hot(read)) return void this.fire(read, false);
      this.due.push(read);
      this.runLane();
    }, delay);
  }

  private fire(read: Read, freshEnvelope: boolean): void {
    read.timer = undefined;
    if (!this.live(read)) return;
    this.send(read, freshEnvelope || read.polls >= this.policy.pollsPerEnvelope);
  }

  private runLane(): void {
    if (this.lane) return;
    const read = this.due.shift();
    if (!read) return;
    this.lane = read;
    // A backoff outlives the courier's cached answer: a fresh envelope.
    this.fire(read, true);
  }

  private releaseLane(): void {
    this.lane = undefined;
    // After the current event: the read that freed the lane is settled first.
    queueMicrotask(() => this.runLane());
  }

  private finish(id: string, result: Result<ArqOutput>): void {
    const read = this.reads.get(id);
    if (!read) return;
    this.reads.delete(id);
    this.host.clock.clearTimeout(read.timer);
    this.host.clock.clearTimeout(read.starveTimer);
    const h = this.heldBack.indexOf(read);
    if (h >= 0) this.heldBack.splice(h, 1);
    this.firstAnswered(read);
    const wasHot = this.hot(read);
    const w = this.waiting.indexOf(read);
    if (w >= 0) this.waiting.splice(w, 1);
    const d = this.due.indexOf(read);
    if (d >= 0) this.due.splice(d, 1);
    if (this.lane === read) this.releaseLane();
    read.respond(result);
    if (wasHot) this.promote();
  }

  /** A hot place freed: the oldest cold read takes it, now. */
  private promote(): void {
    const read = this.waiting[this.policy.inDaemon - 1];
    if (!read || read.busy !== undefined || read.first !== undefined) return;
    this.host.clock.clearTimeout(read.timer);
    const d = this.due.indexOf(read);
    if (d >= 0) this.due.splice(d, 1);
    this.fire(read, true);
  }
}

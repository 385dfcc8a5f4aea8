/**
 * The Pigeonhole stop-and-wait ARQ (katzenpost client/pigeonhole.go, client/daemon.go): start_resending_encrypted_message
 * and start_resending_copy_command each become one operation, sent to a courier under a fresh SURB and
 * retransmitted after ReplyETA + slop, forever, until the courier's replies (arqReplies.ts) end it, the
 * client cancels it, or its session goes. Operations are found by SURB ID (replies) and by envelope hash
 * or write-cap hash (cancels).
 */
import { blake2b256 } from '../../crypto/hash.js';
import { ThinCode } from '../../wire/errorCodes.js';
import type { RequestBody } from '../../wire/schema.js';
import type { TimerHandle } from '../clock.js';
import type { Sizes } from '../geometry.js';
import { type Directory, findServices } from '../network/directory.js';
import type { Network } from '../network/network.js';
import { encodeCourierQuery } from '../pigeonhole/messages.js';
import type { Drbg } from '../rng.js';
import type { TimingProfile } from '../timing.js';
import { type ArqFacts, type ArqResult, ArqState, courierReplyStep } from './arqReplies.js';
import type { Connection } from './connection.js';
import type { App } from './sessions.js';
import { type DaemonTimers, guarded } from './timers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Per-app retransmission queue (`resendCh`). */
const RESEND_QUEUE = 8;

export type ArqKind = ArqFacts['kind'];

interface Courier {
  hash: Uint8Array;
  queue: Uint8Array;
}

interface Arq extends ArqFacts {
  app: App;
  queryId: Uint8Array | undefined;
  /** Envelope hash (envelopes) or BLAKE2b-256 of the write cap (copies), in hex: what a cancel names. */
  key: string;
  courier: Courier;
  /** The CourierQuery sent on every (re)transmission. */
  payload: Uint8Array;
  surb: string;
  timer: TimerHandle | null;
  retransmissions: number;
}

/** What a start_resending_* request asks for, once its fields have been checked. */
type ArqRequest = Omit<ArqFacts, 'kind' | 'state'> & {
  key: string;
  payload: Uint8Array;
  /** Undefined when the document lists no courier. */
  courier: Courier | undefined;
};

export interface ArqOptions {
  net: Network;
  rng: Drbg;
  sizes: Sizes;
  timing: TimingProfile;
  timers: DaemonTimers;
  directory: () => Directory;
  /** Arms a send slot (a retransmission was queued). */
  kickEgress: () => void;
  /** Where the network delivers SURB replies (the daemon routes them back here or to legacy replies). */
  onSurbReply: (surb: string, payload: Uint8Array) => void;
  dropRepliesWhileDisconnected: boolean;
  log: (line: string) => void;
}

/** Sends the reply that ends an operation (or refuses to start one). */
export function sendArqResult(
  conn: Connection,
  op: { kind: ArqKind; queryId: Uint8Array | undefined; courier?: Courier },
  result: ArqResult,
): void {
  if (op.kind === 'envelope') {
    conn.send('start_resending_encrypted_message_reply', {
      query_id: op.queryId,
      plaintext: result.plaintext,
      error_code: result.error_code,
      courier_identity_hash: op.courier?.hash,
      courier_queue_id: op.courier?.queue,
    });
    return;
  }
  conn.send('start_resending_copy_command_reply', {
    query_id: op.queryId,
    error_code: result.error_code,
    replica_error_code: result.replica_error_code,
    failed_envelope_index: result.failed_envelope_index,
  });
}

export class ArqTable {
  private readonly bySurb = new Map<string, Arq>();
  private readonly byKey = new Map<string, Arq>();

  constructor(private readonly opts: ArqOptions) {}

  startEncrypted(app: App, body: RequestBody<'start_resending_encrypted_message'>): void {
    const readCap = body.read_cap;
    const valid =
      body.query_id &&
      body.envelope_hash &&
      body.message_ciphertext &&
      body.message_ciphertext.length > 0 &&
      body.envelope_descriptor &&
      body.envelope_descriptor.length > 0 &&
      (readCap === undefined) !== (body.write_cap === undefined);
    this.start(
      app,
      'envelope',
      body.query_id,
      valid
        ? {
            key: hex(body.envelope_hash!),
            payload: body.message_ciphertext!,
            descriptor: body.envelope_descriptor!,
            isRead: readCap !== undefined,
            readCap,
            index: body.message_box_index,
            noRetry: body.no_retry_on_box_id_not_found === true,
            noIdempotent: body.no_idempotent_box_already_exists === true,
            courier: this.randomCourier(),
          }
        : undefined,
    );
  }

  startCopy(app: App, body: RequestBody<'start_resending_copy_command'>): void {
    const pinned = body.courier_identity_hash && body.courier_queue_id && body.courier_queue_id.length > 0;
    this.start(
      app,
      'copy',
      body.query_id,
      body.query_id && body.write_cap
        ? {
            key: hex(blake2b256(body.write_cap)),
            payload: encodeCourierQuery({ kind: 'copy', writeCap: body.write_cap }),
            descriptor: new Uint8Array(0),
            isRead: false,
            readCap: undefined,
            index: undefined,
            noRetry: false,
            noIdempotent: false,
            courier: pinned
              ? { hash: body.courier_identity_hash!, queue: body.courier_queue_id! }
              : this.randomCourier(),
          }
        : undefined,
    );
  }

  /** Cancels the operation of that kind and key, if any: its request gets StartResendingCancelled on `conn`. */
  cancel(kind: ArqKind, key: Uint8Array, conn: Connection): void {
    const arq = this.byKey.get(hex(key));
    if (!arq || arq.kind !== kind) return;
    this.drop(arq);
    sendArqResult(conn, arq, { error_code: ThinCode.StartResendingCancelled });
  }

  /** `arqDoResend`, on a send slot. */
  resend(surb: string): void {
    const arq = this.bySurb.get(surb);
    if (!arq) return;
    if (!arq.app.conn) return void this.drop(arq);
    if (!this.transmit(arq)) {
      // Compose failure: keep the operation and try again shortly.
      arq.timer = this.opts.timers.set(this.opts.timing.composeRetryMs, () => this.onTimer(arq.surb));
      return;
    }
    arq.retransmissions++;
  }

  /** A SURB reply: false when no operation waits for that SURB ID. */
  reply(surb: string, payload: Uint8Array): boolean {
    const arq = this.bySurb.get(surb);
    if (!arq) return false;
    this.opts.timers.clear(arq.timer);
    arq.timer = null;
    if (!arq.app.conn) {
      // [quirk] the reply is lost and the entry stays without a timer (katzenpost client/pigeonhole.go handlePigeonholeARQReply finds no connection and returns).
      if (this.opts.dropRepliesWhileDisconnected) return true;
      arq.timer = this.opts.timers.set(this.opts.timing.resendRearmMs, () => this.onTimer(arq.surb));
      return true;
    }
    guarded(this.opts.log, 'ARQ reply', () => this.step(arq, payload));
    return true;
  }

  /** Operations in flight. */
  get count(): number {
    return this.byKey.size;
  }

  /** Every operation of the app goes (its session ended). */
  dropApp(app: App): void {
    for (const arq of [...this.byKey.values(), ...this.bySurb.values()]) if (arq.app === app) this.drop(arq);
  }

  clear(): void {
    this.byKey.clear();
    this.bySurb.clear();
  }

  private start(
    app: App,
    kind: ArqKind,
    queryId: Uint8Array | undefined,
    request: ArqRequest | undefined,
  ): void {
    const refuse = (code: number) => {
      if (app.conn) sendArqResult(app.conn, { kind, queryId }, { error_code: code });
    };
    if (!request) return void refuse(ThinCode.InvalidRequest);
    const { courier } = request;
    if (!courier) return void refuse(ThinCode.InternalError);
    const arq: Arq = {
      ...request,
      kind,
      app,
      queryId,
      courier,
      state: ArqState.Waiting,
      surb: '',
      timer: null,
      retransmissions: 0,
    };
    if (!this.transmit(arq)) refuse(ThinCode.InternalError);
  }

  /** Applies the reply machine's decision. */
  private step(arq: Arq, payload: Uint8Array): void {
    const step = courierReplyStep(arq, payload, this.opts.directory());
    const t = this.opts.timing;
    switch (step.next) {
      case 'finish':
        this.drop(arq);
        if (arq.app.conn) sendArqResult(arq.app.conn, arq, step.result);
        return;
      case 'follow-up':
        arq.state = step.state;
        return void this.followUp(
          arq,
          step.wait === 'after-ack' ? t.followUpFloorMs : t.notFoundRetryFloorMs,
        );
      case 'copy-poll': {
        // Keep the entry reachable (under a placeholder SURB ID) and poll again later.
        this.rekey(arq, hex(this.opts.rng.bytes(16)));
        const surb = arq.surb;
        arq.timer = this.opts.timers.set(t.copyPollMs, () => this.onTimer(surb));
        return;
      }
      case 'drop':
        return void this.drop(arq);
      case 'ignore':
        return;
    }
  }

  /** `GetRandomCourier`: uniformly among the document's courier services. */
  private randomCourier(): Courier | undefined {
    const services = findServices(this.opts.directory(), 'courier');
    if (services.length === 0) return undefined;
    const s = this.opts.rng.pick(services);
    return { hash: s.node.identityHash, queue: new TextEncoder().encode(s.endpoint) };
  }

  /** Sends the operation's payload under a fresh SURB; false when the packet cannot be composed. */
  private transmit(arq: Arq): boolean {
    if (arq.payload.length > this.opts.sizes.userForwardPayloadLength) return false;
    const surb = hex(this.opts.rng.bytes(16));
    let rtt: number;
    try {
      rtt = this.opts.net.send({
        destinationIdHash: arq.courier.hash,
        recipientQueueId: arq.courier.queue,
        payload: arq.payload,
        onReply: (p) => this.opts.onSurbReply(surb, p),
      }).rttMs;
    } catch {
      return false;
    }
    this.rekey(arq, surb);
    this.opts.timers.clear(arq.timer);
    arq.timer = this.opts.timers.set(rtt + this.opts.timing.arqSlopMs, () => this.onTimer(surb));
    return true;
  }

  /** Points both maps at `surb`, forgetting the previous SURB ID. */
  private rekey(arq: Arq, surb: string): void {
    if (arq.surb && this.bySurb.get(arq.surb) === arq) this.bySurb.delete(arq.surb);
    arq.surb = surb;
    this.bySurb.set(surb, arq);
    this.byKey.set(arq.key, arq);
  }

  private drop(arq: Arq): void {
    this.opts.timers.clear(arq.timer);
    arq.timer = null;
    if (this.bySurb.get(arq.surb) === arq) this.bySurb.delete(arq.surb);
    if (this.byKey.get(arq.key) === arq) this.byKey.delete(arq.key);
    const i = arq.app.resend.indexOf(arq.surb);
    if (i >= 0) arq.app.resend.splice(i, 1);
  }

  /** The retransmission timer fired (or a poll/follow-up is due): queue a resend for the next slot. */
  private onTimer(surb: string): void {
    const arq = this.bySurb.get(surb);
    if (!arq) return;
    arq.timer = null;
    this.queueResend(arq);
  }

  private queueResend(arq: Arq): void {
    const app = arq.app;
    if (!app.conn || app.resend.length >= RESEND_QUEUE) {
      arq.timer = this.opts.timers.set(this.opts.timing.resendRearmMs, () => this.onTimer(arq.surb));
      return;
    }
    if (!app.resend.includes(arq.surb)) app.resend.push(arq.surb);
    this.opts.kickEgress();
  }

  /** A follow-up poll: same payload, fresh SURB, on the next send slot after `floorMs`. */
  private followUp(arq: Arq, floorMs: number): void {
    if (floorMs > 0) {
      arq.timer = this.opts.timers.set(floorMs, () => this.onTimer(arq.surb));
    } else {
      this.queueResend(arq);
    }
  }
}

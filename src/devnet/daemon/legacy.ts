/**
 * Legacy send_message (katzenpost client/daemon.go `send`, client/send.go): one Sphinx packet to a service
 * (echo, or one that never answers), with a message_sent_event when a SURB was asked for and a
 * message_reply_event when the reply comes back within ReplyETA + slop. Replies for a disconnected session
 * with a token wait for it (up to 1000); a resume flushes them first.
 */
import { encodeResponse } from '../../wire/messages.js';
import type { RequestBody, ResponseBody } from '../../wire/schema.js';
import type { TimerHandle } from '../clock.js';
import type { Sizes } from '../geometry.js';
import { type Network, UnknownDestinationError } from '../network/network.js';
import type { TimingProfile } from '../timing.js';
import type { App, Sessions } from './sessions.js';
import type { DaemonTimers } from './timers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Legacy replies kept for a disconnected session. */
const MAX_QUEUED_REPLIES = 1000;
/** Hops a SURB round trip crosses with 3 mix layers: out and back through the mixes, plus 3. */
const ROUND_TRIP_HOPS = 2 * 3 + 3;

interface PendingReply {
  app: App;
  messageId: Uint8Array | undefined;
  surbId: Uint8Array;
  timer: TimerHandle | null;
}

export interface LegacyOptions {
  net: Network;
  sizes: Sizes;
  timing: TimingProfile;
  timers: DaemonTimers;
  sessions: Sessions;
  onSurbReply: (surb: string, payload: Uint8Array) => void;
}

export class LegacyMessages {
  private readonly pending = new Map<string, PendingReply>();

  constructor(private readonly opts: LegacyOptions) {}

  send(app: App, body: RequestBody<'send_message'>): void {
    const withSurb = body.with_surb === true;
    const surbId = body.surbid;
    const { rttMs, err } = this.transmit(body, withSurb);
    if (!withSurb) return;
    app.conn?.send('message_sent_event', {
      message_id: body.id,
      surbid: surbId,
      sent_at: BigInt(Math.floor(Date.now() / 1000)),
      reply_eta: BigInt(Math.round(rttMs * 1e6)),
      err: err || undefined,
    });
    if (err || !surbId) return;
    const key = hex(surbId);
    const entry: PendingReply = { app, messageId: body.id, surbId, timer: null };
    entry.timer = this.opts.timers.set(rttMs + ROUND_TRIP_HOPS * this.opts.timing.legacySlopPerHopMs, () => {
      if (this.pending.get(key) === entry) this.pending.delete(key);
    });
    this.pending.set(key, entry);
  }

  /** A SURB reply: false when no legacy message waits for that SURB ID. */
  reply(surb: string, payload: Uint8Array): boolean {
    const entry = this.pending.get(surb);
    if (!entry) return false;
    this.pending.delete(surb);
    this.opts.timers.clear(entry.timer);
    this.deliver(entry, payload);
    return true;
  }

  dropApp(app: App): void {
    for (const [surb, entry] of this.pending) {
      if (entry.app !== app) continue;
      this.opts.timers.clear(entry.timer);
      this.pending.delete(surb);
    }
  }

  clear(): void {
    this.pending.clear();
  }

  /** Sends the padded packet; `err` is what message_sent_event reports (empty on success). */
  private transmit(body: RequestBody<'send_message'>, withSurb: boolean): { rttMs: number; err: string } {
    const payload = body.payload ?? new Uint8Array(0);
    const surbId = body.surbid;
    const size = this.opts.sizes.userForwardPayloadLength;
    if (payload.length > size) return { rttMs: 0, err: 'message too large' };
    if (!body.destination_id_hash) return { rttMs: 0, err: 'destination id hash is nil' };
    if (withSurb && !surbId) return { rttMs: 0, err: 'SURB ID is nil' };
    const padded = new Uint8Array(size);
    padded.set(payload);
    try {
      const { rttMs } = this.opts.net.send({
        destinationIdHash: body.destination_id_hash,
        recipientQueueId: body.recipient_queue_id ?? new Uint8Array(0),
        payload: padded,
        onReply: withSurb && surbId ? (p) => this.opts.onSurbReply(hex(surbId), p) : undefined,
      });
      return { rttMs, err: '' };
    } catch (e) {
      return {
        rttMs: 0,
        err: e instanceof UnknownDestinationError ? e.message : `send failed: ${(e as Error).message}`,
      };
    }
  }

  private deliver(entry: PendingReply, payload: Uint8Array): void {
    const app = entry.app;
    const body: ResponseBody<'message_reply_event'> = {
      message_id: entry.messageId,
      surbid: entry.surbId,
      payload,
      error_code: 0,
    };
    if (app.conn) {
      app.conn.send('message_reply_event', body);
      return;
    }
    if (this.opts.sessions.canQueueFor(app) && app.queuedReplies.length < MAX_QUEUED_REPLIES) {
      app.queuedReplies.push(encodeResponse('message_reply_event', body, 'go'));
    }
  }
}

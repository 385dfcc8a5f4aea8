/**
 * The daemon's ingress: kpclientd handles every reply from the mixnet on one goroutine for the whole
 * daemon (ingressWorker → handleReply), and a Pigeonhole reply that carries a payload is first MKEM-
 * decrypted with the envelope's private key (decryptPigeonholeReply): one CTIDH operation, a BoxIDNotFound
 * answer too, since its error code is inside the encrypted reply. So replies wait for each other, and
 * a client's polls delay every client's answers. Acks and copy-command replies are not decrypted.
 */
import type { Clock } from '../clock.js';
import { parseCourierQueryReply, ReplyType } from '../pigeonhole/messages.js';

export interface IngressOptions {
  clock: Clock;
  /** Simulated cost of one CTIDH operation, in ms (0: replies are handled at once, as before). */
  ctidhMs: () => number;
  /** Does one CTIDH operation (on the devnet's cores). */
  work: () => Promise<void>;
  /** One reply at a time, daemon-wide, as kpclientd does (false: each pays its cost in parallel). */
  serial: boolean;
  log: (line: string) => void;
}

/** True for a courier envelope reply with a payload (the daemon decrypts it). */
function decrypted(payload: Uint8Array): boolean {
  try {
    const q = parseCourierQueryReply(payload);
    return q.kind === 'envelope' && q.reply.replyType === ReplyType.Payload;
  } catch {
    return false;
  }
}

export class Ingress {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Replies decrypted, and the simulated ms they waited for the ones ahead of them. */
  readonly counts = { decrypted: 0, waitedMs: 0 };

  constructor(private readonly opts: IngressOptions) {}

  /** Handles one reply: at once when it costs nothing and nothing is ahead of it, else in turn. */
  deliver(payload: Uint8Array, handle: () => void): void {
    const ms = this.opts.ctidhMs();
    const cost = ms > 0 && decrypted(payload) ? ms : 0;
    if (cost > 0) this.counts.decrypted++;
    if (cost === 0 && this.queued === 0) {
      handle();
      return;
    }
    if (!this.opts.serial && cost > 0) {
      void this.opts.work().then(handle);
      return;
    }
    this.queued++;
    const arrived = this.opts.clock.now();
    this.chain = this.chain.then(async () => {
      this.counts.waitedMs += this.opts.clock.now() - arrived;
      if (cost > 0) await this.opts.work();
      this.queued--;
      try {
        handle();
      } catch (err) {
        this.opts.log(`ingress: reply handler failed: ${(err as Error).message}`);
      }
    });
  }
}

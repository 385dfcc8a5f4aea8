/**
 * The daemon's egress (katzenpost client/incoming_conn.go, listener.go PickNextRequest, sender.go): each app
 * queues up to 16 mixnet requests (the reader blocks while its queue is full), and one packet leaves per send
 * slot, daemon-wide, round-robin over the connected apps, an app's retransmissions before its new requests.
 */
import type { TimerHandle } from '../clock.js';
import type { Drbg } from '../rng.js';
import type { Connection } from './connection.js';
import type { MixnetRequest } from './mixnetRequests.js';
import type { App, Sessions } from './sessions.js';
import { type DaemonTimers, guarded } from './timers.js';

/** Per-app mixnet request queue (`requestCh`). */
const REQUEST_QUEUE = 16;

export interface EgressOptions {
  sessions: Sessions;
  timers: DaemonTimers;
  rng: Drbg;
  sendSlotMeanMs: number;
  mixnetConnected: () => boolean;
  /** Sends one retransmission of the ARQ under that SURB ID. */
  resend: (surb: string) => void;
  /** Sends one new request. */
  dispatch: (app: App, request: MixnetRequest) => void;
  log: (line: string) => void;
  /** Counted here, kept by the devnet across daemon restarts. */
  slots: SlotCounts;
}

/** Send slots used since this daemon started: by retransmissions and follow-ups, and by new requests. */
export interface SlotCounts {
  resend: number;
  fresh: number;
}

export class Egress {
  private slotTimer: TimerHandle | null = null;
  private cursor = 0;
  private stopped = false;

  constructor(private readonly opts: EgressOptions) {}

  /** Queues a request; waits (as kpclientd's reader does) while the app's queue is full. */
  async enqueue(app: App, conn: Connection, request: MixnetRequest): Promise<void> {
    while (app.fifo.length >= REQUEST_QUEUE && app.conn === conn && !this.stopped) {
      await new Promise<void>((resolve) => app.spaceWaiters.push(resolve));
    }
    if (app.conn !== conn || this.stopped) return;
    app.fifo.push(request);
    this.kick();
  }

  /** Arms the next send slot if anything is waiting and the gateway link is up. */
  kick(): void {
    if (this.stopped || this.slotTimer || !this.opts.mixnetConnected()) return;
    if (!this.opts.sessions.connected().some((a) => a.resend.length > 0 || a.fifo.length > 0)) return;
    this.slotTimer = this.opts.timers.set(this.opts.rng.exp(this.opts.sendSlotMeanMs), () => {
      this.slotTimer = null;
      if (this.stopped || !this.opts.mixnetConnected()) return;
      this.sendSlot();
      this.kick();
    });
  }

  stop(): void {
    this.stopped = true;
    this.slotTimer = null;
  }

  private sendSlot(): void {
    const apps = this.opts.sessions.connected();
    for (let i = 0; i < apps.length; i++) {
      const app = apps[(this.cursor + i) % apps.length]!;
      if (app.resend.length === 0 && app.fifo.length === 0) continue;
      this.cursor = (this.cursor + i + 1) % apps.length;
      const surb = app.resend.shift();
      if (surb !== undefined) {
        this.opts.slots.resend++;
        guarded(this.opts.log, 'resend', () => this.opts.resend(surb));
        return;
      }
      const request = app.fifo.shift()!;
      app.spaceWaiters.shift()?.();
      this.opts.slots.fresh++;
      guarded(this.opts.log, request.key, () => this.opts.dispatch(app, request));
      return;
    }
  }
}

/**
 * The emulated kpclientd: one instance per daemon "process" (a restart makes a new one with a new
 * instance token). It follows kpclientd (katzenpost client/daemon.go, listener.go, incoming_conn.go,
 * pigeonhole.go), and wires the parts together:
 *
 * - handshake: connection_status_event, new_pki_document_event, then session_token → session_token_reply
 *   (sessions.ts: grace period, resume, thin_close);
 * - local requests answered inline in arrival order (localRequests.ts);
 * - mixnet requests (mixnetRequests.ts) queued per app and sent one per send slot (egress.ts): the Pigeonhole ARQ
 *   (arq.ts, arqReplies.ts) and legacy send_message (legacy.ts);
 * - broadcasts (gateway status, new documents) and shutdown.
 */
import type { DecodedRequest } from '../../wire/messages.js';
import type { Clock } from '../clock.js';
import type { Sizes } from '../geometry.js';
import { ctidhWork } from '../network/cpu.js';
import type { Directory } from '../network/directory.js';
import type { Network } from '../network/network.js';
import type { Drbg } from '../rng.js';
import type { TimingProfile } from '../timing.js';
import { ArqTable } from './arq.js';
import type { AuthorityInfo } from './authorities.js';
import type { Connection, ConnectionHandler } from './connection.js';
import { Egress, type SlotCounts } from './egress.js';
import { Ingress } from './ingress.js';
import { LegacyMessages } from './legacy.js';
import type { LocalContext } from './localHandler.js';
import { answerLocal, isLocalRequest } from './localRequests.js';
import { isMixnetRequest, type MixnetRequest } from './mixnetRequests.js';
import { type App, Sessions } from './sessions.js';
import { DaemonTimers, guarded } from './timers.js';

/** Where a stalled handshake stops (fault knob): before the status event, the document, or the session reply. */
export type HandshakeStall = 'status' | 'document' | 'sessionReply';

export interface DaemonOptions {
  network: Network;
  clock: Clock;
  rng: Drbg;
  sizes: Sizes;
  timing: TimingProfile;
  sessionGraceMs: number;
  mixnetConnected: () => boolean;
  authorities: AuthorityInfo[];
  dropRepliesWhileDisconnected: boolean;
  /** Replies are decrypted one at a time, daemon-wide (ingress.ts); default true, as kpclientd. */
  serialReplyDecryption?: boolean;
  log: (line: string) => void;
  /** Fault knobs the devnet handle sets (index.ts); read when a socket is accepted or closes. */
  faults?: () => { stallHandshakes: HandshakeStall | null; ignoreThinClose: boolean };
  /** Send slots used, counted across daemon restarts (default: this instance's own count). */
  slots?: SlotCounts;
}

export class Daemon implements ConnectionHandler {
  readonly instanceToken: Uint8Array;
  private readonly opts: DaemonOptions;
  private readonly conns = new Set<Connection>();
  private readonly timers: DaemonTimers;
  private readonly sessions: Sessions;
  private readonly arqs: ArqTable;
  private readonly legacy: LegacyMessages;
  private readonly egress: Egress;
  private readonly ingress: Ingress;
  private stopped = false;
  private built = 0;
  /** Connections whose handshake a fault stalled: their session_token goes unanswered. */
  private readonly stalled = new WeakSet<Connection>();
  private readonly unsubscribeEpoch: () => void;

  constructor(options: DaemonOptions) {
    this.opts = options;
    const { network: net, rng, sizes, timing } = options;
    const log = (line: string) => this.log(line);
    const directory = () => net.directory();
    const onSurbReply = (surb: string, payload: Uint8Array) => this.onSurbReply(surb, payload);
    this.instanceToken = rng.bytes(16);
    this.timers = new DaemonTimers(options.clock, log);
    const timers = this.timers;
    this.sessions = new Sessions({
      rng,
      timers,
      graceMs: options.sessionGraceMs,
      onDestroy: (app) => {
        this.arqs.dropApp(app);
        this.legacy.dropApp(app);
      },
      onResume: () => this.egress.kick(),
    });
    this.arqs = new ArqTable({
      net,
      rng,
      sizes,
      timing,
      timers,
      directory,
      kickEgress: () => this.egress.kick(),
      onSurbReply,
      dropRepliesWhileDisconnected: options.dropRepliesWhileDisconnected,
      log,
    });
    this.legacy = new LegacyMessages({ net, sizes, timing, timers, sessions: this.sessions, onSurbReply });
    this.egress = new Egress({
      sessions: this.sessions,
      timers,
      rng,
      sendSlotMeanMs: timing.sendSlotMeanMs,
      mixnetConnected: options.mixnetConnected,
      resend: (surb) => this.arqs.resend(surb),
      dispatch: (app, request) => this.dispatchMixnet(app, request),
      log,
      slots: options.slots ?? { resend: 0, fresh: 0 },
    });
    this.ingress = new Ingress({
      clock: options.clock,
      ctidhMs: () => timing.ctidhMs,
      work: () => ctidhWork(options.clock, timing, 1),
      serial: options.serialReplyDecryption ?? true,
      log,
    });
    this.unsubscribeEpoch = net.onNewEpoch((dir) => this.broadcastDocument(dir));
  }

  log(line: string): void {
    this.opts.log(`daemon: ${line}`);
  }

  /** Number of live sessions (AppIDs), connected or in their grace period. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Number of ARQ operations in flight. */
  get arqCount(): number {
    return this.arqs.count;
  }

  /** Takes over an accepted socket: registers a fresh AppID and sends the two handshake frames. */
  accept(conn: Connection): void {
    if (this.stopped) return void conn.drop();
    this.conns.add(conn);
    this.sessions.open(conn);
    const stall = this.opts.faults?.().stallHandshakes ?? null;
    if (stall !== null) this.stalled.add(conn);
    if (stall !== 'status') this.sendStatus(conn);
    if (stall === null || stall === 'sessionReply')
      conn.send('new_pki_document_event', { payload: this.opts.network.directory().stripped });
    // A stalled handshake still hears what is broadcast (status changes, documents, shutdown).
    conn.initialSequenceDone = true;
  }

  closed(conn: Connection): void {
    this.conns.delete(conn);
    if (!this.stopped) this.sessions.socketClosed(conn);
  }

  async handle(conn: Connection, request: DecodedRequest): Promise<void> {
    if (this.stopped || conn.explicitClose) return;
    switch (request.key) {
      case 'unknown':
        // kpclientd queues it as a mixnet request and drops it with a log line: no reply, ever.
        this.log(`conn ${conn.id}: request with no recognised key ignored`);
        return;
      case 'thin_close':
        conn.explicitClose = true;
        // Fault: a daemon that never closes the socket (the client waits out its close timeout).
        if (!this.opts.faults?.().ignoreThinClose) conn.drop();
        return;
      case 'session_token':
        if (this.stalled.has(conn)) return;
        this.sessions.claimToken(conn, request.body.client_instance_token);
        return;
      default:
        break;
    }
    const app = this.sessions.get(conn.appKey);
    if (!app) return;
    if (isLocalRequest(request)) {
      await answerLocal(request.key, request.body, this.localContext(conn), {
        ctidh: (ops) => this.ctidh(ops),
        log: (line) => this.log(line),
      });
    } else if (isMixnetRequest(request)) {
      await this.egress.enqueue(app, conn, request);
    }
  }

  private localContext(conn: Connection): LocalContext {
    const net = this.opts.network;
    return {
      net,
      rng: this.opts.rng,
      sizes: this.opts.sizes,
      authorities: this.opts.authorities,
      arqs: this.arqs,
      conn,
      directory: () => net.directory(),
      yieldSometimes: () => this.yieldSometimes(),
    };
  }

  /**
   * Building thousands of envelopes (a 10 MiB copy payload) takes a while; let other connections and the
   * network run every few envelopes. The requesting connection still waits, as kpclientd's reader does.
   */
  private async yieldSometimes(): Promise<void> {
    if (++this.built % 16 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private ctidh(ops: number): Promise<void> {
    return ctidhWork(this.opts.clock, this.opts.timing, ops);
  }

  private dispatchMixnet(app: App, request: MixnetRequest): void {
    switch (request.key) {
      case 'send_message':
        this.legacy.send(app, request.body);
        return;
      case 'start_resending_encrypted_message':
        this.arqs.startEncrypted(app, request.body);
        return;
      case 'start_resending_copy_command':
        this.arqs.startCopy(app, request.body);
        return;
    }
  }

  /** Replies decrypted by the ingress, and the simulated ms they waited behind others. */
  get ingressCounts(): { decrypted: number; waitedMs: number } {
    return { ...this.ingress.counts };
  }

  /** Every SURB reply lands here: a legacy message's, else an ARQ's, in turn (ingress.ts). */
  private onSurbReply(surb: string, payload: Uint8Array): void {
    if (this.stopped) return;
    if (!this.opts.mixnetConnected()) {
      // The gateway link is down: the reply never reaches the daemon.
      this.opts.network.stats.packetsLost++;
      return;
    }
    this.ingress.deliver(payload, () => this.handleSurbReply(surb, payload));
  }

  private handleSurbReply(surb: string, payload: Uint8Array): void {
    if (this.stopped) return;
    let handled = false;
    guarded(this.log.bind(this), 'legacy reply', () => {
      handled = this.legacy.reply(surb, payload);
    });
    if (!handled) this.arqs.reply(surb, payload);
  }

  private sendStatus(conn: Connection): void {
    conn.send('connection_status_event', {
      is_connected: this.opts.mixnetConnected(),
      err: null,
      instance_token: this.instanceToken,
      sphinx_geometry: { ...this.opts.sizes.sphinx },
      pigeonhole_geometry: { ...this.opts.sizes.pigeonhole },
    });
  }

  /** Gateway link changed: every connection past its handshake gets a connection_status_event. */
  mixnetStatusChanged(): void {
    if (this.stopped) return;
    for (const conn of this.conns) if (conn.initialSequenceDone) this.sendStatus(conn);
    this.egress.kick();
  }

  private broadcastDocument(dir: Directory): void {
    if (this.stopped) return;
    for (const conn of this.conns) {
      if (conn.initialSequenceDone) conn.send('new_pki_document_event', { payload: dir.strippedBroadcast });
    }
  }

  /** Connections whose outgoing frames a fault holds back (corked sockets). */
  private readonly held = new Set<Connection>();

  /** Fault: buffers, in order, every frame to the clients connected now; `false` sends them all. */
  holdFrames(hold: boolean): void {
    if (hold) {
      for (const conn of this.conns) {
        if (this.held.has(conn)) continue;
        conn.socket.cork();
        this.held.add(conn);
      }
    } else {
      for (const conn of this.held) conn.socket.uncork();
      this.held.clear();
    }
  }

  /** Fault: one frame that does not decode as a Response, to every client socket. */
  sendUnreadableFrame(): void {
    for (const conn of this.conns) conn.sendRaw(new Uint8Array([0xff, 0x00]));
  }

  /** Severs every client socket without a shutdown event (sessions enter their grace period). */
  dropConnections(): void {
    for (const conn of [...this.conns]) conn.drop();
  }

  /**
   * Stops this daemon instance: with `graceful`, every client gets a shutdown_event first. All state
   * (sessions, ARQs, legacy replies) is gone; replies still in the network find nothing to match.
   */
  shutdown(graceful: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeEpoch();
    for (const conn of [...this.conns]) {
      if (graceful) {
        conn.send('shutdown_event', {});
        conn.end();
        setTimeout(() => conn.drop(), 50).unref?.();
      } else {
        conn.drop();
      }
    }
    this.timers.stop();
    this.egress.stop();
    this.sessions.clear();
    this.arqs.clear();
    this.legacy.clear();
  }
}

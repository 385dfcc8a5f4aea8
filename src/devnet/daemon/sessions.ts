/**
 * Sessions (katzenpost client/listener.go handleSessionToken, onClosedConn): one per AppID, keyed by the client instance token once the
 * client sends session_token. A session outlives a dropped socket for the grace period (a reconnect with
 * the same token resumes it, flushing the legacy replies queued meanwhile); thin_close or the end of the
 * grace period destroys it.
 */
import type { TimerHandle } from '../clock.js';
import type { Drbg } from '../rng.js';
import type { Connection } from './connection.js';
import type { MixnetRequest } from './mixnetRequests.js';
import type { DaemonTimers } from './timers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One session: an AppID, the socket speaking for it (if any), and its queues. */
export interface App {
  key: string;
  appId: Uint8Array;
  conn: Connection | null;
  token: string | null;
  graceTimer: TimerHandle | null;
  /** Mixnet requests waiting for a send slot (`requestCh`). */
  fifo: MixnetRequest[];
  /** SURB IDs of ARQs due for retransmission (`resendCh`); these go before `fifo`. */
  resend: string[];
  /** Encoded legacy replies that arrived while the socket was down. */
  queuedReplies: Uint8Array[];
  /** Readers blocked on a full `fifo`. */
  spaceWaiters: (() => void)[];
}

export interface SessionsOptions {
  rng: Drbg;
  timers: DaemonTimers;
  graceMs: number;
  /** Forgets everything else the daemon holds for the app (ARQs, legacy replies). */
  onDestroy: (app: App) => void;
  /** A resumed session may have queued mixnet work. */
  onResume: () => void;
}

export class Sessions {
  private readonly apps = new Map<string, App>();
  /** Client instance token (hex) → app key. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly opts: SessionsOptions) {}

  get size(): number {
    return this.apps.size;
  }

  get(key: string): App | undefined {
    return this.apps.get(key);
  }

  /** The sessions that currently have a socket, in creation order. */
  connected(): App[] {
    return [...this.apps.values()].filter((a) => a.conn);
  }

  /** A fresh AppID for a newly accepted connection. */
  open(conn: Connection): App {
    const appId = this.opts.rng.bytes(16);
    const app: App = {
      key: hex(appId),
      appId,
      conn,
      token: null,
      graceTimer: null,
      fifo: [],
      resend: [],
      queuedReplies: [],
      spaceWaiters: [],
    };
    this.apps.set(app.key, app);
    conn.appKey = app.key;
    return app;
  }

  /**
   * The connection's socket closed: its queued requests go; the session is destroyed at once after
   * thin_close (or if it never sent a token), else after the grace period.
   */
  socketClosed(conn: Connection): void {
    const app = this.apps.get(conn.appKey);
    if (!app || app.conn !== conn) return;
    app.conn = null;
    app.fifo = [];
    releaseWaiters(app);
    if (conn.explicitClose || app.token === null) {
      this.destroy(app);
      return;
    }
    app.graceTimer = this.opts.timers.set(this.opts.graceMs, () => this.destroy(app));
  }

  /** `session_token`: a known token resumes its session on this connection; a new one is recorded. */
  claimToken(conn: Connection, token: Uint8Array | undefined): void {
    const current = this.apps.get(conn.appKey);
    if (!current) return;
    const t = hex(token ?? new Uint8Array(16));
    const knownKey = this.tokens.get(t);
    const known = knownKey === undefined ? undefined : this.apps.get(knownKey);
    if (known && known !== current) {
      // Resume: this connection adopts the old AppID; the fresh one it was given is discarded.
      this.apps.delete(current.key);
      this.opts.timers.clear(known.graceTimer);
      known.graceTimer = null;
      known.conn = conn;
      conn.appKey = known.key;
      const queued = known.queuedReplies;
      known.queuedReplies = [];
      for (const frame of queued) conn.sendRaw(frame);
      conn.send('session_token_reply', { app_id: known.appId, resumed: true });
      this.opts.onResume();
      return;
    }
    if (known === current) {
      conn.send('session_token_reply', { app_id: current.appId, resumed: true });
      return;
    }
    current.token = t;
    this.tokens.set(t, current.key);
    conn.send('session_token_reply', { app_id: current.appId, resumed: false });
  }

  /** Whether a reply for `app` may wait for it to come back (a live session with a token). */
  canQueueFor(app: App): boolean {
    return this.apps.get(app.key) === app && app.token !== null;
  }

  /** `cleanupForAppID`: everything of the app goes, and its token is forgotten. */
  private destroy(app: App): void {
    this.opts.timers.clear(app.graceTimer);
    app.graceTimer = null;
    this.opts.onDestroy(app);
    if (app.token !== null && this.tokens.get(app.token) === app.key) this.tokens.delete(app.token);
    app.fifo = [];
    app.resend = [];
    app.queuedReplies = [];
    releaseWaiters(app);
    this.apps.delete(app.key);
  }

  /** Daemon shutdown: every session goes without the per-app cleanup (all state is dropped wholesale). */
  clear(): void {
    for (const app of this.apps.values()) releaseWaiters(app);
    this.apps.clear();
    this.tokens.clear();
  }
}

/** Wakes every reader blocked on the app's full queue (they re-check why they were woken). */
export function releaseWaiters(app: App): void {
  const waiters = app.spaceWaiters;
  app.spaceWaiters = [];
  for (const w of waiters) w();
}

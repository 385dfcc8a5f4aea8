/**
 * A scripted kpclientd peer on a real socket, for client tests.
 *
 * It listens on 127.0.0.1:0 (or a unix path), performs the daemon side of the handshake
 * (connection_status_event, new_pki_document_event, then session_token_reply once the client
 * sends its token), records every request with its exact bytes, and lets a test reply, push events,
 * inject raw bytes, drop the socket, shut down gracefully or restart with a new instance token.
 * Sessions behave like the daemon's: a known client token is `resumed` until `restart()` forgets it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Config } from '../../src/config.js';
import {
  decodeRequest,
  encodeFrame,
  encodeResponse,
  FrameDecoder,
  type RequestBody,
  type RequestKey,
  type ResponseBody,
  type ResponseKey,
} from '../../src/wire/index.js';
import { DOCKER_SPHINX_GEOMETRY } from './geometries.js';

export const SPHINX_GEOMETRY = DOCKER_SPHINX_GEOMETRY;

export const PIGEONHOLE_GEOMETRY = {
  MaxPlaintextPayloadLength: 1553,
  CourierQueryReadLength: 360,
  CourierQueryWriteLength: 2000,
  CourierQueryReplyReadLength: 1700,
  CourierQueryReplyWriteLength: 64,
  NIKEName: 'CTIDH1024-X25519',
  SignatureSchemeName: 'Ed25519',
};

export interface ReceivedRequest {
  key: RequestKey | 'unknown';
  body: Record<string, unknown>;
  /** The frame body exactly as received. */
  bytes: Uint8Array;
  conn: DaemonConnection;
}

export interface ScriptedDaemonOptions {
  /** A unix socket path (or "@name"); default TCP on 127.0.0.1:0. */
  unixPath?: string;
  instanceToken?: Uint8Array;
  /** The daemon's mixnet link as reported in connection_status_event. @default true */
  mixnetConnected?: boolean;
  pkiPayload?: Uint8Array | null;
  /** Runs after the session token arrives and before session_token_reply is sent. */
  beforeSessionReply?: (conn: DaemonConnection, resumed: boolean) => void | Promise<void>;
  /**
   * Says nothing by itself: no status or document on accept, no session_token_reply, no reaction
   * to thin_close, and the socket stays half-open when the client ends it. The test sends every
   * frame (model tests drive the handshake step by step).
   */
  manual?: boolean;
  /** Answers requests automatically when it returns a reply. */
  autoReply?: (request: ReceivedRequest) => { key: ResponseKey; body: object } | undefined;
}

export class DaemonConnection {
  readonly requests: ReceivedRequest[] = [];
  clientToken: Uint8Array | undefined;
  handshakeDone = false;
  closed = false;
  readonly closedPromise: Promise<void>;

  constructor(
    readonly daemon: ScriptedDaemon,
    readonly socket: Socket,
  ) {
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Sends a minimal one-key response map. */
  send<K extends ResponseKey>(key: K, body: ResponseBody<K>): void {
    this.sendBody(encodeResponse(key, body));
  }

  /** Sends one frame holding `body` (any bytes). */
  sendBody(body: Uint8Array): void {
    this.sendRaw(encodeFrame(body));
  }

  /** Writes bytes with no framing at all. */
  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Answers a request with the same query_id. */
  reply<K extends ResponseKey>(
    request: ReceivedRequest,
    key: K,
    body: Omit<ResponseBody<K>, 'query_id'> = {} as never,
  ): void {
    this.send(key, { query_id: request.body.query_id, ...body } as ResponseBody<K>);
  }

  /** Drops the socket with no goodbye (a crash, as far as the client can tell). */
  drop(): void {
    this.socket.destroy();
  }

  /** shutdown_event, then close: a graceful shutdown. */
  shutdown(): void {
    this.send('shutdown_event', {});
    this.socket.end();
  }
}

export class ScriptedDaemon {
  readonly connections: DaemonConnection[] = [];
  instanceToken: Uint8Array;
  mixnetConnected: boolean;
  pkiPayload: Uint8Array | null;
  /** Client token hex → app id, like the daemon's session table. */
  readonly sessions = new Map<string, Uint8Array>();
  options: ScriptedDaemonOptions;
  private server!: Server;
  private waiters: Array<{ match: (r: ReceivedRequest) => boolean; resolve: (r: ReceivedRequest) => void }> =
    [];
  private connWaiters: Array<{ n: number; resolve: (c: DaemonConnection) => void }> = [];
  private readonly seen: ReceivedRequest[] = [];
  private port = 0;

  private constructor(options: ScriptedDaemonOptions) {
    this.options = options;
    this.instanceToken = options.instanceToken ?? new Uint8Array(randomBytes(16));
    this.mixnetConnected = options.mixnetConnected ?? true;
    this.pkiPayload = options.pkiPayload ?? null;
  }

  static async start(options: ScriptedDaemonOptions = {}): Promise<ScriptedDaemon> {
    const daemon = new ScriptedDaemon(options);
    await daemon.listen();
    return daemon;
  }

  private listen(): Promise<void> {
    this.server = createServer({ allowHalfOpen: this.options.manual === true }, (socket) =>
      this.accept(socket),
    );
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const path = this.options.unixPath;
      if (path) {
        this.server.listen(path.startsWith('@') ? `\0${path.slice(1)}` : path, () => resolve());
      } else {
        this.server.listen(this.port, '127.0.0.1', () => {
          this.port = (this.server.address() as { port: number }).port;
          resolve();
        });
      }
    });
  }

  get config(): Config {
    return this.options.unixPath
      ? { dial: { type: 'unix', address: this.options.unixPath } }
      : { dial: { type: 'tcp', address: `127.0.0.1:${this.port}` } };
  }

  /** The newest connection. */
  get current(): DaemonConnection {
    const c = this.connections.at(-1);
    if (!c) throw new Error('no connection yet');
    return c;
  }

  /** Every request received so far, on any connection. */
  get requests(): readonly ReceivedRequest[] {
    return this.seen;
  }

  /** Resolves with the connection of the `n`-th completed handshake (1-based), once it completes. */
  handshake(n: number): Promise<DaemonConnection> {
    const done = this.connections.filter((c) => c.handshakeDone);
    if (done.length >= n) return Promise.resolve(done[n - 1]!);
    return new Promise((resolve) => this.connWaiters.push({ n, resolve }));
  }

  /** Resolves with the first request (from now on, or already received and unclaimed) matching. */
  nextRequest(match: RequestKey | ((r: ReceivedRequest) => boolean)): Promise<ReceivedRequest> {
    const fn = typeof match === 'string' ? (r: ReceivedRequest) => r.key === match : match;
    const i = this.unclaimed.findIndex(fn);
    if (i >= 0) {
      const [r] = this.unclaimed.splice(i, 1);
      return Promise.resolve(r!);
    }
    return new Promise((resolve) => this.waiters.push({ match: fn, resolve }));
  }

  private readonly unclaimed: ReceivedRequest[] = [];

  /** Pushes a connection_status_event to every live connection. */
  setMixnetConnected(value: boolean): void {
    this.mixnetConnected = value;
    for (const c of this.live()) c.send('connection_status_event', this.statusBody());
  }

  /** Live connections whose handshake is done. */
  live(): DaemonConnection[] {
    return this.connections.filter((c) => !c.closed && c.handshakeDone);
  }

  /**
   * Drops every connection and comes back as a new process: a new instance token (unless
   * `sameToken`), and no memory of sessions.
   */
  async restart(options: { sameToken?: boolean; keepSessions?: boolean } = {}): Promise<void> {
    for (const c of this.connections) c.drop();
    await Promise.all(this.connections.map((c) => c.closedPromise));
    if (!options.sameToken) this.instanceToken = new Uint8Array(randomBytes(16));
    if (!options.keepSessions) this.sessions.clear();
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    for (const c of this.connections) c.drop();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stops accepting new connections (existing ones stay, dials are refused) until `resume()`. */
  async pause(): Promise<void> {
    this.server.close();
  }

  async resume(): Promise<void> {
    await this.listen();
  }

  statusBody(): ResponseBody<'connection_status_event'> {
    return {
      is_connected: this.mixnetConnected,
      instance_token: this.instanceToken,
      sphinx_geometry: SPHINX_GEOMETRY,
      pigeonhole_geometry: PIGEONHOLE_GEOMETRY,
    };
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn = new DaemonConnection(this, socket);
    this.connections.push(conn);
    socket.on('close', () => {
      conn.closed = true;
    });
    socket.on('error', () => {});
    if (!this.options.manual) {
      conn.send('connection_status_event', this.statusBody());
      conn.send('new_pki_document_event', this.pkiPayload ? { payload: this.pkiPayload } : {});
    }
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(new Uint8Array(chunk));
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) void this.onFrame(conn, frame);
    });
  }

  private async onFrame(conn: DaemonConnection, bytes: Uint8Array): Promise<void> {
    let decoded: ReturnType<typeof decodeRequest>;
    try {
      decoded = decodeRequest(bytes);
    } catch {
      conn.drop(); // what kpclientd does with an undecodable request
      return;
    }
    const request: ReceivedRequest = {
      key: decoded.key,
      body: (decoded.key === 'unknown' ? {} : decoded.body) as Record<string, unknown>,
      bytes,
      conn,
    };
    conn.requests.push(request);
    this.seen.push(request);
    if (this.options.manual) {
      this.deliver(request);
      return;
    }
    if (decoded.key === 'session_token') {
      const token =
        (decoded.body as RequestBody<'session_token'>).client_instance_token ?? new Uint8Array(16);
      conn.clientToken = token;
      const id = Buffer.from(token).toString('hex');
      const known = this.sessions.get(id);
      const appId = known ?? new Uint8Array(randomBytes(16));
      this.sessions.set(id, appId);
      await this.options.beforeSessionReply?.(conn, known !== undefined);
      conn.send('session_token_reply', { app_id: appId, resumed: known !== undefined });
      conn.handshakeDone = true;
      const count = this.connections.filter((c) => c.handshakeDone).length;
      this.connWaiters = this.connWaiters.filter((w) => {
        if (w.n !== count) return true;
        w.resolve(conn);
        return false;
      });
      return;
    }
    if (decoded.key === 'thin_close') {
      if (conn.clientToken) this.sessions.delete(Buffer.from(conn.clientToken).toString('hex'));
      conn.socket.end();
    }
    const auto = decoded.key === 'thin_close' ? undefined : this.options.autoReply?.(request);
    if (auto) {
      conn.send(auto.key, { query_id: request.body.query_id, ...auto.body } as never);
    }
    if (!auto) this.deliver(request);
  }

  /** Hands a request to whoever waits for it, or keeps it for `nextRequest`. */
  private deliver(request: ReceivedRequest): void {
    const i = this.waiters.findIndex((w) => w.match(request));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(request);
    } else {
      this.unclaimed.push(request);
    }
  }
}

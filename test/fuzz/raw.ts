/**
 * A bare thin-client connection built on src/wire only: socket, framing, CBOR. No client state
 * machine, no retries. The fuzzer uses it to put arbitrary bytes on the wire and watch what the
 * devnet sends back; the benchmarks use it as the "raw" baseline and to load the devnet without
 * measuring our own client.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Config } from '../../src/config.js';
import { parseHostPort } from '../../src/config.js';
import {
  type DecodedResponse,
  decodeResponse,
  type EncodeStyle,
  encodeFrame,
  encodeRequest,
  FrameDecoder,
  type RequestBody,
  type RequestKey,
  type ResponseBody,
  type ResponseKey,
} from '../../src/wire/index.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** host:port of a devnet (or any daemon) from the thinclient Config it hands out. */
export function endpointOf(config: Config): Endpoint {
  if (config.dial.type !== 'tcp') throw new Error(`expected a TCP dial config, got ${config.dial.type}`);
  const { host, port } = parseHostPort(config.dial.address);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

export interface OpenOptions {
  /** Send session_token with this (or a random) token and wait for the reply. Default: true. */
  sessionToken?: boolean | Uint8Array;
  /** Give up on connect + handshake after this long. Default 10 s. */
  timeoutMs?: number;
}

export interface Handshake {
  status: ResponseBody<'connection_status_event'>;
  pkiPayload: Uint8Array | undefined;
  session?: ResponseBody<'session_token_reply'>;
}

/** A reply that arrived with a non-zero error_code. */
export class ReplyError extends Error {
  constructor(
    message: string,
    readonly errorCode: number,
  ) {
    super(message);
  }
}

type Waiter = { resolve: (r: DecodedResponse) => void; reject: (e: Error) => void };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class RawConnection {
  readonly socket: Socket;
  handshake!: Handshake;
  /** Frames that failed to decode as a response, or broke framing. Should stay empty. */
  readonly protocolErrors: string[] = [];
  /** Every decoded frame not claimed by a waiter (events, replies nobody awaited). */
  readonly unclaimed: DecodedResponse[] = [];
  /** Called for every decoded frame, claimed or not. */
  onFrame: ((r: DecodedResponse) => void) | undefined;
  closed = false;
  readonly closedPromise: Promise<void>;

  private readonly decoder = new FrameDecoder();
  private readonly waiters = new Map<string, Waiter>();
  private handshakeQueue: DecodedResponse[] | undefined = [];
  private handshakeWake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        const err = new Error('connection closed by the daemon');
        for (const w of this.waiters.values()) w.reject(err);
        this.waiters.clear();
        this.handshakeWake?.();
        resolve();
      });
    });
    socket.on('error', () => {
      /* 'close' follows; resets are expected when fuzzing */
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async open(endpoint: Endpoint, options: OpenOptions = {}): Promise<RawConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const conn = new RawConnection(socket);
    const timer = setTimeout(() => socket.destroy(new Error('handshake timeout')), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const first = await conn.nextHandshakeFrame();
      if (first.key !== 'connection_status_event') throw new Error(`first frame was ${first.key}`);
      const second = await conn.nextHandshakeFrame();
      if (second.key !== 'new_pki_document_event') throw new Error(`second frame was ${second.key}`);
      conn.handshake = { status: first.body, pkiPayload: second.body.payload };
      if (options.sessionToken !== false) {
        const token = options.sessionToken instanceof Uint8Array ? options.sessionToken : randomBytes(16);
        conn.sendFrame(encodeRequest('session_token', { client_instance_token: token }));
        for (;;) {
          const r = await conn.nextHandshakeFrame();
          if (r.key === 'session_token_reply') {
            conn.handshake.session = r.body;
            break;
          }
          conn.unclaimed.push(r);
        }
      }
      const rest = conn.handshakeQueue ?? [];
      conn.handshakeQueue = undefined;
      for (const r of rest) conn.dispatch(r);
      return conn;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes bytes as they are (no framing). */
  write(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Writes one frame around `body`. */
  sendFrame(body: Uint8Array): void {
    this.write(encodeFrame(body));
  }

  /**
   * Sends a request and resolves with the reply carrying its query_id (a random one is added
   * when the body has none). Rejects if the connection closes first.
   */
  request<K extends RequestKey>(
    key: K,
    body: RequestBody<K>,
    style: EncodeStyle = 'minimal',
  ): Promise<DecodedResponse> {
    const b = body as { query_id?: Uint8Array };
    const queryId = b.query_id ?? randomBytes(16);
    const full = { ...body, query_id: queryId } as RequestBody<K>;
    const promise = this.expectReply(queryId);
    this.sendFrame(encodeRequest(key, full, style));
    return promise;
  }

  /** Like request, but asserts the reply key and a zero error_code, and returns the body. */
  async call<K extends RequestKey>(
    key: K,
    body: RequestBody<K>,
    style: EncodeStyle = 'minimal',
  ): Promise<ResponseBody<`${K}_reply` & ResponseKey>> {
    const r = await this.request(key, body, style);
    if (r.key !== `${key}_reply` || !('body' in r)) throw new Error(`${key}: got ${r.key}`);
    const code = (r.body as { error_code?: number }).error_code ?? 0;
    if (code !== 0) throw new ReplyError(`${key}: error_code ${code}`, code);
    return r.body as ResponseBody<`${K}_reply` & ResponseKey>;
  }

  /** A promise for the reply with this query_id (register before sending). */
  expectReply(queryId: Uint8Array): Promise<DecodedResponse> {
    if (this.closed) return Promise.reject(new Error('connection closed by the daemon'));
    return new Promise((resolve, reject) => this.waiters.set(hex(queryId), { resolve, reject }));
  }

  /** Sends thin_close (when still open) and closes our side. */
  async close(graceful = true): Promise<void> {
    if (!this.closed) {
      if (graceful) this.sendFrame(encodeRequest('thin_close', {}));
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), 2_000);
      await this.closedPromise;
      clearTimeout(t);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let bodies: Uint8Array[];
    try {
      bodies = this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (err) {
      this.protocolErrors.push(`framing: ${(err as Error).message}`);
      this.socket.destroy();
      return;
    }
    for (const body of bodies) {
      let r: DecodedResponse;
      try {
        r = decodeResponse(body);
      } catch (err) {
        this.protocolErrors.push(`decode: ${(err as Error).message}`);
        continue;
      }
      if (r.key === 'unknown') this.protocolErrors.push(`unknown response ${JSON.stringify(Object.keys(r))}`);
      if (this.handshakeQueue) {
        this.handshakeQueue.push(r);
        this.handshakeWake?.();
      } else {
        this.dispatch(r);
      }
    }
  }

  private dispatch(r: DecodedResponse): void {
    this.onFrame?.(r);
    const qid = (r as { body?: { query_id?: Uint8Array } }).body?.query_id;
    if (qid && r.key.endsWith('_reply')) {
      const k = hex(qid);
      const w = this.waiters.get(k);
      if (w) {
        this.waiters.delete(k);
        w.resolve(r);
        return;
      }
    }
    this.unclaimed.push(r);
  }

  private async nextHandshakeFrame(): Promise<DecodedResponse> {
    for (;;) {
      const q = this.handshakeQueue!;
      if (q.length > 0) return q.shift()!;
      if (this.closed) throw new Error('connection closed during the handshake');
      await new Promise<void>((resolve) => {
        this.handshakeWake = resolve;
      });
      this.handshakeWake = undefined;
    }
  }
}

/** A write cap, read cap and first index from the daemon, for a random or given seed. */
export async function newChannel(
  conn: RawConnection,
  seed: Uint8Array = randomBytes(32),
): Promise<{ writeCap: Uint8Array; readCap: Uint8Array; firstIndex: Uint8Array }> {
  const r = await conn.call('new_keypair', { seed });
  return { writeCap: r.write_cap!, readCap: r.read_cap!, firstIndex: r.first_message_index! };
}

/** One write through the ARQ (encrypt_write + start_resending_encrypted_message). Returns the next index. */
export async function writeBox(
  conn: RawConnection,
  writeCap: Uint8Array,
  index: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const w = await conn.call('encrypt_write', { plaintext, write_cap: writeCap, message_box_index: index });
  await conn.call('start_resending_encrypted_message', {
    write_cap: writeCap,
    envelope_descriptor: w.envelope_descriptor!,
    message_ciphertext: w.message_ciphertext!,
    envelope_hash: w.envelope_hash!,
  });
  return w.next_message_box_index!;
}

/** One read through the ARQ (encrypt_read + start_resending_encrypted_message). */
export async function readBox(
  conn: RawConnection,
  readCap: Uint8Array,
  index: Uint8Array,
): Promise<Uint8Array> {
  const r = await conn.call('encrypt_read', { read_cap: readCap, message_box_index: index });
  const res = await conn.call('start_resending_encrypted_message', {
    read_cap: readCap,
    message_box_index: index,
    envelope_descriptor: r.envelope_descriptor!,
    message_ciphertext: r.message_ciphertext!,
    envelope_hash: r.envelope_hash!,
  });
  return res.plaintext ?? new Uint8Array(0);
}

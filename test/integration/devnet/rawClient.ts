/**
 * A minimal thin client for driving the devnet over a real socket in tests: frames and CBOR from
 * src/wire, nothing else. It records every frame the daemon sends, raw and decoded.
 */
import type { Config } from '../../../src/config.js';
import { encodeFrame } from '../../../src/wire/frame.js';
import {
  type DecodedResponse,
  decodeResponse,
  type EncodeStyle,
  encodeRequest,
} from '../../../src/wire/messages.js';
import type { RequestBody, RequestKey, ResponseBody, ResponseKey } from '../../../src/wire/schema.js';
import { FrameSocket } from '../../helpers/frameSocket.js';

export { dialOptions } from '../../helpers/frameSocket.js';

export interface Received {
  raw: Uint8Array;
  msg: DecodedResponse;
}

export type Reply<K extends ResponseKey> = ResponseBody<K> & { raw: Uint8Array };

let counter = 0;

export function queryId(): Uint8Array {
  const q = new Uint8Array(16);
  new DataView(q.buffer).setUint32(12, ++counter);
  q[0] = 0x51;
  return q;
}

export class RawClient {
  readonly received: Received[] = [];
  /** Keys of every frame received, in arrival order (never consumed). */
  readonly arrivals: string[] = [];
  private cursor = 0;
  #sock!: FrameSocket;

  private constructor() {}

  static async connect(config: Config): Promise<RawClient> {
    const client = new RawClient();
    client.#sock = await FrameSocket.connect(config, (body) => {
      const msg = decodeResponse(body);
      client.received.push({ raw: body, msg });
      client.arrivals.push(msg.key);
    });
    return client;
  }

  get closed(): Promise<void> {
    return this.#sock.closed;
  }

  /** Connects and completes the handshake with `token` (random when omitted). */
  static async session(
    config: Config,
    token: Uint8Array = crypto.getRandomValues(new Uint8Array(16)),
  ): Promise<{
    client: RawClient;
    token: Uint8Array;
    appId: Uint8Array;
    resumed: boolean;
    instanceToken: Uint8Array;
  }> {
    const client = await RawClient.connect(config);
    const status = await client.next('connection_status_event');
    await client.next('new_pki_document_event');
    client.send('session_token', { client_instance_token: token });
    const reply = await client.next('session_token_reply');
    return {
      client,
      token,
      appId: reply.app_id!,
      resumed: reply.resumed!,
      instanceToken: status.instance_token!,
    };
  }

  get isClosedNow(): boolean {
    return this.#sock.isClosed;
  }

  send<K extends RequestKey>(key: K, body: RequestBody<K>, style: EncodeStyle = 'minimal'): void {
    this.#sock.write(encodeFrame(encodeRequest(key, body, style)));
  }

  sendBytes(bytes: Uint8Array): void {
    this.#sock.write(bytes);
  }

  /** The next frame, whatever it is. Rejects if the connection closes first. */
  async nextAny(): Promise<Received> {
    for (;;) {
      const r = this.received[this.cursor];
      if (r) {
        this.cursor++;
        return r;
      }
      if (this.#sock.isClosed) throw new Error('connection closed');
      await this.#sock.arrival();
    }
  }

  /** The next frame, which must carry `key`. */
  async next<K extends ResponseKey>(key: K): Promise<Reply<K>> {
    const r = await this.nextAny();
    if (r.msg.key !== key) throw new Error(`expected ${key}, got ${r.msg.key}`);
    return { ...(r.msg.body as ResponseBody<K>), raw: r.raw };
  }

  /**
   * The first not-yet-consumed frame with `key` (and the query ID, when given), skipping over others
   * (which stay available to later calls).
   */
  async waitFor<K extends ResponseKey>(key: K, query?: Uint8Array): Promise<Reply<K>> {
    for (;;) {
      for (let i = this.cursor; i < this.received.length; i++) {
        const r = this.received[i]!;
        if (r.msg.key !== key) continue;
        const body = r.msg.body as ResponseBody<K> & { query_id?: Uint8Array };
        if (query && !sameBytes(body.query_id, query)) continue;
        this.received.splice(i, 1);
        return { ...(body as ResponseBody<K>), raw: r.raw };
      }
      if (this.#sock.isClosed) throw new Error(`connection closed while waiting for ${key}`);
      await this.#sock.arrival();
    }
  }

  /** Sends a request carrying a fresh query ID and waits for its reply. */
  async call<K extends RequestKey, R extends ResponseKey>(
    key: K,
    body: Omit<RequestBody<K>, 'query_id'>,
    replyKey: R,
    style: EncodeStyle = 'minimal',
  ): Promise<Reply<R>> {
    const q = queryId();
    this.send(key, { ...body, query_id: q } as RequestBody<K>, style);
    return this.waitFor(replyKey, q);
  }

  /** Frames received and not consumed yet. */
  pending(): Received[] {
    return this.received.slice(this.cursor);
  }

  close(): void {
    void this.#sock.close();
  }
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

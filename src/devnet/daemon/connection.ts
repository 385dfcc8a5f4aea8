/**
 * One thin-client socket as kpclientd's `incomingConn` handles it: 4-byte big-endian framing with the
 * 40 MiB cap, Go-lenient request decoding, requests handled strictly in arrival order, every reply written
 * as Go's full 25-key Response map. Any framing or CBOR error drops the connection (the session survives,
 * as after any unintentional disconnect).
 */
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../../wire/frame.js';
import { type DecodedRequest, decodeRequest, encodeResponse } from '../../wire/messages.js';
import type { ResponseBody, ResponseKey } from '../../wire/schema.js';

export interface ConnectionHandler {
  /** Handles one decoded request; may return a promise (the next request waits for it). */
  handle(conn: Connection, request: DecodedRequest): void | Promise<void>;
  closed(conn: Connection): void;
  log(line: string): void;
}

let nextConnId = 1;
/**
 * kpclientd's reader blocks while a request is being handled (or while the app's mixnet queue is full), so
 * a client that keeps sending meets TCP backpressure. We stop reading the socket past this many pending
 * requests and resume when the backlog drains.
 */
const BACKLOG_HIGH = 64;
const BACKLOG_LOW = 16;

export class Connection {
  readonly id = nextConnId++;
  /** Set by `thin_close`: the daemon then destroys the session at once. */
  explicitClose = false;
  /** Set once the two handshake frames are queued; broadcasts wait for it. */
  initialSequenceDone = false;
  /** The session (AppID) this connection currently speaks for; owned by the daemon. */
  appKey = '';
  private readonly decoder = new FrameDecoder();
  private chain: Promise<void> = Promise.resolve();
  private isClosed = false;
  /** Requests received and not handled yet; above the high-water mark the socket stops being read. */
  private backlog = 0;

  constructor(
    /** A net.Socket, or the devnet's WebSocket byte stream (src/devnet/wsStream.ts). */
    readonly socket: Duplex & { setNoDelay?(noDelay?: boolean): unknown },
    private readonly handler: ConnectionHandler,
  ) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // ECONNRESET and friends: 'close' follows and does the cleanup.
    });
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Writes one Go-style Response frame. Returns false when the socket is gone. */
  send<K extends ResponseKey>(key: K, body: ResponseBody<K>): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    try {
      this.socket.write(encodeFrame(encodeResponse(key, body, 'go')));
      return true;
    } catch (err) {
      // A reply we cannot encode would leave the caller waiting forever; kpclientd would have
      // refused the request while decoding it, so drop the connection as it does.
      this.handler.log(`conn ${this.id}: cannot encode ${key}: ${(err as Error).message}; dropping`);
      this.drop();
      return false;
    }
  }

  /** Writes an already-encoded frame body. */
  sendRaw(body: Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    this.socket.write(encodeFrame(body));
    return true;
  }

  /** Drops the connection (no shutdown event). */
  drop(): void {
    if (!this.socket.destroyed) this.socket.destroy();
  }

  /** Graceful end: flush what is queued, then close. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  /**
   * Frames are handled strictly in arrival order, as kpclientd's reader does: a bad frame drops the
   * connection only after every request read before it has been handled (and answered).
   */
  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    const { frames, error } = this.decoder.feed(
      new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    for (const frame of frames) {
      this.backlog++;
      if (this.backlog >= BACKLOG_HIGH) this.socket.pause();
      this.chain = this.chain.then(async () => {
        try {
          if (this.isClosed || this.socket.destroyed) return;
          let request: DecodedRequest;
          try {
            request = decodeRequest(frame, { fixedSize: 'go' });
          } catch (err) {
            this.handler.log(`conn ${this.id}: undecodable request (${(err as Error).message}); dropping`);
            this.drop();
            return;
          }
          try {
            await this.handler.handle(this, request);
          } catch (err) {
            this.handler.log(`conn ${this.id}: handler for ${request.key} failed: ${(err as Error).stack}`);
          }
        } finally {
          this.backlog--;
          if (this.backlog <= BACKLOG_LOW && this.socket.isPaused()) this.socket.resume();
        }
      });
    }
    if (error) {
      this.chain = this.chain.then(() => {
        this.handler.log(`conn ${this.id}: bad frame (${error.message}); dropping the connection`);
        this.drop();
      });
    }
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      this.handler.closed(this);
    } catch (err) {
      this.handler.log(`conn ${this.id}: close handler failed: ${(err as Error).message}`);
    }
  }
}

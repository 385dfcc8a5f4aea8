/**
 * One thin-client socket as kpclientd's `incomingConn` handles it: 4-byte big-endian framing with the
 * 40 MiB cap, Go-lenient request decoding, requests handled strictly in arrival order, every reply written
 * as Go's full 25-key Response map. Any framing or CBOR error drops the connection (the session survives,
 * as after any unintentional disconnect).
 *
 * Against hostile peers (limits.ts has the numbers): a first frame must arrive within the handshake
 * timeout and every started frame must complete within the partial-frame timeout; partial frames and
 * unhandled requests are charged to the guard's shared budget; reading stops while too many requests
 * or too many unsent reply bytes are pending, and a reader that lets replies pile up past a bound, or
 * stops taking them for the write-stall timeout, is disconnected (no event is dropped on its own).
 */
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../../wire/frame.js';
import { type DecodedRequest, decodeRequest, encodeResponse } from '../../wire/messages.js';
import type { ResponseBody, ResponseKey } from '../../wire/schema.js';
import type { TimerHandle } from '../clock.js';
import type { ConnectionGuard, DropReason } from './guard.js';

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
  /** Bytes of those requests. */
  private backlogBytes = 0;
  /** What this socket has charged to the guard's budget (partial frame + backlog bytes). */
  private charged = 0;
  private readPaused = false;
  private handshakeTimer: TimerHandle | null = null;
  private partialTimer: TimerHandle | null = null;
  private stallTimer: TimerHandle | null = null;
  /** Bytes handed to the kernel when the write-stall timer was armed. */
  private flushedAtArm = 0;
  /** Bytes handed to the stream so far (a WebSocket stream has no `bytesWritten`). */
  private queuedBytes = 0;

  constructor(
    /** A net.Socket, or the devnet's WebSocket byte stream (src/devnet/wsStream.ts). */
    readonly socket: Duplex & { setNoDelay?(noDelay?: boolean): unknown },
    private readonly handler: ConnectionHandler,
    private readonly guard: ConnectionGuard,
  ) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // ECONNRESET and friends: 'close' follows and does the cleanup.
    });
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.onDrain());
    this.handshakeTimer = this.timer(guard.limits.handshakeTimeoutMs, () =>
      this.dropFor('handshakeTimeout', 'no complete frame'),
    );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Writes one Go-style Response frame. Returns false when the socket is gone. */
  send<K extends ResponseKey>(key: K, body: ResponseBody<K>): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    try {
      this.write(encodeFrame(encodeResponse(key, body, 'go')));
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
    this.write(encodeFrame(body));
    return true;
  }

  /** Writes a frame; a peer that has stopped reading meets backpressure, then a disconnect. */
  private write(frame: Uint8Array): void {
    this.queuedBytes += frame.byteLength;
    const flowing = this.socket.write(frame);
    if (flowing) return;
    const unsent = this.socket.writableLength;
    if (unsent > this.guard.limits.maxOutboundBytes) {
      this.dropFor('slowReader', `${unsent} reply bytes unsent`);
      return;
    }
    if (!this.stallTimer) this.armStallTimer();
    this.updateReading();
  }

  private flushed(): number {
    return this.queuedBytes - this.socket.writableLength;
  }

  private armStallTimer(): void {
    this.flushedAtArm = this.flushed();
    this.stallTimer = this.timer(this.guard.limits.writeStallTimeoutMs, () => {
      this.stallTimer = null;
      if (this.socket.writableLength === 0) return;
      if (this.flushed() === this.flushedAtArm) this.dropFor('writeStall', 'replies not read');
      else this.armStallTimer();
    });
  }

  private onDrain(): void {
    this.clearTimer('stallTimer');
    this.updateReading();
  }

  /** Drops the connection (no shutdown event). */
  drop(): void {
    if (!this.socket.destroyed) this.socket.destroy();
  }

  private dropFor(reason: DropReason, detail: string): void {
    if (this.isClosed || this.socket.destroyed) return;
    this.guard.noteDrop(reason, `conn ${this.id} (${detail})`);
    this.drop();
  }

  private timer(ms: number, fn: () => void): TimerHandle | null {
    return Number.isFinite(ms) ? this.guard.clock.setTimer(ms, fn) : null;
  }

  private clearTimer(name: 'handshakeTimer' | 'partialTimer' | 'stallTimer'): void {
    this.guard.clock.clearTimer(this[name]);
    this[name] = null;
  }

  /** Re-charges the guard with what this socket holds now. */
  private recharge(): void {
    if (this.isClosed) return;
    const now = this.decoder.pendingBytes + this.backlogBytes;
    this.guard.charge(now - this.charged);
    this.charged = now;
  }

  /**
   * Stops reading while too many requests or reply bytes are pending; resumes below half of each
   * bound. The partial-frame clock does not run while the daemon itself is not reading.
   */
  private updateReading(): void {
    if (this.isClosed) return;
    const limits = this.guard.limits;
    const unsent = this.socket.writableLength;
    if (!this.readPaused) {
      if (
        this.backlog >= BACKLOG_HIGH ||
        this.backlogBytes > limits.maxQueuedRequestBytes ||
        unsent > limits.outboundHighWaterBytes
      ) {
        this.readPaused = true;
        this.guard.notePaused(1);
        this.socket.pause();
        this.clearTimer('partialTimer');
      }
      return;
    }
    if (
      this.backlog <= BACKLOG_LOW &&
      this.backlogBytes <= limits.maxQueuedRequestBytes / 2 &&
      unsent <= limits.outboundHighWaterBytes / 2
    ) {
      this.readPaused = false;
      this.guard.notePaused(-1);
      this.socket.resume();
      this.restartPartialTimer();
    }
  }

  /** (Re)starts the partial-frame clock when a frame is begun, stops it when none is. */
  private restartPartialTimer(): void {
    this.clearTimer('partialTimer');
    if (this.decoder.pendingBytes === 0 || this.readPaused) return;
    this.partialTimer = this.timer(this.guard.limits.partialFrameTimeoutMs, () =>
      this.dropFor('partialFrameTimeout', `${this.decoder.pendingBytes} bytes of a frame`),
    );
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
    if (!this.guard.fits(chunk.length)) {
      this.dropFor('overBudget', `${this.charged} bytes buffered, ${chunk.length} more arrived`);
      return;
    }
    const wasPending = this.decoder.pendingBytes > 0;
    const { frames, error } = this.decoder.feed(
      new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    if (frames.length > 0) this.clearTimer('handshakeTimer');
    for (const frame of frames) {
      this.backlog++;
      this.backlogBytes += frame.length;
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
          if (!this.isClosed) {
            this.backlog--;
            this.backlogBytes -= frame.length;
          }
          this.recharge();
          this.updateReading();
        }
      });
    }
    this.recharge();
    this.updateReading();
    // The clock runs from a frame's first byte: restart it when a frame completed or one began.
    if (frames.length > 0 || !wasPending || this.decoder.pendingBytes === 0) this.restartPartialTimer();
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
    this.clearTimer('handshakeTimer');
    this.clearTimer('partialTimer');
    this.clearTimer('stallTimer');
    if (this.readPaused) this.guard.notePaused(-1);
    this.backlogBytes = 0;
    this.guard.charge(-this.charged);
    this.charged = 0;
    try {
      this.handler.closed(this);
    } catch (err) {
      this.handler.log(`conn ${this.id}: close handler failed: ${(err as Error).message}`);
    }
  }
}

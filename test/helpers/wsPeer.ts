/**
 * A raw WebSocket peer for tests (the `ws` package, nothing of ours): it records every message with
 * its type and exact bytes, and reassembles the byte stream into frames, so a test can check both
 * how the other side cut its messages and what they carried.
 */
import WebSocket from 'ws';
import { type DecodedResponse, decodeResponse, FrameDecoder } from '../../src/wire/index.js';

export interface WsMessage {
  readonly bytes: Uint8Array;
  readonly binary: boolean;
}

export class WsPeer {
  readonly messages: WsMessage[] = [];
  readonly frames: DecodedResponse[] = [];
  private readonly decoder = new FrameDecoder();
  private waiters: (() => void)[] = [];
  /** Resolves with the close code and reason once the connection has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      const bytes = new Uint8Array(data);
      this.messages.push({ bytes, binary });
      for (const frame of this.decoder.feed(bytes).frames) this.frames.push(decodeResponse(frame));
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.wake();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Opens a connection; rejects with the server's refusal (e.g. "Unexpected server response: 403"). */
  static open(url: string, options: { origin?: string } = {}): Promise<WsPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    ws.on('error', () => {});
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsPeer(ws)));
      ws.once('error', reject);
    });
  }

  /** Waits until `predicate` holds (or the connection closes, which rejects). */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('the WebSocket closed');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits for the frame with this key (after `from`) and returns it. */
  async frame(key: string, from = 0): Promise<DecodedResponse> {
    let found: DecodedResponse | undefined;
    await this.until(() => {
      found = this.frames.slice(from).find((f) => f.key === key);
      return found !== undefined;
    });
    return found!;
  }

  send(bytes: Uint8Array, binary = true): void {
    this.ws.send(bytes, { binary });
  }

  close(): void {
    this.ws.close(1000);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

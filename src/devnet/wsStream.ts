/**
 * One accepted WebSocket as the byte stream kpclientd's listener makes of it (websocket.NetConn in
 * binary mode): a Node Duplex the daemon's Connection reads and writes like a socket.
 *
 * - Every binary message is the next bytes of the stream; message boundaries mean nothing.
 * - A text message ends the connection with close code 1003, as kpclientd does.
 * - Writes leave as kpclientd writes them: a frame's 4-byte length prefix in one binary message and
 *   its body in the next.
 * - Backpressure: while the daemon does not read, the WebSocket stops reading its socket.
 */
import { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

const OPEN = 1;

/** Cuts an outgoing byte stream into kpclientd's messages: each length prefix, then its body. */
export class PrefixBodySplitter {
  private prefix = Buffer.alloc(4);
  private prefixHave = 0;
  private bodyLeft = 0;

  /** The messages `chunk` completes or continues, in order. */
  split(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.bodyLeft === 0) {
        const n = Math.min(4 - this.prefixHave, chunk.byteLength - at);
        this.prefix.set(chunk.subarray(at, at + n), this.prefixHave);
        this.prefixHave += n;
        at += n;
        if (this.prefixHave === 4) {
          out.push(Buffer.from(this.prefix));
          this.bodyLeft = this.prefix.readUInt32BE(0);
          this.prefixHave = 0;
        }
      } else {
        const n = Math.min(this.bodyLeft, chunk.byteLength - at);
        out.push(chunk.subarray(at, at + n));
        this.bodyLeft -= n;
        at += n;
      }
    }
    return out;
  }
}

export class WebSocketByteStream extends Duplex {
  private readonly splitter = new PrefixBodySplitter();

  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: false });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        ws.close(1003, 'kpclientd reads binary messages only');
        this.destroy();
        return;
      }
      if (!this.push(toBuffer(data))) ws.pause();
    });
    ws.on('error', (error) => this.destroy(error));
    ws.on('close', () => {
      this.push(null);
    });
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== OPEN) {
      callback(new Error('the WebSocket is closed'));
      return;
    }
    const messages = this.splitter.split(chunk);
    messages.forEach((message, i) => {
      this.ws.send(message, { binary: true }, i === messages.length - 1 ? callback : undefined);
    });
    if (messages.length === 0) callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A closing handshake under way (ours after a text message, or the peer's) is left to finish.
    if (this.ws.readyState === OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.terminate();
    callback(error);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

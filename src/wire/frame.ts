/**
 * Framing: a 4-byte big-endian length, then exactly that many bytes holding one CBOR item.
 * The 40 MiB cap (katzenpost client/thin/thin.go MaxMessageSize) is checked on the prefix, before
 * anything is allocated, as the Go client and the daemon do.
 */
import { ProtocolError } from '../errors.js';

export const MAX_FRAME_SIZE = 40 * 1024 * 1024;
const PREFIX = 4;

export function encodeFrame(body: Uint8Array): Uint8Array {
  if (body.length > MAX_FRAME_SIZE) {
    throw new ProtocolError(`frame of ${body.length} bytes exceeds the ${MAX_FRAME_SIZE}-byte limit`);
  }
  const out = new Uint8Array(PREFIX + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, PREFIX);
  return out;
}

/**
 * Incremental frame reader: push socket chunks, take complete frame bodies.
 * After a ProtocolError the stream is desynchronised; the caller must drop the connection.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private failed = false;

  constructor(private readonly maxFrameSize = MAX_FRAME_SIZE) {}

  /**
   * Adds bytes and returns every frame body now complete, in order. Throws ProtocolError when the
   * stream breaks — losing any good frames that preceded the break in this chunk; use `feed` where
   * those must still be handled (a daemon answers the requests it read before a bad frame).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const { frames, error } = this.feed(chunk);
    if (error) throw error;
    return frames;
  }

  /** Like `push`, but returns the frames before a break together with the error that broke it. */
  feed(chunk: Uint8Array): { frames: Uint8Array[]; error?: ProtocolError } {
    if (this.failed) return { frames: [], error: new ProtocolError('frame stream already failed') };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < PREFIX) break;
      const length = this.peekLength();
      if (length > this.maxFrameSize) {
        this.failed = true;
        return {
          frames,
          error: new ProtocolError(`frame length ${length} exceeds the ${this.maxFrameSize}-byte limit`),
        };
      }
      if (length === 0) {
        this.failed = true;
        return { frames, error: new ProtocolError('zero-length frame') };
      }
      if (this.buffered < PREFIX + length) break;
      this.take(PREFIX);
      frames.push(this.take(length));
    }
    return { frames };
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peekLength(): number {
    const head = new Uint8Array(PREFIX);
    let filled = 0;
    for (const c of this.chunks) {
      const n = Math.min(PREFIX - filled, c.length);
      head.set(c.subarray(0, n), filled);
      filled += n;
      if (filled === PREFIX) break;
    }
    return new DataView(head.buffer).getUint32(0, false);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      // Fast path: the whole piece sits in one chunk. Copy so the socket's buffer can be freed.
      const out = first.slice(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - filled, c.length);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

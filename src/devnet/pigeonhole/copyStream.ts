/**
 * The copy stream (katzenpost pigeonhole/copy_stream.go semantics):
 *
 * - The stream is the concatenation of `BE u32 length ‖ CourierEnvelope` records.
 * - It is cut into CopyStreamElements `flags u8 (bit 0 Start, bit 1 Final) ‖ BE u32 len ‖ data`, with at
 *   most `Max - 5` data bytes, so a full element fills one temp box exactly.
 * - While adding, the encoder always keeps 1..Max-5 bytes buffered, so that `flush` can mark the last
 *   element Final; `flushWithoutFinal` emits the tail without Final; the residual buffer can be handed to
 *   the caller and restored in a later call (the multi-call `Buffer` continuation).
 */
import { COPY_STREAM_ELEMENT_OVERHEAD } from '../geometry.js';
import { ParseError } from './messages.js';

export const FLAG_START = 0x01;
export const FLAG_FINAL = 0x02;

export class CopyStreamEncoder {
  private buffer: Uint8Array = new Uint8Array(0);
  private first = true;
  private readonly chunk: number;

  /** `maxPlaintext`: the geometry's MaxPlaintextPayloadLength. */
  constructor(maxPlaintext: number) {
    this.chunk = maxPlaintext - COPY_STREAM_ELEMENT_OVERHEAD;
  }

  /** Do not mark the first element emitted by this encoder with Start. */
  suppressStart(): void {
    this.first = false;
  }

  /** Restores a residual buffer from an earlier call. */
  setBuffer(buffer: Uint8Array): void {
    this.buffer = new Uint8Array(buffer);
  }

  /** The residual buffer (a copy; empty when nothing is pending). */
  getBuffer(): Uint8Array {
    return new Uint8Array(this.buffer);
  }

  /** Appends one serialized CourierEnvelope and returns the elements that are now complete. */
  addEnvelope(envelope: Uint8Array): Uint8Array[] {
    const next = new Uint8Array(this.buffer.length + 4 + envelope.length);
    next.set(this.buffer);
    new DataView(next.buffer).setUint32(this.buffer.length, envelope.length, false);
    next.set(envelope, this.buffer.length + 4);
    this.buffer = next;
    const out: Uint8Array[] = [];
    while (this.buffer.length > this.chunk) out.push(this.take(this.chunk, false));
    return out;
  }

  /** Emits everything left; the last element carries Final. Nothing when the buffer is empty. */
  flush(): Uint8Array[] {
    if (this.buffer.length === 0) return [];
    const out: Uint8Array[] = [];
    while (this.buffer.length > this.chunk) out.push(this.take(this.chunk, false));
    out.push(this.take(this.buffer.length, true));
    return out;
  }

  /** Emits everything left without Final. */
  flushWithoutFinal(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.buffer.length > 0) out.push(this.take(Math.min(this.chunk, this.buffer.length), false));
    return out;
  }

  private take(n: number, final: boolean): Uint8Array {
    const data = this.buffer.subarray(0, n);
    let flags = 0;
    if (this.first) {
      flags |= FLAG_START;
      this.first = false;
    }
    if (final) flags |= FLAG_FINAL;
    const el = new Uint8Array(COPY_STREAM_ELEMENT_OVERHEAD + n);
    el[0] = flags;
    new DataView(el.buffer).setUint32(1, n, false);
    el.set(data, COPY_STREAM_ELEMENT_OVERHEAD);
    this.buffer = this.buffer.slice(n);
    return el;
  }
}

/**
 * The courier's decoder: box plaintexts in, complete envelopes out. Element and envelope lengths are
 * bounded by the geometry before anything is allocated, as in the real decoder.
 */
export class CopyStreamDecoder {
  private elements: Uint8Array = new Uint8Array(0);
  private stream: Uint8Array = new Uint8Array(0);
  private final = false;

  /** `maxPlaintext` bounds an element; `maxEnvelope` (CourierQueryWriteLength) bounds an envelope. */
  constructor(
    private readonly maxPlaintext: number,
    private readonly maxEnvelope: number,
  ) {}

  get sawFinal(): boolean {
    return this.final;
  }

  get remaining(): number {
    return this.elements.length + this.stream.length;
  }

  addBoxData(data: Uint8Array): void {
    this.elements = concat(this.elements, data);
  }

  /** Every envelope now complete, in order. Throws ParseError on a malformed stream. */
  decodeEnvelopes(): Uint8Array[] {
    for (;;) {
      if (this.elements.length < COPY_STREAM_ELEMENT_OVERHEAD) break;
      const dv = new DataView(this.elements.buffer, this.elements.byteOffset, this.elements.length);
      const len = dv.getUint32(1, false);
      if (COPY_STREAM_ELEMENT_OVERHEAD + len > this.maxPlaintext) {
        throw new ParseError(
          `element size ${COPY_STREAM_ELEMENT_OVERHEAD + len} exceeds ${this.maxPlaintext}`,
        );
      }
      if (this.elements.length < COPY_STREAM_ELEMENT_OVERHEAD + len) break;
      const flags = this.elements[0]!;
      this.stream = concat(
        this.stream,
        this.elements.subarray(COPY_STREAM_ELEMENT_OVERHEAD, COPY_STREAM_ELEMENT_OVERHEAD + len),
      );
      this.elements = this.elements.slice(COPY_STREAM_ELEMENT_OVERHEAD + len);
      if (flags & FLAG_FINAL) this.final = true;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.stream.length < 4) break;
      const len = new DataView(this.stream.buffer, this.stream.byteOffset, 4).getUint32(0, false);
      if (len > this.maxEnvelope) throw new ParseError(`envelope length ${len} exceeds ${this.maxEnvelope}`);
      if (this.stream.length < 4 + len) break;
      out.push(this.stream.slice(4, 4 + len));
      this.stream = this.stream.slice(4 + len);
    }
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

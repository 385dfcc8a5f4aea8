/**
 * The multi-box payload convention of the thin-client guide ("How to read back a multi-box payload"):
 * the writer prefixes the payload with its length as a 4-byte big-endian unsigned integer and lays
 * `prefix ‖ payload` down over consecutive boxes, each holding at most MaxPlaintextPayloadLength bytes;
 * the reader accumulates box plaintexts until it holds the prefix plus that many bytes.
 *
 * This is the framing the Go, Rust and Python integration tests use, so a payload written here can be
 * read back by any of them and the other way round. Two details the guide's loop leaves implicit are
 * pinned down here:
 * - A zero-length payload is the single 4-byte box `00 00 00 00` (never an empty box: an empty box is a
 *   tombstone). The guide's `total > 0` test would loop forever on it; `FrameReassembler` completes.
 * - Bytes after `prefix + length` are an error, not silently dropped: they mean the boxes were not laid
 *   down by this convention (or the reader started at the wrong index).
 */
import { InvalidArgumentError } from '../errors.js';

/** Size of the big-endian length prefix on the first box. */
export const LENGTH_PREFIX_SIZE = 4;

/** Largest payload the 4-byte prefix can describe. */
export const MAX_FRAMED_PAYLOAD_LENGTH = 0xffff_ffff;

/** Checks a box capacity (MaxPlaintextPayloadLength); the first box must hold the whole prefix. */
function checkBoxCapacity(maxPlaintextPayloadLength: unknown): number {
  if (
    typeof maxPlaintextPayloadLength !== 'number' ||
    !Number.isSafeInteger(maxPlaintextPayloadLength) ||
    maxPlaintextPayloadLength < LENGTH_PREFIX_SIZE
  ) {
    throw new InvalidArgumentError(
      'maxPlaintextPayloadLength',
      `must be an integer of at least ${LENGTH_PREFIX_SIZE}, got ${String(maxPlaintextPayloadLength)}`,
    );
  }
  return maxPlaintextPayloadLength;
}

function checkPayloadLength(length: unknown, field: string): number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError(field, `must be a non-negative integer, got ${String(length)}`);
  }
  if (length > MAX_FRAMED_PAYLOAD_LENGTH) {
    throw new InvalidArgumentError(
      field,
      `is ${length} bytes; the 4-byte length prefix allows at most ${MAX_FRAMED_PAYLOAD_LENGTH}`,
    );
  }
  return length;
}

/** How many boxes a payload of `payloadLength` bytes occupies once framed (always at least one). */
export function framedBoxCount(payloadLength: number, maxPlaintextPayloadLength: number): number {
  const length = checkPayloadLength(payloadLength, 'payloadLength');
  const capacity = checkBoxCapacity(maxPlaintextPayloadLength);
  return Math.ceil((LENGTH_PREFIX_SIZE + length) / capacity);
}

/** `prefix ‖ payload` as one fresh array. */
export function framePayload(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array)) {
    throw new InvalidArgumentError('payload', 'must be a Uint8Array');
  }
  checkPayloadLength(payload.length, 'payload length');
  const out = new Uint8Array(LENGTH_PREFIX_SIZE + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, false);
  out.set(payload, LENGTH_PREFIX_SIZE);
  return out;
}

/**
 * Frames `payload` and cuts it into box plaintexts of `maxPlaintextPayloadLength` bytes (the last one
 * shorter). Every box is non-empty and a fresh array. Deterministic: the same payload and capacity always
 * give the same boxes, which is what makes re-sending a message after a crash idempotent.
 */
export function chunkPayload(payload: Uint8Array, maxPlaintextPayloadLength: number): Uint8Array[] {
  const capacity = checkBoxCapacity(maxPlaintextPayloadLength);
  const framed = framePayload(payload);
  const boxes: Uint8Array[] = [];
  for (let at = 0; at < framed.length; at += capacity) {
    boxes.push(framed.slice(at, Math.min(at + capacity, framed.length)));
  }
  return boxes;
}

/** Reads the payload length from the start of the first box (which must hold the whole prefix). */
export function readLengthPrefix(firstBox: Uint8Array): number {
  if (!(firstBox instanceof Uint8Array)) {
    throw new InvalidArgumentError('firstBox', 'must be a Uint8Array');
  }
  if (firstBox.length < LENGTH_PREFIX_SIZE) {
    throw new InvalidArgumentError(
      'firstBox',
      `is ${firstBox.length} bytes; the length prefix needs ${LENGTH_PREFIX_SIZE}`,
    );
  }
  return new DataView(firstBox.buffer, firstBox.byteOffset, LENGTH_PREFIX_SIZE).getUint32(0, false);
}

export interface FrameReassemblerOptions {
  /**
   * Refuse a prefix announcing more than this many payload bytes (a reader's memory bound against a
   * hostile or corrupt first box). Default: MAX_FRAMED_PAYLOAD_LENGTH.
   */
  maxPayloadLength?: number;
  /** When given, a box longer than this is refused (it cannot have come from a box of this network). */
  maxPlaintextPayloadLength?: number;
}

/**
 * Accumulates box plaintexts read in index order until it holds the prefix plus the announced number of
 * bytes. `push` returns true once the payload is complete; `payload()` then returns it without the prefix.
 */
export class FrameReassembler {
  readonly #maxPayloadLength: number;
  readonly #maxBox: number | undefined;
  #chunks: Uint8Array[] = [];
  #received = 0;
  #boxes = 0;
  #expected: number | undefined;

  constructor(options: FrameReassemblerOptions = {}) {
    this.#maxPayloadLength =
      options.maxPayloadLength === undefined
        ? MAX_FRAMED_PAYLOAD_LENGTH
        : checkPayloadLength(options.maxPayloadLength, 'maxPayloadLength');
    this.#maxBox =
      options.maxPlaintextPayloadLength === undefined
        ? undefined
        : checkBoxCapacity(options.maxPlaintextPayloadLength);
  }

  /** The payload length from the prefix, once the prefix has arrived. */
  get payloadLength(): number | undefined {
    return this.#expected;
  }

  /** Framed bytes (prefix included) received so far. */
  get bytesReceived(): number {
    return this.#received;
  }

  /** Boxes pushed so far. */
  get boxesReceived(): number {
    return this.#boxes;
  }

  /** Whether the whole payload has arrived (`payload()` may be called). */
  get complete(): boolean {
    return this.#expected !== undefined && this.#received === LENGTH_PREFIX_SIZE + this.#expected;
  }

  /**
   * Total boxes the payload occupies, once the prefix is known and the box capacity was given;
   * otherwise undefined.
   */
  get boxesExpected(): number | undefined {
    if (this.#expected === undefined || this.#maxBox === undefined) return undefined;
    return framedBoxCount(this.#expected, this.#maxBox);
  }

  /** Adds the plaintext of the next box. Returns true when the payload is complete. */
  push(box: Uint8Array): boolean {
    if (!(box instanceof Uint8Array)) {
      throw new InvalidArgumentError('box', 'must be a Uint8Array');
    }
    if (this.complete) {
      throw new InvalidArgumentError('box', 'the payload is already complete');
    }
    if (box.length === 0) {
      throw new InvalidArgumentError('box', 'is empty; an empty box is a tombstone, not part of a payload');
    }
    if (this.#maxBox !== undefined && box.length > this.#maxBox) {
      throw new InvalidArgumentError(
        'box',
        `is ${box.length} bytes, more than maxPlaintextPayloadLength ${this.#maxBox}`,
      );
    }
    // Validate against the state the push would produce, and only then commit it, so a refused box
    // leaves the reassembler as it was.
    const received = this.#received + box.length;
    let expected = this.#expected;
    if (expected === undefined && received >= LENGTH_PREFIX_SIZE) {
      const head = new Uint8Array(LENGTH_PREFIX_SIZE);
      head.set(this.#head(Math.min(this.#received, LENGTH_PREFIX_SIZE)));
      if (this.#received < LENGTH_PREFIX_SIZE) {
        head.set(box.subarray(0, LENGTH_PREFIX_SIZE - this.#received), this.#received);
      }
      expected = readLengthPrefix(head);
      if (expected > this.#maxPayloadLength) {
        throw new InvalidArgumentError(
          'box',
          `the length prefix announces ${expected} bytes, more than maxPayloadLength ${this.#maxPayloadLength}`,
        );
      }
    }
    if (expected !== undefined && received > LENGTH_PREFIX_SIZE + expected) {
      throw new InvalidArgumentError(
        'box',
        `carries ${received - (LENGTH_PREFIX_SIZE + expected)} bytes past the end of the ${expected}-byte payload the prefix announces`,
      );
    }
    this.#chunks.push(box.slice());
    this.#received = received;
    this.#boxes += 1;
    this.#expected = expected;
    return this.complete;
  }

  /** The payload without its prefix; only once complete. */
  payload(): Uint8Array {
    if (!this.complete) {
      throw new InvalidArgumentError(
        'payload',
        this.#expected === undefined
          ? 'incomplete: the length prefix has not arrived'
          : `incomplete: ${this.#received - LENGTH_PREFIX_SIZE} of ${this.#expected} bytes received`,
      );
    }
    const out = new Uint8Array(this.#received - LENGTH_PREFIX_SIZE);
    let skip = LENGTH_PREFIX_SIZE;
    let at = 0;
    for (const c of this.#chunks) {
      const from = Math.min(skip, c.length);
      skip -= from;
      out.set(c.subarray(from), at);
      at += c.length - from;
    }
    return out;
  }

  #head(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.#chunks) {
      if (at >= n) break;
      const take = Math.min(c.length, n - at);
      out.set(c.subarray(0, take), at);
      at += take;
    }
    return out;
  }
}

/** Reassembles a whole sequence of box plaintexts; throws unless they form exactly one payload. */
export function reassemblePayload(
  boxes: Iterable<Uint8Array>,
  options: FrameReassemblerOptions = {},
): Uint8Array {
  const r = new FrameReassembler(options);
  for (const box of boxes) r.push(box);
  return r.payload();
}

/**
 * CBOR as Go's fxamacker/cbor (default options) produces and accepts it.
 *
 * - Byte strings stay byte strings: `tagUint8Array: false`, otherwise Node tags Uint8Array with 64.
 * - Minimal map headers (`variableMapSize`) so re-encoding Go's bytes is byte-identical.
 * - No records extension: Go cannot decode it.
 * - Decoded byte strings are copied into plain Uint8Array: cbor-x would return Buffer views into the
 *   frame, which would keep large frames alive and break equality with Uint8Array. cbor-x's
 *   `copyBuffers` does that copy while decoding, so the decoded tree need not be rebuilt.
 * - "__proto__" keys: cbor-x's decoder renames them ("__proto_"), so decoding never touches a prototype;
 *   the encoder's input may carry one as an own key (JSON.parse), which stripUndefined keeps.
 * (fxamacker/cbor v2.9.1 defaults, as katzenpost client/thin and client/incoming_conn.go use them)
 */
import { Decoder, Encoder, type Options } from 'cbor-x';
import { ProtocolError } from '../errors.js';

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  useTag259ForMaps: false,
} as Options & { useTag259ForMaps?: boolean });

const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

/** Encode one value. `undefined` object fields are dropped (Go ignores missing keys). */
export function encodeCbor(value: unknown): Uint8Array {
  // Messages built by messages.ts never hold undefined: skip the copy unless something must be dropped.
  const out = encoder.encode(needsStrip(value, 0) ? stripUndefined(value) : value);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Decode exactly one CBOR item. Byte strings come back as fresh Uint8Arrays; trailing bytes or
 * malformed input throw ProtocolError.
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    // decodeMultiple would accept several items; Go's decoder rejects trailing data and so do we.
    value = decoder.decode(plainView(bytes));
  } catch (cause) {
    throw new ProtocolError(`malformed CBOR: ${(cause as Error).message}`, { cause });
  }
  // Replies are plain maps, arrays, scalars and (already copied) byte strings: checking the nesting
  // limit in place is enough. Anything else (a tagged value, a Date, a Map, a typed array) goes through
  // the copy that turns it into the same plain shape as before.
  return isPlain(value, 0) ? value : copyBytes(value, 0);
}

/**
 * `bytes` as a plain Uint8Array view (no copy). cbor-x slices byte strings with the input's species,
 * so a Buffer input would give Buffer byte strings; a Uint8Array input gives Uint8Array ones.
 */
function plainView(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * True when `value` holds only plain objects, arrays, scalars and plain Uint8Arrays; throws the
 * nesting ProtocolError where copyBytes would (a container at depth MAX_NESTING). Allocates nothing.
 */
function isPlain(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  const proto = Object.getPrototypeOf(value);
  if (proto === Uint8Array.prototype) return true;
  if (proto !== Object.prototype && proto !== Array.prototype) return false;
  if (depth >= MAX_NESTING) throw new ProtocolError(`CBOR nested deeper than ${MAX_NESTING} levels`);
  if (proto === Array.prototype) {
    const a = value as unknown[];
    for (let i = 0; i < a.length; i++) if (!isPlain(a[i], depth + 1)) return false;
    return true;
  }
  const o = value as Record<string, unknown>;
  // Own keys only: cbor-x builds the object, so nothing enumerable is inherited.
  for (const k in o) if (!isPlain(o[k], depth + 1)) return false;
  return true;
}

/** Go's fxamacker/cbor refuses items nested deeper than this (DecOptions.MaxNestedLevels default). */
export const MAX_NESTING = 32;

/**
 * Whether stripUndefined would change what the encoder sees: an undefined field, or anything but
 * plain objects, arrays, Maps, scalars and byte strings (stripUndefined turns other objects into
 * plain maps of their own fields). Deeper than any message nests, just copy.
 */
function needsStrip(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (isBytes(value)) return false;
  if (depth >= MAX_NESTING) return true;
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    const a = value as unknown[];
    for (let i = 0; i < a.length; i++) if (a[i] === undefined || needsStrip(a[i], depth + 1)) return true;
    return false;
  }
  if (proto !== Object.prototype) return true;
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (o[k] === undefined || needsStrip(o[k], depth + 1)) return true;
  return false;
}

function stripUndefined(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isBytes(value)) return value;
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value instanceof Map) {
    const m = new Map();
    for (const [k, v] of value) if (v !== undefined) m.set(k, stripUndefined(v));
    return m;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) setOwn(out, k, stripUndefined(v));
  return out;
}

function copyBytes(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isBytes(value)) return Uint8Array.prototype.slice.call(value);
  if (depth >= MAX_NESTING) throw new ProtocolError(`CBOR nested deeper than ${MAX_NESTING} levels`);
  if (Array.isArray(value)) return value.map((v) => copyBytes(v, depth + 1));
  if (value instanceof Map) {
    const m = new Map();
    for (const [k, v] of value) m.set(copyBytes(k, depth + 1), copyBytes(v, depth + 1));
    return m;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, k, copyBytes(v, depth + 1));
  return out;
}

/** A real Uint8Array, not an object that merely inherits from one (e.g. through a "__proto__" key). */
function isBytes(value: object): value is Uint8Array {
  return value instanceof Uint8Array && ArrayBuffer.isView(value);
}

/** `out[key] = value`, except that a key such as "__proto__" stays a plain own property. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A uint64 as Go encodes it: shortest head. cbor-x turns numbers ≥ 2^32 into floats, so use bigint there. */
export function u64ForWire(value: bigint | number): number | bigint {
  const v = BigInt(value);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`uint64 out of range: ${v}`);
  return v <= 0xffff_ffffn ? Number(v) : v;
}

/** Decoded 64-bit integers arrive as number or bigint depending on their head; normalise. */
export function toU64(value: unknown): bigint {
  const v =
    typeof value === 'bigint'
      ? value
      : typeof value === 'number' && Number.isInteger(value)
        ? BigInt(value)
        : undefined;
  if (v === undefined || v < 0n || v > MAX_U64) {
    throw new ProtocolError(
      `expected an unsigned 64-bit integer, got ${typeof value === 'bigint' ? `${value}n` : describe(value)}`,
    );
  }
  return v;
}

const MAX_U64 = 0xffff_ffff_ffff_ffffn;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  return typeof value;
}

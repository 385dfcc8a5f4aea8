/**
 * Decoding helpers for the PKI structures (internal to src/pki).
 *
 * The PKI document and certificate are Go structs encoded by fxamacker/cbor. Their maps are keyed by text
 * (field names), by integers (`MixKeys`, `EnvelopeKeys`) and by byte strings (`Signatures`,
 * `SharedRandomCommit`), so every map is decoded as a `Map`. The conversions follow Go's decoding rules where
 * they matter: a field name matches exactly first and then case-insensitively, a missing field or `null` is
 * the Go zero value, and a value of the wrong CBOR type is an error.
 */
import { Decoder } from 'cbor-x';
import { ProtocolError } from '../errors.js';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

const UINT64_MAX = (1n << 64n) - 1n;

export type CborMap = Map<unknown, unknown>;

/** Decodes exactly one CBOR item; anything that is not (trailing bytes included) is a ProtocolError. */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError(`${what}: expected bytes`);
  if (bytes.length === 0) throw new ProtocolError(`${what}: empty input`);
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ProtocolError(`${what}: not a valid CBOR item (${reason})`, { cause });
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof Uint8Array) return 'a byte string';
  if (value instanceof Map) return 'a map';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function fail(what: string, expected: string, value: unknown): never {
  throw new ProtocolError(`${what}: expected ${expected}, got ${describe(value)}`);
}

export function asMap(value: unknown, what: string): CborMap {
  if (value instanceof Map) return value;
  return fail(what, 'a map', value);
}

/** `null`/missing → null, otherwise a map. */
export function asMapOrNull(value: unknown, what: string): CborMap | null {
  if (value === null || value === undefined) return null;
  return asMap(value, what);
}

/** Go field lookup: exact key first, then the first text key that matches case-insensitively. */
export function field(map: CborMap, name: string): unknown {
  if (map.has(name)) return map.get(name);
  const lower = name.toLowerCase();
  for (const [key, value] of map) {
    if (typeof key === 'string' && key.toLowerCase() === lower) return value;
  }
  return undefined;
}

/** Reads the fields of one map: `read(name, as)` checks field `name` with `as`, labelled "`what` name". */
export function fieldReader(
  map: CborMap,
  what: string,
): <T>(name: string, as: (value: unknown, what: string) => T) => T {
  return (name, as) => as(field(map, name), `${what} ${name}`);
}

/** A copy on a plain Uint8Array (never a Node Buffer, never a view into the input). */
export function copyBytes(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(value.length);
  out.set(value);
  return out;
}

export function asBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return copyBytes(value);
  return fail(what, 'a byte string', value);
}

/** `null`/missing → null (Go's nil slice), otherwise a byte string. */
export function asBytesOrNull(value: unknown, what: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return asBytes(value, what);
}

/** `null`/missing → "" (Go's zero string). */
export function asText(value: unknown, what: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return fail(what, 'a text string', value);
}

/** `null`/missing → false. */
export function asBool(value: unknown, what: string): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  return fail(what, 'a boolean', value);
}

/** An unsigned integer up to 2^64 − 1 as a bigint; `null`/missing → 0n. */
export function asUint64(value: unknown, what: string): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n && value <= UINT64_MAX) return value;
  return fail(what, 'an unsigned 64-bit integer', value);
}

/** An unsigned integer up to `max` (a Go uint8/uint32 field) as a number; `null`/missing → 0. */
export function asUintSmall(value: unknown, what: string, max: number): number {
  if (value === null || value === undefined) return 0;
  let n: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = value;
  else if (typeof value === 'bigint' && value >= 0n && value <= BigInt(max)) n = Number(value);
  if (n === undefined || n < 0 || n > max) return fail(what, `an unsigned integer ≤ ${max}`, value);
  return n;
}

/** A float64 (integers are accepted, as Go accepts them for a float field); `null`/missing → 0. */
export function asFloat(value: unknown, what: string): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return fail(what, 'a number', value);
}

/** `null`/missing → null (Go's nil slice), otherwise an array. */
export function asArrayOrNull(value: unknown, what: string): unknown[] | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value;
  return fail(what, 'an array', value);
}

/** Turns decoded CBOR into plain values: byte strings copied to Uint8Array, maps kept as `Map`. */
export function normalize(value: unknown, depth = 0): unknown {
  if (depth > 64) throw new ProtocolError('CBOR value nested too deeply');
  if (value instanceof Uint8Array) return copyBytes(value);
  if (Array.isArray(value)) return value.map((v) => normalize(v, depth + 1));
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of value) out.set(normalize(k, depth + 1), normalize(v, depth + 1));
    return out;
  }
  return value;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

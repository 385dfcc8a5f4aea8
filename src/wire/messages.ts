/**
 * Encoding and decoding of whole thin-client messages, driven by the tables in schema.ts.
 *
 * A message is one CBOR map with exactly one meaningful top-level key. We dispatch on the first
 * key whose value is not null (Go fills the others with null; Python/Rust omit them).
 */
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { decodeCbor, describe, encodeCbor, toU64, u64ForWire } from './codec.js';
import {
  type AnyRequest,
  type AnyResponse,
  type Field,
  type FieldType,
  REQUEST_KEYS,
  REQUESTS,
  RESPONSE_KEYS,
  RESPONSES,
  type RequestBody,
  type RequestKey,
  type ResponseBody,
  type ResponseKey,
} from './schema.js';

/**
 * `minimal`: only the selected key and the fields that are set (what the Python and Rust clients
 * send). `go`: every top-level key (nulls for the others) and every field in declaration order,
 * honouring omitempty — byte-identical to Go's fxamacker/cbor defaults.
 */
export type EncodeStyle = 'minimal' | 'go';

/** How decoding treats a byte string whose length differs from a fixed-size field. */
export interface DecodeOptions {
  /**
   * `strict` (client): any wrong length is a ProtocolError.
   * `go` (devnet): like Go, 16- and 32-byte arrays are zero-padded or truncated, while caps and
   * indices (BinaryUnmarshaler types) must have their exact length.
   */
  fixedSize?: 'strict' | 'go';
}

export type DecodedRequest = AnyRequest | { key: 'unknown'; raw: unknown };
export type DecodedResponse = AnyResponse | { key: 'unknown'; raw: unknown };

export function encodeRequest<K extends RequestKey>(
  key: K,
  body: RequestBody<K>,
  style: EncodeStyle = 'minimal',
): Uint8Array {
  return encodeCbor(buildTop(REQUEST_KEYS, REQUESTS, key, body, style));
}

export function encodeResponse<K extends ResponseKey>(
  key: K,
  body: ResponseBody<K>,
  style: EncodeStyle = 'minimal',
): Uint8Array {
  return encodeCbor(buildTop(RESPONSE_KEYS, RESPONSES, key, body, style));
}

export function decodeRequest(bytes: Uint8Array, options: DecodeOptions = {}): DecodedRequest {
  return decodeTop(bytes, REQUEST_KEYS, REQUESTS, options) as DecodedRequest;
}

export function decodeResponse(bytes: Uint8Array, options: DecodeOptions = {}): DecodedResponse {
  return decodeTop(bytes, RESPONSE_KEYS, RESPONSES, options) as DecodedResponse;
}

/** A reply to one of our requests: it echoes the request's query_id (events carry none). */
export function carriesQueryId(message: DecodedResponse): boolean {
  return message.key !== 'unknown' && (message.body as { query_id?: unknown }).query_id !== undefined;
}

// ---- encoding ---------------------------------------------------------------------------------

function buildTop(
  keys: readonly string[],
  table: Record<string, readonly Field[]>,
  key: string,
  body: object,
  style: EncodeStyle,
): Record<string, unknown> {
  const fields = table[key];
  if (!fields) throw new InvalidArgumentError('key', `unknown message key ${JSON.stringify(key)}`);
  const inner = buildStruct(fields, body as Record<string, unknown>, style, key);
  if (style === 'minimal') return { [key]: inner };
  const top: Record<string, unknown> = {};
  for (const k of keys) top[k] = k === key ? inner : null;
  return top;
}

function buildStruct(
  fields: readonly Field[],
  body: Record<string, unknown>,
  style: EncodeStyle,
  path: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = body[field.name];
    const absent = value === undefined || value === null;
    if (absent) {
      if (style === 'go' && !field.omitempty) out[field.name] = zeroValue(field.type);
      continue;
    }
    const encoded = encodeValue(field.type, value, style, `${path}.${field.name}`);
    if (field.omitempty && isEmpty(field.type, encoded)) continue;
    out[field.name] = encoded;
  }
  return out;
}

/** What Go emits for a field the message does not set. */
function zeroValue(type: FieldType): unknown {
  switch (type.kind) {
    case 'u8':
    case 'u32':
    case 'u64':
      return 0;
    case 'bool':
      return false;
    case 'text':
      return '';
    case 'bytes':
      // Fixed-size `[N]byte` values (not pointers) encode as N zero bytes; every such field in the
      // wire structs is a pointer or slice except identity_key_hash, which is always set.
      return null;
    default:
      return null;
  }
}

function isEmpty(type: FieldType, value: unknown): boolean {
  if (value === false || value === 0 || value === 0n || value === '') return true;
  if (type.kind === 'bytes' && value instanceof Uint8Array) return value.length === 0;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

function encodeValue(type: FieldType, value: unknown, style: EncodeStyle, path: string): unknown {
  switch (type.kind) {
    case 'bytes': {
      if (!(value instanceof Uint8Array))
        throw new InvalidArgumentError(path, `expected Uint8Array, got ${describe(value)}`);
      if (type.size !== undefined && value.length !== type.size) {
        throw new InvalidArgumentError(path, `expected ${type.size} bytes, got ${value.length}`);
      }
      return value;
    }
    case 'u8':
      return checkUint(value, 0xff, path);
    case 'u32':
      return checkUint(value, 0xffff_ffff, path);
    case 'u64': {
      if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
        throw new InvalidArgumentError(path, `expected a bigint, got ${describe(value)}`);
      }
      try {
        return u64ForWire(value);
      } catch {
        throw new InvalidArgumentError(path, `out of uint64 range: ${value}`);
      }
    }
    case 'bool':
      if (typeof value !== 'boolean')
        throw new InvalidArgumentError(path, `expected boolean, got ${describe(value)}`);
      return value;
    case 'text':
      if (typeof value !== 'string')
        throw new InvalidArgumentError(path, `expected string, got ${describe(value)}`);
      return value;
    case 'any':
      return value;
    case 'array':
      if (!Array.isArray(value))
        throw new InvalidArgumentError(path, `expected array, got ${describe(value)}`);
      return value.map((v, i) => encodeValue(type.of, v, style, `${path}[${i}]`));
    case 'struct':
      if (typeof value !== 'object' || value === null) {
        throw new InvalidArgumentError(path, `expected object, got ${describe(value)}`);
      }
      return buildStruct(type.fields, value as Record<string, unknown>, style, path);
  }
}

function checkUint(value: unknown, max: number, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(path, `expected an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

// ---- decoding ---------------------------------------------------------------------------------

function decodeTop(
  bytes: Uint8Array,
  keys: readonly string[],
  table: Record<string, readonly Field[]>,
  options: DecodeOptions,
): { key: string; body?: unknown; raw?: unknown } {
  const raw = decodeCbor(bytes);
  if (!isPlainObject(raw)) throw new ProtocolError(`expected a CBOR map, got ${describe(raw)}`);
  // Go's precedence is struct order among the non-null keys; a well-formed message has only one.
  for (const key of keys) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) throw new ProtocolError(`${key}: expected a map, got ${describe(value)}`);
    return { key, body: decodeStruct(table[key]!, value, key, options) };
  }
  return { key: 'unknown', raw };
}

function decodeStruct(
  fields: readonly Field[],
  raw: Record<string, unknown>,
  path: string,
  options: DecodeOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = raw[field.name];
    if (value === undefined || value === null) continue;
    out[field.name] = decodeValue(field.type, value, `${path}.${field.name}`, options);
  }
  return out;
}

function decodeValue(type: FieldType, value: unknown, path: string, options: DecodeOptions): unknown {
  switch (type.kind) {
    case 'bytes': {
      if (!(value instanceof Uint8Array))
        throw new ProtocolError(`${path}: expected bytes, got ${describe(value)}`);
      if (type.size === undefined || value.length === type.size) return value;
      if (options.fixedSize === 'go' && (type.size === 16 || type.size === 32)) {
        const fixed = new Uint8Array(type.size);
        fixed.set(value.subarray(0, type.size));
        return fixed;
      }
      throw new ProtocolError(`${path}: expected ${type.size} bytes, got ${value.length}`);
    }
    case 'u8':
    case 'u32': {
      const max = type.kind === 'u8' ? 0xff : 0xffff_ffff;
      const n = typeof value === 'bigint' && value <= BigInt(max) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
        throw new ProtocolError(`${path}: expected an integer in [0, ${max}], got ${describe(value)}`);
      }
      return n;
    }
    case 'u64':
      try {
        return toU64(value);
      } catch {
        throw new ProtocolError(`${path}: expected an unsigned integer, got ${describe(value)}`);
      }
    case 'bool':
      if (typeof value !== 'boolean')
        throw new ProtocolError(`${path}: expected boolean, got ${describe(value)}`);
      return value;
    case 'text':
      if (typeof value !== 'string')
        throw new ProtocolError(`${path}: expected text, got ${describe(value)}`);
      return value;
    case 'any':
      return value;
    case 'array':
      if (!Array.isArray(value)) throw new ProtocolError(`${path}: expected array, got ${describe(value)}`);
      return value.map((v, i) => (v === null ? v : decodeValue(type.of, v, `${path}[${i}]`, options)));
    case 'struct':
      if (!isPlainObject(value)) throw new ProtocolError(`${path}: expected map, got ${describe(value)}`);
      return decodeStruct(type.fields, value, path, options);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map)
  );
}

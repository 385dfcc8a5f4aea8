/**
 * Inspection without leaking secrets.
 *
 * Operation actors hold encoded requests, and those embed write caps; the connection holds the
 * session token. Whatever reaches an inspector passes through `sanitize`, which replaces every
 * byte string with its length and every field named like a secret with "[redacted]". Two kinds of
 * byte string are shown otherwise, because an inspector needs them and they hold no secret:
 *
 * - identifiers (`query_id`, `envelope_hash`, `surbid`) as hex: the client already names its
 *   operations and cancel keys by them;
 * - encoded request frames (fields `bytes` and `request`) as the decoded request, sanitized in turn:
 *   `{ frame: 'encrypt_write', body: { plaintext: '[0 bytes]', write_cap: '[redacted]', ... } }`,
 *   which is how an inspector tells a read from a write or a tombstone.
 *
 * `ThinClient.connect(config, { inspect })` wraps the observer with `redactInspection`, so an
 * observer (or `@statelyai/inspect`'s `inspector.inspect`) only ever sees sanitized events.
 */
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { hex } from '../protocol/queryId.js';
import { decodeRequest } from '../wire/index.js';

/** Field names whose values never leave unredacted, whatever their type. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'seed',
  'writeCap',
  'write_cap',
  'destWriteCap',
  'dest_write_cap',
  'tempWriteCap',
  'message_write_cap',
  'voucher_secret_key',
  'clientToken',
  'client_instance_token',
  'instance_token',
  'instanceToken',
  'voucherSecretKey',
  'voucherWriteCap',
  'voucher_write_cap',
  'messageWriteCap',
  'mutatedMessageWriteCap',
  'mutated_message_write_cap',
]);

/** Byte strings that identify rather than hide: shown as hex. */
const ID_KEYS: ReadonlySet<string> = new Set(['query_id', 'envelope_hash', 'surbid']);

/** Byte strings that hold one encoded request frame: shown decoded (and sanitized). */
const FRAME_KEYS: ReadonlySet<string> = new Set(['bytes', 'request']);

const MAX_DEPTH = 8;

/** A JSON-safe copy of `value` with byte strings and secret fields redacted. */
export function sanitize(value: unknown): unknown {
  return sanitizeValue(value, 0, new WeakSet());
}

function sanitizeValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return `${value}n`;
    case 'function':
      return '[function]';
    case 'symbol':
      return value.toString();
  }
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  const object = value as object;
  if (seen.has(object)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[…]';
  seen.add(object);
  try {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
    }
    if (isActorRef(value)) return { actor: value.id };
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => sanitizeValue(v, depth + 1, seen));
    if (value instanceof Map) {
      return [...value].map(([k, v]) => [
        sanitizeValue(k, depth + 1, seen),
        sanitizeValue(v, depth + 1, seen),
      ]);
    }
    if (value instanceof Set) return [...value].map((v) => sanitizeValue(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = sanitizeField(k, v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

function sanitizeField(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (SECRET_KEYS.has(key)) return '[redacted]';
  if (value instanceof Uint8Array) {
    if (ID_KEYS.has(key)) return hex(value);
    if (FRAME_KEYS.has(key)) return decodedFrame(value, depth, seen) ?? `[${value.byteLength} bytes]`;
  }
  return sanitizeValue(value, depth, seen);
}

/** Frames are decoded once each: an operation's snapshot carries the same request every time. */
const frameCache = new WeakMap<Uint8Array, unknown>();

function decodedFrame(bytes: Uint8Array, depth: number, seen: WeakSet<object>): unknown {
  if (frameCache.has(bytes)) return frameCache.get(bytes);
  let out: unknown;
  try {
    const decoded = decodeRequest(bytes);
    out =
      decoded.key === 'unknown'
        ? undefined
        : { frame: decoded.key, body: sanitizeValue(decoded.body, depth + 1, seen) };
  } catch {
    out = undefined; // not a request frame after all
  }
  frameCache.set(bytes, out);
  return out;
}

function isActorRef(value: unknown): value is AnyActorRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    'sessionId' in value &&
    typeof (value as { send?: unknown }).send === 'function'
  );
}

/** The parts of a snapshot worth inspecting, sanitized. */
export function sanitizeSnapshot(snapshot: unknown): Record<string, unknown> {
  if (typeof snapshot !== 'object' || snapshot === null) return { value: sanitize(snapshot) };
  const s = snapshot as Record<string, unknown>;
  const out: Record<string, unknown> = { status: s.status };
  if ('value' in s) out.value = sanitize(s.value);
  if ('context' in s) out.context = sanitize(s.context);
  if (s.output !== undefined) out.output = sanitize(s.output);
  if (s.error !== undefined) out.error = sanitize(s.error);
  if (typeof s.children === 'object' && s.children !== null) out.children = Object.keys(s.children);
  return out;
}

const refCache = new WeakMap<AnyActorRef, AnyActorRef>();

/** The actor ref with `getSnapshot()` sanitized (inspectors read snapshots through refs too). */
function redactedRef(ref: AnyActorRef): AnyActorRef {
  let proxy = refCache.get(ref);
  if (!proxy) {
    proxy = new Proxy(ref, {
      get(target, prop) {
        if (prop === 'getSnapshot') return () => sanitizeSnapshot(target.getSnapshot());
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    refCache.set(ref, proxy);
  }
  return proxy;
}

/** A copy of an inspection event that carries no secrets. */
export function sanitizeInspectionEvent(event: InspectionEvent): InspectionEvent {
  const out: Record<string, unknown> = { ...event, actorRef: redactedRef(event.actorRef as AnyActorRef) };
  const e = event as unknown as Record<string, unknown>;
  if (e.sourceRef) out.sourceRef = redactedRef(e.sourceRef as AnyActorRef);
  if ('event' in e) out.event = sanitize(e.event);
  if ('snapshot' in e) out.snapshot = sanitizeSnapshot(e.snapshot);
  if ('action' in e) out.action = sanitize(e.action);
  if ('_transitions' in e) out._transitions = [];
  return out as unknown as InspectionEvent;
}

/** An XState inspection observer, as `ConnectOptions.inspect` takes it: an observer object or a function. */
export type InspectOption = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/** Wraps an inspection observer so it sees only sanitized events and can never break the client. */
export function redactInspection(inspect: InspectOption): (event: InspectionEvent) => void {
  return (event) => {
    try {
      const clean = sanitizeInspectionEvent(event);
      if (typeof inspect === 'function') inspect(clean);
      else inspect.next?.(clean);
    } catch {
      // An inspector's own failure is not the client's problem.
    }
  };
}

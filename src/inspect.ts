/**
 * Inspection without leaking secrets.
 *
 * Operation actors hold encoded requests, and those embed write caps; the connection holds the
 * session token. Whatever reaches an inspector passes through `sanitize`, which replaces every
 * byte string with its length and every field named like a secret with "[redacted]".
 *
 * - `ThinClient.connect(config, { inspect })` wraps the observer with `redactInspection`, so an
 *   observer (or `@statelyai/inspect`'s `inspector.inspect`) only ever sees sanitized events.
 * - `createTraceRecorder(write)` turns inspection events into one small JSON line each (JSONL),
 *   for offline traces: `{ t, type, actor, source, event, value, status, ... }`.
 */
import { createWriteStream } from 'node:fs';
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';

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
]);

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
      out[k] = SECRET_KEYS.has(k) ? '[redacted]' : sanitizeValue(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(object);
  }
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

/** One line of a JSONL trace. */
export interface TraceRow {
  t: number;
  type: string;
  actor: string;
  systemId?: string;
  source?: string;
  event?: string;
  detail?: unknown;
  value?: unknown;
  status?: string;
  action?: string;
}

/** The trace row for one inspection event (already sanitized). */
export function traceRow(event: InspectionEvent, now = Date.now()): TraceRow {
  const e = event as unknown as Record<string, unknown> & { actorRef: AnyActorRef };
  const row: TraceRow = { t: now, type: event.type, actor: e.actorRef.id };
  const systemId = (e.actorRef as { systemId?: string }).systemId;
  if (systemId) row.systemId = systemId;
  const source = (e.sourceRef as AnyActorRef | undefined)?.id;
  if (source) row.source = source;
  const ev = e.event as { type?: string } | undefined;
  if (ev?.type) {
    row.event = ev.type;
    const { type: _, ...rest } = sanitize(ev) as Record<string, unknown>;
    if (Object.keys(rest).length > 0) row.detail = rest;
  }
  const snapshot = e.snapshot as { value?: unknown; status?: string } | undefined;
  if (snapshot) {
    if ('value' in snapshot) row.value = sanitize(snapshot.value);
    if (snapshot.status) row.status = snapshot.status;
  }
  const action = e.action as { type?: string } | undefined;
  if (action?.type) row.action = action.type;
  return row;
}

export interface TraceRecorderOptions {
  /** Which inspection event types to record. @default ['@xstate.actor', '@xstate.event', '@xstate.snapshot'] */
  types?: readonly string[];
}

/**
 * An inspection observer that writes one sanitized JSON line per event to `write`.
 *
 * @example
 * const lines: string[] = [];
 * const client = await ThinClient.connect(config, { inspect: createTraceRecorder((l) => lines.push(l)) });
 */
export function createTraceRecorder(
  write: (line: string) => void,
  options: TraceRecorderOptions = {},
): (event: InspectionEvent) => void {
  const types = new Set(options.types ?? ['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
  return (event) => {
    if (!types.has(event.type)) return;
    write(`${JSON.stringify(traceRow(sanitizeInspectionEvent(event)))}\n`);
  };
}

/** A trace recorder appending to a file; call `close()` when done. */
export function createFileTraceRecorder(
  path: string,
  options: TraceRecorderOptions = {},
): { inspect: (event: InspectionEvent) => void; close: () => Promise<void> } {
  const stream = createWriteStream(path, { flags: 'a' });
  stream.on('error', () => {});
  return {
    inspect: createTraceRecorder((line) => stream.write(line), options),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}

/**
 * JSONL traces of inspection events: `createTraceRecorder(write)` turns each event into one small
 * sanitized JSON line, `{ t, type, actor, systemId, source, event, detail, value, status, action }`,
 * for reading offline or diffing between runs.
 */
import { createWriteStream } from 'node:fs';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { sanitize, sanitizeInspectionEvent } from './redact.js';

/** One line of a JSONL trace. */
export interface TraceRow {
  /** When, in milliseconds since the epoch. */
  t: number;
  /** The inspection event type (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`, …). */
  type: string;
  /** The id of the actor it concerns. */
  actor: string;
  /** That actor's system id, when it has one (`client`, `registry`, `op:…`). */
  systemId?: string;
  /** The id of the actor that sent the event. */
  source?: string;
  /** The type of the event, for event and snapshot rows. */
  event?: string;
  /** The event's other fields, sanitized. */
  detail?: unknown;
  /** The snapshot's state value, sanitized. */
  value?: unknown;
  /** The snapshot's status (`active`, `done`, `error`, `stopped`). */
  status?: string;
  /** The action's type, for action rows. */
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

/** Options of `createTraceRecorder` and `createFileTraceRecorder`. */
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
): {
  /** Pass as `ThinClient.connect(config, { inspect })`. */
  inspect: (event: InspectionEvent) => void;
  /** Flushes and closes the file. */
  close: () => Promise<void>;
} {
  const stream = createWriteStream(path, { flags: 'a' });
  stream.on('error', () => {});
  return {
    inspect: createTraceRecorder((line) => stream.write(line), options),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}

/**
 * Inspection events → one record per node of the client's tree, each with its lifecycle.
 *
 * Actors (the client, its connection and registry, `op:<query id>` operations, `copy:<id>` streams,
 * `window:<id>` windows) are recorded from their snapshots: every change of state is a step with
 * its time and the event that caused it. Local requests and legacy sends are not actors: they are
 * recorded from the events the registry receives (`registry.request`, `registry.send`, the replies
 * in `transport.reply` straight from the socket, or `registry.message`), which the inspection API reports like any other event, so nothing on the
 * client's own path changes for them.
 *
 * Memory is bounded: at most `limit` operation records (the oldest finished go first, then the
 * oldest), at most `stepLimit` steps each (the first step is kept, then the latest).
 * Feed it sanitized events only (what `ThinClient.connect(config, { inspect })` delivers).
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { actorKind, arqKind, asFrame, isTombstoneWrite, type NodeKind, STRUCTURAL_KINDS } from './kinds.js';

/** Where a node's life is: running, or how it ended. */
export type Phase = 'active' | 'done' | 'failed' | 'cancelled';

/** One change of state of a node. */
export interface LifecycleStep {
  /** Milliseconds since the epoch. */
  t: number;
  /** The state it entered (e.g. `sending`, `waiting.reply`). */
  state: string;
  /** The event that led here. */
  event?: string;
}

/** One node of the client's tree (an actor, a local request or a send) with its lifecycle. */
export interface NodeRecord {
  /** The system id (`op:…`, `copy:…`), or `req:<query id>` / `send:<surb id>` for registry work. */
  id: string;
  /** The id of the record it sits under in the tree; none for the client. */
  parent?: string;
  /** What sort of node it is. */
  kind: NodeKind;
  /** What to call it: the request name for a local request, else the id. */
  label: string;
  /** Running, or how it ended. */
  phase: Phase;
  /** Its current (or last) state. */
  state: string;
  /** How it ended, in words (`done`, `BoxIDNotFound (code 1)`, `timed out`…). */
  outcome?: string;
  /** Its changes of state, oldest first (bounded by `stepLimit`). */
  steps: LifecycleStep[];
  /** Steps left out to stay within `stepLimit`. */
  stepsDropped: number;
  /** Times the request went to the daemon (ARQ operations and local requests). */
  transmissions: number;
  /** Times it was sent again because a restarted daemon had lost it. */
  replays: number;
  /**
   * Times it was resynchronised after the socket to the same daemon instance dropped: a cancel of what
   * the daemon still held, then the same request again.
   */
  resyncs: number;
  /** When it began, in milliseconds since the epoch. */
  started: number;
  /** When it last changed, in milliseconds since the epoch. */
  updated: number;
}

/** A change `subscribe` listeners see: a record added or updated, or one dropped to stay within `limit`. */
export type RecordChange =
  | {
      /** A record was added or updated. */
      type: 'record';
      /** The record as it is now. */
      record: NodeRecord;
    }
  | {
      /** A record was dropped. */
      type: 'drop';
      /** The dropped record's id. */
      id: string;
    };

/** Options of `createInspectionRecords`. */
export interface RecordsOptions {
  /** Operation records kept, at most. @default 500 */
  limit?: number;
  /** Steps kept per record, at most. @default 200 */
  stepLimit?: number;
  /** The clock, in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
}

/** The records of one client's tree, fed by its inspection events. */
export interface InspectionRecords {
  /** Pass inspection events here (sanitized). */
  readonly inspect: (event: InspectionEvent) => void;
  /** Every record, oldest first. */
  records(): NodeRecord[];
  /** The record with this id, if kept. */
  get(id: string): NodeRecord | undefined;
  /** Called on every change; returns the unsubscribe. */
  subscribe(listener: (change: RecordChange) => void): () => void;
  /** Operation records kept, at most (`RecordsOptions.limit`). */
  readonly limit: number;
  /** Stops the deadline timers of local requests. */
  dispose(): void;
}

/** Final ARQ states → how they read (arq.ts: `expected` is an answer such as BoxIDNotFound). */
const FINAL_PHASE: Record<string, Phase> = {
  done: 'done',
  expected: 'done',
  failed: 'failed',
  abandoned: 'failed',
  cancelled: 'cancelled',
  closed: 'cancelled',
};

const EXPECTED_CODE_NAMES: Record<number, string> = {
  1: 'BoxIDNotFound',
  10: 'BoxAlreadyExists',
  11: 'Tombstone',
};
const TOMBSTONE_MEMORY = 1000;

const stateName = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  return Object.entries(value)
    .map(([k, v]) => (typeof v === 'string' ? `${k}.${v}` : `${k}.(${stateName(v)})`))
    .join(' | ');
};

const refId = (ref: AnyActorRef | undefined): string | undefined =>
  ref ? ((ref as { systemId?: string }).systemId ?? undefined) : undefined;

const parentOf = (ref: AnyActorRef): AnyActorRef | undefined => (ref as { _parent?: AnyActorRef })._parent;

/**
 * Records of every node of a client's tree, with their lifecycles, from its (sanitized) inspection events:
 * what the inspector server shows.
 *
 * @example
 * ```ts
 * const records = createInspectionRecords();
 * const client = await ThinClient.connect(config, { inspect: records.inspect });
 * records.subscribe((change) => console.log(change.type));
 * ```
 */
export function createInspectionRecords(options: RecordsOptions = {}): InspectionRecords {
  const limit = options.limit ?? 500;
  const stepLimit = options.stepLimit ?? 200;
  const now = options.now ?? Date.now;
  const records = new Map<string, NodeRecord>();
  const listeners = new Set<(change: RecordChange) => void>();
  /** Envelope hashes of `encrypt_write`s of an empty plaintext, and the query ids awaiting them. */
  const tombstones = new Set<string>();
  const tombstoneRequests = new Set<string>();
  const deadlines = new Map<string, ReturnType<typeof setTimeout>>();
  let operations = 0;

  const emit = (change: RecordChange) => {
    for (const listener of listeners) listener(change);
  };
  const changed = (record: NodeRecord) => emit({ type: 'record', record });

  function add(record: NodeRecord): NodeRecord {
    records.set(record.id, record);
    if (!STRUCTURAL_KINDS.has(record.kind)) {
      operations++;
      if (operations > limit) evict();
    }
    changed(record);
    return record;
  }

  function remove(id: string) {
    const record = records.get(id);
    if (!record) return;
    records.delete(id);
    if (!STRUCTURAL_KINDS.has(record.kind)) operations--;
    clearTimeout(deadlines.get(id));
    deadlines.delete(id);
    emit({ type: 'drop', id });
    for (const child of [...records.values()]) if (child.parent === id) remove(child.id);
  }

  /** The oldest finished operation goes first; when none has finished, the oldest. */
  function evict() {
    let oldest: NodeRecord | undefined;
    let oldestFinished: NodeRecord | undefined;
    for (const r of records.values()) {
      if (STRUCTURAL_KINDS.has(r.kind)) continue;
      oldest ??= r;
      if (r.phase !== 'active') {
        oldestFinished = r;
        break;
      }
    }
    const victim = oldestFinished ?? oldest;
    if (victim) remove(victim.id);
  }

  function step(record: NodeRecord, state: string, event: string | undefined, t: number) {
    record.state = state;
    record.updated = t;
    record.steps.push(event === undefined ? { t, state } : { t, state, event });
    if (record.steps.length > stepLimit) {
      record.steps.splice(1, 1);
      record.stepsDropped++;
    }
  }

  function finish(record: NodeRecord, phase: Phase, outcome: string) {
    record.phase = phase;
    record.outcome = outcome;
    clearTimeout(deadlines.get(record.id));
    deadlines.delete(record.id);
  }

  function newRecord(id: string, kind: NodeKind, label: string, parent: string | undefined, t: number) {
    const record: NodeRecord = {
      id,
      kind,
      label,
      phase: 'active',
      state: '',
      steps: [],
      stepsDropped: 0,
      transmissions: 0,
      replays: 0,
      resyncs: 0,
      started: t,
      updated: t,
    };
    if (parent !== undefined) record.parent = parent;
    return record;
  }

  // ---- actors ----

  function onActor(ref: AnyActorRef, t: number) {
    const id = refId(ref);
    if (id === undefined || records.has(id)) return;
    // Work the registry runs sits under the client, for whom it runs it.
    let parent = refId(parentOf(ref));
    if (parent === 'registry') parent = 'client';
    add(newRecord(id, actorKind(id), id, parent, t));
  }

  function onSnapshot(ref: AnyActorRef, event: { type?: string } | undefined, snapshot: unknown, t: number) {
    const id = refId(ref);
    const record = id === undefined ? undefined : records.get(id);
    if (!record || typeof snapshot !== 'object' || snapshot === null) return;
    const s = snapshot as { status?: string; value?: unknown; context?: unknown; output?: unknown };
    const context = (typeof s.context === 'object' && s.context ? s.context : {}) as Record<string, unknown>;
    let touched = false;
    if (record.id.startsWith('op:')) {
      const kind = arqKind(context, tombstones);
      if (kind !== record.kind) {
        record.kind = kind;
        touched = true;
      }
      const transmissions = typeof context.transmissions === 'number' ? context.transmissions : 0;
      const resyncs = typeof context.resyncs === 'number' ? context.resyncs : 0;
      if (transmissions !== record.transmissions || resyncs !== record.resyncs) {
        record.transmissions = transmissions;
        record.resyncs = resyncs;
        touched = true;
      }
    }
    if (event?.type === 'op.replay') {
      record.replays++;
      touched = true;
    }
    const state = 'value' in s ? stateName(s.value) : (s.status ?? '');
    if (state !== record.state || record.steps.length === 0) {
      step(record, state, event?.type, t);
      touched = true;
    }
    if (record.phase === 'active' && s.status && s.status !== 'active') {
      finishActor(record, s.status, s.output);
      touched = true;
    }
    if (touched) {
      record.updated = t;
      changed(record);
    }
  }

  function finishActor(record: NodeRecord, status: string, output: unknown) {
    const final = FINAL_PHASE[record.state];
    if (status === 'error') return finish(record, 'failed', 'error');
    if (status === 'stopped') return finish(record, final ?? 'cancelled', 'stopped');
    if (final === undefined) return finish(record, 'done', record.state || 'done');
    const o = (typeof output === 'object' && output ? output : {}) as { errorCode?: number };
    if (record.state === 'expected' || record.state === 'failed') {
      const code = o.errorCode;
      const name = code === undefined ? undefined : EXPECTED_CODE_NAMES[code];
      return finish(record, final, `${record.state}: ${name ?? 'error'} (code ${code ?? '?'})`);
    }
    finish(record, final, record.state);
  }

  // ---- registry work that is not an actor ----

  function onRegistryEvent(event: Record<string, unknown>, t: number) {
    switch (event.type) {
      case 'registry.request': {
        const queryId = String(event.queryId);
        const frame = asFrame(event.bytes);
        const label = (event.request as { key?: string } | undefined)?.key ?? frame?.frame ?? 'request';
        if (isTombstoneWrite(frame)) tombstoneRequests.add(queryId);
        const record = newRecord(`req:${queryId}`, 'local request', label, 'client', t);
        step(record, 'requested', 'registry.request', t);
        record.transmissions = 1;
        add(record);
        const timeoutMs = Number(event.timeoutMs);
        if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
          // The registry's own deadline (actors/registry.ts) settles it as a timeout then.
          const timer = setTimeout(
            () => endRegistryWork(record.id, 'failed', 'timed out', 'deadline'),
            timeoutMs,
          );
          timer.unref?.();
          deadlines.set(record.id, timer);
        }
        return;
      }
      case 'registry.send': {
        const surb = event.surb as { id?: string; timeoutMs?: number } | undefined;
        const id = surb?.id ? `send:${surb.id}` : `send:${t}:${records.size}`;
        const record = newRecord(id, 'echo', 'send_message', 'client', t);
        record.transmissions = 1;
        step(record, surb ? 'awaiting reply' : 'sent', 'registry.send', t);
        if (!surb) finish(record, 'done', 'sent');
        add(record);
        if (surb?.timeoutMs) {
          const timer = setTimeout(
            () => endRegistryWork(id, 'failed', 'timed out', 'deadline'),
            surb.timeoutMs,
          );
          timer.unref?.();
          deadlines.set(id, timer);
        }
        return;
      }
      case 'registry.message':
      case 'transport.reply':
        return onReply(event.message as { key?: string; body?: Record<string, unknown> } | undefined, t);
      case 'registry.forget':
        return endRegistryWork(`req:${String(event.queryId)}`, 'cancelled', 'cancelled', 'registry.forget');
      case 'registry.linkLost':
        for (const r of activeRegistryWork()) {
          if (event.requested) endRegistryWork(r.id, 'failed', 'disconnected', 'registry.linkLost');
          else touch(r, 'held (connection lost)', 'registry.linkLost', t);
        }
        return;
      case 'registry.linkReady':
        for (const r of activeRegistryWork()) {
          if (r.state !== 'held (connection lost)') continue;
          r.transmissions++;
          if (!event.resumed) r.replays++;
          touch(r, 'requested', 'registry.linkReady', t);
        }
        return;
      case 'registry.linkFailed':
      case 'registry.close':
        for (const r of activeRegistryWork())
          endRegistryWork(
            r.id,
            event.type === 'registry.close' ? 'cancelled' : 'failed',
            'closed',
            event.type,
          );
        return;
    }
  }

  function activeRegistryWork(): NodeRecord[] {
    return [...records.values()].filter(
      (r) => r.phase === 'active' && (r.id.startsWith('req:') || r.id.startsWith('send:')),
    );
  }

  function touch(record: NodeRecord, state: string, event: string, t: number) {
    step(record, state, event, t);
    changed(record);
  }

  function endRegistryWork(id: string, phase: Phase, outcome: string, event: string) {
    const record = records.get(id);
    if (record?.phase !== 'active') return;
    step(record, phase, event, now());
    finish(record, phase, outcome);
    changed(record);
  }

  function onReply(message: { key?: string; body?: Record<string, unknown> } | undefined, t: number) {
    const body = message?.body ?? {};
    if (message?.key === 'message_reply_event' && typeof body.surbid === 'string') {
      endRegistryWork(`send:${body.surbid}`, 'done', 'replied', message.key);
      return;
    }
    if (typeof body.query_id !== 'string') return;
    const queryId = body.query_id;
    if (tombstoneRequests.delete(queryId) && typeof body.envelope_hash === 'string') {
      tombstones.add(body.envelope_hash);
      if (tombstones.size > TOMBSTONE_MEMORY) tombstones.delete(tombstones.values().next().value as string);
    }
    const record = records.get(`req:${queryId}`);
    if (record?.phase !== 'active') return;
    record.updated = t;
    const code = typeof body.error_code === 'number' ? body.error_code : 0;
    if (code === 0) endRegistryWork(record.id, 'done', 'done', String(message?.key));
    else endRegistryWork(record.id, 'failed', `error code ${code}`, String(message?.key));
  }

  const inspect = (event: InspectionEvent) => {
    try {
      const t = now();
      const e = event as unknown as Record<string, unknown> & { actorRef: AnyActorRef };
      if (event.type === '@xstate.actor') onActor(e.actorRef, t);
      else if (event.type === '@xstate.snapshot') {
        onActor(e.actorRef, t);
        onSnapshot(e.actorRef, e.event as { type?: string }, e.snapshot, t);
      } else if (event.type === '@xstate.event' && refId(e.actorRef) === 'registry') {
        onRegistryEvent(e.event as Record<string, unknown>, t);
      }
    } catch {
      // A record that cannot be made is not worth failing the client's inspection over.
    }
  };

  return {
    inspect,
    records: () => [...records.values()],
    get: (id) => records.get(id),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    limit,
    dispose() {
      for (const timer of deadlines.values()) clearTimeout(timer);
      deadlines.clear();
      listeners.clear();
    },
  };
}

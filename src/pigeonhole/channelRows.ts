/** The channels' rows in the store, their leases, and argument checks. */
import { hostname } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { ChannelBusyError, ChannelExistsError, ChannelNotFoundError } from './channelTypes.js';
import { blob, nowMs, type PigeonholeStore } from './store.js';

export { checkBytes } from './channelTypes.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers

export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('name', 'must be a non-empty string');
  }
}

export function checkDelay(ms: unknown, field: string): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new InvalidArgumentError(field, `must be a non-negative number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy of `row` whose BLOB columns `keys` are plain Uint8Arrays (SQLite hands back Buffers). */
export function withBlobs<R, K extends keyof R>(row: R, keys: readonly K[]): R {
  const out = { ...row };
  for (const key of keys) out[key] = blob(row[key]) as R[K];
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Channel rows (both kinds)

export type ChannelKind = 'read' | 'write';

export interface ReadRow {
  id: number;
  name: string;
  read_cap: Uint8Array;
  first_index: Uint8Array;
  next_index: Uint8Array;
  next_seq: number;
  /** The lease: "pid@host#token" of the process that has the channel open, or null. */
  owner: string | null;
}

/** A write channel's row: a read channel's, plus the write cap. */
export interface WriteRow extends ReadRow {
  write_cap: Uint8Array;
}

interface ChannelRows {
  read: ReadRow;
  write: WriteRow;
}

/** The row type of a channel kind. */
export type ChannelRow<K extends ChannelKind> = ChannelRows[K];

const TABLE = { read: 'read_channels', write: 'write_channels' } as const;

const BLOB_COLUMNS = {
  read: ['read_cap', 'first_index', 'next_index'],
  write: ['write_cap', 'read_cap', 'first_index', 'next_index'],
} as const;

/** The channel tables' names, for queries written out in the channel classes. */
export function channelTable(kind: ChannelKind): (typeof TABLE)[ChannelKind] {
  return TABLE[kind];
}

export function channelExists(store: PigeonholeStore, kind: ChannelKind, name: string): boolean {
  return store.db.prepare(`SELECT 1 FROM ${TABLE[kind]} WHERE name = ?`).get(name) !== undefined;
}

/** One channel row, looked up by name or by id, its blobs as plain Uint8Arrays. */
export function loadChannelRow<K extends ChannelKind>(
  store: PigeonholeStore,
  kind: K,
  key: { name: string } | { id: number },
): ChannelRows[K] | undefined {
  const [column, value] = 'name' in key ? ['name', key.name] : ['id', key.id];
  const row = store.db.prepare(`SELECT * FROM ${TABLE[kind]} WHERE ${column} = ?`).get(value) as
    | ChannelRows[K]
    | undefined;
  return row && withBlobs(row, BLOB_COLUMNS[kind] as readonly (keyof ChannelRows[K])[]);
}

/** The names of the channels of one kind in a store. */
export function channelNames(store: PigeonholeStore, kind: ChannelKind): string[] {
  return (store.db.prepare(`SELECT name FROM ${TABLE[kind]} ORDER BY name`).all() as { name: string }[]).map(
    (r) => r.name,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Leases

const HOST = hostname();

export function newOwner(): string {
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex');
  return `${process.pid}@${HOST}#${token}`;
}

/** True when `owner` names a process on this host that no longer exists. */
export function ownerIsDead(owner: string): boolean {
  const m = /^(\d+)@(.*)#[0-9a-f]+$/.exec(owner);
  if (!m || m[2] !== HOST) return false;
  const pid = Number(m[1]);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function takeLease(
  store: PigeonholeStore,
  kind: ChannelKind,
  id: number,
  name: string,
  current: string | null,
  owner: string,
  force: boolean,
): void {
  if (current !== null && !force && !ownerIsDead(current)) throw new ChannelBusyError(name, current);
  store.db.prepare(`UPDATE ${TABLE[kind]} SET owner = ? WHERE id = ?`).run(owner, id);
}

export function releaseLease(store: PigeonholeStore, kind: ChannelKind, id: number, owner: string): void {
  if (store.closed) return;
  store.db.prepare(`UPDATE ${TABLE[kind]} SET owner = NULL WHERE id = ? AND owner = ?`).run(id, owner);
}

/**
 * Stores a new channel under `name` (its next index at its first), leased to a new owner, in one
 * transaction (both channel kinds). `values` are the kind's key columns.
 */
export function insertStoredChannel<K extends ChannelKind>(
  store: PigeonholeStore,
  kind: K,
  name: string,
  values: { first_index: Uint8Array } & Record<string, Uint8Array>,
): { row: ChannelRows[K]; owner: string } {
  const owner = newOwner();
  const columns = Object.keys(values);
  const row = store.transaction(() => {
    if (channelExists(store, kind, name)) throw new ChannelExistsError(kind, name);
    const now = nowMs();
    store.db
      .prepare(
        `INSERT INTO ${TABLE[kind]} (name, ${columns.join(', ')}, next_index, owner, created_at, updated_at)
         VALUES (?, ${columns.map(() => '?').join(', ')}, ?, ?, ?, ?)`,
      )
      .run(name, ...Object.values(values), values.first_index, owner, now, now);
    return loadChannelRow(store, kind, { name })!;
  });
  return { row, owner };
}

/** Loads a stored channel by name and takes its lease, in one transaction (both channel kinds). */
export function openStoredChannel<K extends ChannelKind>(
  store: PigeonholeStore,
  kind: K,
  name: string,
  takeOverLease: boolean,
): { row: ChannelRows[K]; owner: string } {
  checkName(name);
  const owner = newOwner();
  const row = store.transaction(() => {
    const found = loadChannelRow(store, kind, { name });
    if (!found) throw new ChannelNotFoundError(kind, name);
    takeLease(store, kind, found.id, name, found.owner, owner, takeOverLease);
    return found;
  });
  return { row, owner };
}

// ---------------------------------------------------------------------------------------------------------

/** Resolves after `ms`, or rejects with `signal.reason` when the signal aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

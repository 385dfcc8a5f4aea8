/** The channels' rows in the store, their leases, and argument checks. */
import { hostname } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { ChannelBusyError, ChannelNotFoundError, checkBytes } from './channelTypes.js';

export { checkBytes };

import { blob, type PigeonholeStore } from './store.js';

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

export function findRow(
  store: PigeonholeStore,
  table: 'write_channels' | 'read_channels',
  name: string,
): boolean {
  return store.db.prepare(`SELECT 1 FROM ${table} WHERE name = ?`).get(name) !== undefined;
}

export function decodeWriteRow(row: WriteRow | undefined): WriteRow | undefined {
  if (!row) return undefined;
  return {
    ...row,
    write_cap: blob(row.write_cap),
    read_cap: blob(row.read_cap),
    first_index: blob(row.first_index),
    next_index: blob(row.next_index),
  };
}

export function loadWriteRow(store: PigeonholeStore, name: string): WriteRow | undefined {
  return decodeWriteRow(
    store.db.prepare('SELECT * FROM write_channels WHERE name = ?').get(name) as WriteRow,
  );
}

export function loadWriteRowById(store: PigeonholeStore, id: number): WriteRow | undefined {
  return decodeWriteRow(store.db.prepare('SELECT * FROM write_channels WHERE id = ?').get(id) as WriteRow);
}

export function loadReadRow(store: PigeonholeStore, name: string): ReadRow | undefined {
  const row = store.db.prepare('SELECT * FROM read_channels WHERE name = ?').get(name) as ReadRow | undefined;
  if (!row) return undefined;
  return {
    ...row,
    read_cap: blob(row.read_cap),
    first_index: blob(row.first_index),
    next_index: blob(row.next_index),
  };
}

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
  table: 'write_channels' | 'read_channels',
  id: number,
  name: string,
  current: string | null,
  owner: string,
  force: boolean,
): void {
  if (current !== null && !force && !ownerIsDead(current)) throw new ChannelBusyError(name, current);
  store.db.prepare(`UPDATE ${table} SET owner = ? WHERE id = ?`).run(owner, id);
}

export function releaseLease(
  store: PigeonholeStore,
  table: 'write_channels' | 'read_channels',
  id: number,
  owner: string,
): void {
  if (store.closed) return;
  store.db.prepare(`UPDATE ${table} SET owner = NULL WHERE id = ? AND owner = ?`).run(id, owner);
}

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

export interface WriteRow {
  id: number;
  name: string;
  write_cap: Uint8Array;
  read_cap: Uint8Array;
  first_index: Uint8Array;
  next_index: Uint8Array;
  next_seq: number;
  owner: string | null;
}

export interface ReadRow {
  id: number;
  name: string;
  read_cap: Uint8Array;
  first_index: Uint8Array;
  next_index: Uint8Array;
  next_seq: number;
  owner: string | null;
}

/** Loads a stored channel by name and takes its lease, in one transaction (both channel kinds). */
export function openStoredChannel<R extends { id: number; owner: string | null }>(
  store: PigeonholeStore,
  kind: 'read' | 'write',
  name: string,
  load: (store: PigeonholeStore, name: string) => R | undefined,
  takeOverLease: boolean,
): { row: R; owner: string } {
  checkName(name);
  const owner = newOwner();
  const table = kind === 'read' ? 'read_channels' : 'write_channels';
  const row = store.transaction(() => {
    const found = load(store, name);
    if (!found) throw new ChannelNotFoundError(kind, name);
    takeLease(store, table, found.id, name, found.owner, owner, takeOverLease);
    return found;
  });
  return { row, owner };
}

/** The names of the channels of one kind in a store. */
export function channelNames(store: PigeonholeStore, table: 'write_channels' | 'read_channels'): string[] {
  return (store.db.prepare(`SELECT name FROM ${table} ORDER BY name`).all() as { name: string }[]).map(
    (r) => r.name,
  );
}

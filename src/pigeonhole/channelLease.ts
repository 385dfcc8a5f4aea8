/**
 * ChannelLease: what an open channel of either kind does with its stored row while it holds the row's
 * lease: one operation at a time, the row's counters, the check that the lease is still ours, and its
 * release on close.
 */
import {
  type ChannelKind,
  type ChannelRow,
  channelTable,
  loadChannelRow,
  releaseLease,
} from './channelRows.js';
import { ChannelBusyError, ChannelNotFoundError } from './channelTypes.js';
import { blob, type PigeonholeStore, StoreError } from './store.js';

export class ChannelLease<K extends ChannelKind> {
  readonly store: PigeonholeStore;
  readonly id: number;
  readonly owner: string;
  readonly #kind: K;
  readonly #name: string;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(store: PigeonholeStore, kind: K, row: { id: number; name: string }, owner: string) {
    this.store = store;
    this.#kind = kind;
    this.id = row.id;
    this.#name = row.name;
    this.owner = owner;
  }

  /** The row as stored now; throws when it is gone or another process has taken the lease. */
  row(): ChannelRow<K> {
    const row = loadChannelRow(this.store, this.#kind, { id: this.id });
    if (!row) throw new ChannelNotFoundError(this.#kind, this.#name);
    if (row.owner !== this.owner) throw new ChannelBusyError(this.#name, row.owner ?? '(none)');
    return row;
  }

  /** The stored next index (read: the next message's first box; write: past the last message sent). */
  nextIndex(): Uint8Array {
    return blob(this.#column('next_index'));
  }

  /** The stored next sequence number: the count of messages so far. */
  nextSeq(): number {
    return this.#column('next_seq') as number;
  }

  /** Runs `fn` after every operation queued before it; rejects at once once the channel is closed. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`channel "${this.#name}" is closed`));
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Releases the lease; waits for an operation in progress to settle first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    releaseLease(this.store, this.#kind, this.id, this.owner);
  }

  #column(column: 'next_index' | 'next_seq'): unknown {
    const table = channelTable(this.#kind);
    const row = this.store.db.prepare(`SELECT ${column} AS value FROM ${table} WHERE id = ?`).get(this.id);
    return (row as { value: unknown }).value;
  }
}

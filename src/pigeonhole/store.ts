/**
 * The SQLite file that holds durable Pigeonhole state: channels (caps and indices), the write-ahead log of
 * outgoing messages, received messages and the offline envelope queue. One file may hold any number of
 * channels; several objects (WriteChannel, ReadChannel, OfflineEnvelopeStore) share one PigeonholeStore.
 *
 * Durability settings: WAL journal with `synchronous = FULL`, so a transaction that has returned is on
 * disk even across a power loss, not only across a process crash; a channel index is advanced only
 * inside such a transaction, before the promise that reports the message resolves.
 *
 * Migrations: `PRAGMA user_version` counts the migrations applied; each entry of MIGRATIONS runs once,
 * in its own transaction, in order. Entries are append-only: never edit one that has shipped. A file
 * written by a newer version (user_version above what this code knows) is refused rather than
 * misread, and so is an SQLite file that another application has stamped (`PRAGMA application_id`, or
 * a `user_version` without our id). An unstamped file is adopted: our tables are added next to its own.
 */
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ThinClientError } from '../errors.js';

/** `PRAGMA application_id` of our files: ASCII "KPph" (Katzenpost pigeonhole). */
export const APPLICATION_ID = 0x4b507068;

/**
 * The schema, one migration per entry. Sizes are checked in SQL as well as in code so that a corrupted
 * or hand-edited file fails loudly instead of handing a wrong-length cap to the daemon.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: channels, the outgoing write-ahead log, received messages.
  `
  CREATE TABLE write_channels (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    write_cap   BLOB    NOT NULL CHECK (length(write_cap) = 168),
    read_cap    BLOB    NOT NULL CHECK (length(read_cap) = 136),
    first_index BLOB    NOT NULL CHECK (length(first_index) = 104),
    -- The first box not covered by a message confirmed sent. Advanced only in the transaction that
    -- marks a message sent.
    next_index  BLOB    NOT NULL CHECK (length(next_index) = 104),
    -- Sequence number the next new message will get (messages are numbered 0, 1, 2, ... per channel).
    next_seq    INTEGER NOT NULL DEFAULT 0,
    -- Lease: "pid@host#token" of the process that has the channel open, or NULL.
    owner       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;

  -- Write-ahead log. A row is inserted (state 'pending', payload kept) before the first box is written,
  -- and turned into 'sent' (payload dropped) in the same transaction that advances next_index.
  CREATE TABLE outgoing_messages (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES write_channels(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent')),
    payload         BLOB,
    box_size        INTEGER NOT NULL CHECK (box_size >= 4),
    box_count       INTEGER NOT NULL CHECK (box_count >= 1),
    boxes_confirmed INTEGER NOT NULL DEFAULT 0,
    start_index     BLOB    NOT NULL CHECK (length(start_index) = 104),
    end_index       BLOB    NOT NULL CHECK (length(end_index) = 104),
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (channel_id, seq),
    CHECK ((state = 'pending') = (payload IS NOT NULL))
  ) STRICT;

  CREATE TABLE read_channels (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    read_cap    BLOB    NOT NULL CHECK (length(read_cap) = 136),
    first_index BLOB    NOT NULL CHECK (length(first_index) = 104),
    -- The first box of the next message to receive. Advanced only in the transaction that stores the
    -- received message.
    next_index  BLOB    NOT NULL CHECK (length(next_index) = 104),
    next_seq    INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE received_messages (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL REFERENCES read_channels(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    box_count   INTEGER NOT NULL CHECK (box_count >= 1),
    start_index BLOB    NOT NULL CHECK (length(start_index) = 104),
    end_index   BLOB    NOT NULL CHECK (length(end_index) = 104),
    received_at INTEGER NOT NULL,
    UNIQUE (channel_id, seq)
  ) STRICT;
  `,
  // 2: the offline envelope queue (./offlineStore.ts). Rows are kept in insertion order (seq); one file
  // may hold several named queues.
  `
  CREATE TABLE offline_envelopes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    -- StartResendingParams, CBOR-encoded with the wire codec (byte strings stay byte strings).
    params        BLOB    NOT NULL,
    envelope_hash BLOB    NOT NULL CHECK (length(envelope_hash) = 32),
    queued_at     INTEGER NOT NULL,
    UNIQUE (queue, id)
  ) STRICT;
  `,
];

/** The schema version this code writes: the number of migrations. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The store file cannot be used (newer schema, foreign file, a broken invariant). */
export class StoreError extends ThinClientError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_STORE', message, options);
  }
}

/** Options of `PigeonholeStore.open`. */
export interface OpenStoreOptions {
  /** How long to wait for another connection's write lock before failing (ms). Default 5000. */
  busyTimeoutMs?: number;
}

/** An open store file. Close it when done; channels opened on it must be closed first. */
export class PigeonholeStore {
  /** The file path the store was opened with (or `:memory:`). */
  readonly path: string;
  /** The better-sqlite3 handle, for the modules of this folder. */
  readonly db: Database.Database;
  #closed = false;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  /**
   * Opens (creating if needed) a store file and brings its schema up to date. `':memory:'` works too.
   * A new file is created readable by its owner only (0600): it holds write caps.
   *
   * @throws StoreError when the path is empty, the file cannot be opened, was written by a newer
   * version, or belongs to another application.
   * @example
   * ```ts
   * const store = PigeonholeStore.open('pigeonhole.db');
   * try {
   *   // WriteChannel.create(store, client, 'notes') …
   * } finally {
   *   store.close();
   * }
   * ```
   */
  static open(path: string, options: OpenStoreOptions = {}): PigeonholeStore {
    if (typeof path !== 'string' || path === '') {
      throw new StoreError('store path must be a non-empty string');
    }
    const fresh = path !== ':memory:' && !existsSync(path);
    let db: Database.Database;
    try {
      db = new Database(path);
      // The file holds write caps: readable by its owner only (SQLite gives -wal/-shm the same mode).
      if (fresh) chmodSync(path, 0o600);
    } catch (cause) {
      throw new StoreError(`cannot open ${path}: ${(cause as Error).message}`, { cause });
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      db.pragma('foreign_keys = ON');
      if (path !== ':memory:') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
    return new PigeonholeStore(path, db);
  }

  /** The schema version of the open file (SCHEMA_VERSION once opened by this code). */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `fn` in a write transaction taken at its start (BEGIN IMMEDIATE), so that a read-then-write
   * inside it cannot interleave with another process's. Nested calls join the outer transaction.
   */
  transaction<T>(fn: () => T): T {
    this.#assertOpen();
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn).immediate();
  }

  /** Closes the file; closing again does nothing. Close the channels opened on it first. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError(`store ${this.path} is closed`);
  }
}

function migrate(db: Database.Database, path: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new StoreError(
      `${path} is an SQLite file of another application (application_id 0x${appId.toString(16)})`,
    );
  }
  // A file without our application_id is adopted only if it has never been versioned: then it is new, or
  // an application database that wants our tables next to its own (e.g. a checkpoint table).
  if (appId === 0 && version !== 0) {
    throw new StoreError(
      `${path} is an SQLite file of another application (user_version ${version}, no pigeonhole application_id)`,
    );
  }
  if (version > MIGRATIONS.length) {
    throw new StoreError(
      `${path} has schema version ${version}; this version of the library knows up to ${MIGRATIONS.length}`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v += 1) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/** A BLOB column as a plain Uint8Array (better-sqlite3 returns Node Buffers). */
export function blob(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StoreError('expected a BLOB column');
  return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
}

/** Milliseconds since the epoch, for created_at/updated_at columns. */
export function nowMs(): number {
  return Date.now();
}

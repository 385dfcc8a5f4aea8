/**
 * A checkpoint store in an SQLite database (better-sqlite3), for applications that already keep their
 * state there. One table of key → blob; WAL journal with synchronous=FULL, so a committed put survives
 * a crash. better-sqlite3 is synchronous; the calls are short and wrapped as promises.
 */
import Database from 'better-sqlite3';
import { type CheckpointStore, checkKey } from './checkpoint.js';

/** Options of the SqliteCheckpointStore constructor. */
export interface SqliteCheckpointStoreOptions {
  /** Table name (letters, digits, `_`). Default `pigeonhole_checkpoints`. */
  table?: string;
}

/**
 * A CheckpointStore in an SQLite table (better-sqlite3): in its own file, or in a database the application
 * already has.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #put: Database.Statement<[string, Uint8Array, number]>;
  readonly #get: Database.Statement<[string], { value: Uint8Array }>;
  readonly #delete: Database.Statement<[string]>;
  readonly #keys: Database.Statement<[], { key: string }>;

  /** `database`: a file path (opened and owned by the store) or an open better-sqlite3 handle. */
  constructor(database: string | Database.Database, options: SqliteCheckpointStoreOptions = {}) {
    const table = options.table ?? 'pigeonhole_checkpoints';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(table)) throw new RangeError(`invalid table name ${table}`);
    this.#ownsDb = typeof database === 'string';
    this.#db = typeof database === 'string' ? new Database(database) : database;
    if (this.#ownsDb) {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
    }
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, value BLOB NOT NULL, updated_at INTEGER NOT NULL)`,
    );
    this.#put = this.#db.prepare(
      `INSERT INTO ${table} (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#get = this.#db.prepare(`SELECT value FROM ${table} WHERE key = ?`);
    this.#delete = this.#db.prepare(`DELETE FROM ${table} WHERE key = ?`);
    this.#keys = this.#db.prepare(`SELECT key FROM ${table} ORDER BY key`);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.#put.run(checkKey(key), value, Date.now());
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const row = this.#get.get(checkKey(key));
    if (row === undefined) return undefined;
    const v = row.value;
    return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  }

  async delete(key: string): Promise<void> {
    this.#delete.run(checkKey(key));
  }

  async keys(): Promise<string[]> {
    return this.#keys.all().map((r) => r.key);
  }

  /** Closes the database if the store opened it. */
  close(): void {
    if (this.#ownsDb && this.#db.open) this.#db.close();
  }
}

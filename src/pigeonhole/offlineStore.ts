/**
 * A durable OfflineQueueStorage (src/offlineQueue.ts) in the PigeonholeStore file: envelopes prepared
 * while offline (encryptWrite / encryptRead / tombstoneRange are local crypto) survive a restart and are
 * sent by the OfflineQueue once the daemon reports a mixnet connection.
 *
 * ```ts
 * const store = PigeonholeStore.open('app.db');
 * const queue = new OfflineQueue(client, { storage: new SqliteOfflineStorage(store) });
 * const w = await client.encryptWrite(plaintext, writeCap, index);       // works offline
 * await queue.enqueue({ writeCap, ...w });                               // durable when this resolves
 * ```
 *
 * The interface fits as it is; no adapter is needed. Each item's StartResendingParams are stored
 * CBOR-encoded with the wire codec (never JSON: byte strings must stay byte strings). `put` commits
 * before it returns (synchronous = FULL), so an `enqueue` that resolved survives a crash. An item put
 * again under the same id keeps its place in the queue.
 *
 * Two properties of the envelopes themselves matter for how long they may wait:
 * - An envelope is bound to the replica epoch it was made in (one week); a courier refuses one outside
 *   the current epoch ± 1, so a queue should not sit for more than about a week.
 * - The params hold the write cap (for writes) and the envelope descriptor holds the MKEM ephemeral
 *   private key. The store file is created readable by its owner only; encrypt the disk if that is not
 *   enough.
 */
import type { StartResendingParams } from '../client.js';
import { InvalidArgumentError } from '../errors.js';
import type { OfflineQueueStorage, QueuedEnvelope } from '../offlineQueue.js';
import { decodeCbor, encodeCbor } from '../wire/codec.js';
import { blob, type PigeonholeStore, StoreError } from './store.js';

/**
 * A durable OfflineQueueStorage in a PigeonholeStore file: queued envelopes survive a restart (see the module
 * comment for how long they may wait).
 *
 * @example
 * ```ts
 * const queue = new OfflineQueue(client, { storage: new SqliteOfflineStorage(PigeonholeStore.open('app.db')) });
 * ```
 */
export class SqliteOfflineStorage implements OfflineQueueStorage {
  /** The queue's name inside the store file. */
  readonly queue: string;
  readonly #store: PigeonholeStore;

  /** `queue` names this queue inside the file (several queues may share one store). */
  constructor(store: PigeonholeStore, queue = 'default') {
    if (typeof queue !== 'string' || queue === '') {
      throw new InvalidArgumentError('queue', 'must be a non-empty string');
    }
    this.#store = store;
    this.queue = queue;
  }

  load(): QueuedEnvelope[] {
    const rows = this.#store.db
      .prepare('SELECT id, params, queued_at FROM offline_envelopes WHERE queue = ? ORDER BY seq')
      .all(this.queue) as { id: string; params: Uint8Array; queued_at: number }[];
    return rows.map((r) => ({ id: r.id, params: decodeParams(blob(r.params), r.id), queuedAt: r.queued_at }));
  }

  put(item: QueuedEnvelope): void {
    if (typeof item?.id !== 'string' || item.id === '') {
      throw new InvalidArgumentError('item.id', 'must be a non-empty string');
    }
    const hash = item.params?.envelopeHash;
    if (!(hash instanceof Uint8Array) || hash.length !== 32) {
      throw new InvalidArgumentError('item.params.envelopeHash', 'expected 32 bytes');
    }
    this.#store.db
      .prepare(
        `INSERT INTO offline_envelopes (queue, id, params, envelope_hash, queued_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (queue, id) DO UPDATE SET params = excluded.params, envelope_hash = excluded.envelope_hash,
           queued_at = excluded.queued_at`,
      )
      .run(this.queue, item.id, encodeCbor(item.params), hash, Math.trunc(item.queuedAt));
  }

  delete(id: string): void {
    this.#store.db.prepare('DELETE FROM offline_envelopes WHERE queue = ? AND id = ?').run(this.queue, id);
  }

  /** How many envelopes wait in this queue. */
  size(): number {
    return (
      this.#store.db
        .prepare('SELECT count(*) AS n FROM offline_envelopes WHERE queue = ?')
        .get(this.queue) as {
        n: number;
      }
    ).n;
  }
}

function decodeParams(bytes: Uint8Array, id: string): StartResendingParams {
  const value = decodeCbor(bytes);
  if (
    typeof value !== 'object' ||
    value === null ||
    !((value as StartResendingParams).envelopeHash instanceof Uint8Array)
  ) {
    throw new StoreError(`offline envelope ${id} does not hold StartResendingParams`);
  }
  return value as StartResendingParams;
}

/** WriteChannel: a durable outgoing stream of framed messages (the design is in channels.ts). */
import {
  indexCounter,
  MESSAGE_BOX_INDEX_SIZE,
  nextIndex,
  READ_CAP_SIZE,
  WRITE_CAP_SIZE,
} from '../crypto/bacap.js';
import { BoxAlreadyExistsError, InvalidArgumentError, NotConnectedError, ProtocolError } from '../errors.js';
import { ChannelLease } from './channelLease.js';
import {
  channelExists,
  channelNames,
  checkBytes,
  checkName,
  equalBytes,
  insertStoredChannel,
  openStoredChannel,
  type WriteRow,
  withBlobs,
} from './channelRows.js';
import {
  type ChannelClient,
  ChannelExistsError,
  type ChannelShare,
  type CreateWriteChannelOptions,
  type FlushOptions,
  type PendingMessage,
  type SendOptions,
  type SentMessage,
  type TransferProgress,
  type WriteChannelOptions,
  type WriteChannelTestHooks,
} from './channelTypes.js';
import { chunkPayload, framedBoxCount } from './framing.js';
import { blob, nowMs, type PigeonholeStore, StoreError } from './store.js';

// ---------------------------------------------------------------------------------------------------------
// WriteChannel

interface OutgoingRow {
  id: number;
  seq: number;
  payload: Uint8Array;
  box_size: number;
  box_count: number;
  boxes_confirmed: number;
  start_index: Uint8Array;
  end_index: Uint8Array;
}

/**
 * A stream this process writes to. Obtain one with `WriteChannel.create` or `WriteChannel.open`.
 *
 * @example
 * ```ts
 * import { PigeonholeStore, WriteChannel, encodeChannelShare } from 'katzenpost-thin-client/sqlite';
 *
 * const store = PigeonholeStore.open('alice.db');
 * const out = await WriteChannel.create(store, client, 'to-bob');
 * const share = encodeChannelShare(out.share()); // hand this string to the reader
 * await out.send(new TextEncoder().encode('hello Bob'));
 * await out.close();
 * ```
 */
export class WriteChannel {
  /** The name the channel is stored under. */
  readonly name: string;
  /** The channel's write cap (168 bytes). Secret. */
  readonly writeCap: Uint8Array;
  /** The channel's read cap (136 bytes). */
  readonly readCap: Uint8Array;
  /** The index of the channel's first box (104 bytes). */
  readonly firstIndex: Uint8Array;
  readonly #lease: ChannelLease<'write'>;
  readonly #client: ChannelClient;
  readonly #confirmWrites: boolean;
  readonly #hooks: WriteChannelTestHooks;

  private constructor(
    store: PigeonholeStore,
    client: ChannelClient,
    row: WriteRow,
    owner: string,
    options: WriteChannelOptions,
  ) {
    this.#lease = new ChannelLease(store, 'write', row, owner);
    this.#client = client;
    this.name = row.name;
    this.writeCap = row.write_cap;
    this.readCap = row.read_cap;
    this.firstIndex = row.first_index;
    this.#confirmWrites = options.confirmWrites ?? true;
    this.#hooks = options.testHooks ?? {};
  }

  /**
   * Makes a new channel (newKeypair; no network traffic) and stores it under `name`.
   *
   * @throws ChannelExistsError when a write channel of that name is stored already.
   * @throws InvalidArgumentError when `name` is empty or `seed` is not 32 bytes.
   */
  static async create(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    options: CreateWriteChannelOptions = {},
  ): Promise<WriteChannel> {
    checkName(name);
    const seed = options.seed ?? crypto.getRandomValues(new Uint8Array(32));
    checkBytes(seed, 32, 'seed');
    if (channelExists(store, 'write', name)) throw new ChannelExistsError('write', name);
    const kp = await client.newKeypair(seed);
    checkBytes(kp.writeCap, WRITE_CAP_SIZE, 'writeCap');
    checkBytes(kp.readCap, READ_CAP_SIZE, 'readCap');
    checkBytes(kp.firstMessageIndex, MESSAGE_BOX_INDEX_SIZE, 'firstMessageIndex');
    const { row, owner } = insertStoredChannel(store, 'write', name, {
      write_cap: kp.writeCap,
      read_cap: kp.readCap,
      first_index: kp.firstMessageIndex,
    });
    return new WriteChannel(store, client, row, owner, options);
  }

  /**
   * Opens a stored channel. Pending messages stay pending until `flush()` or the next `send()`.
   *
   * @throws ChannelNotFoundError when no write channel of that name is stored.
   * @throws ChannelBusyError when another live process (or object) holds its lease, unless `takeOverLease`.
   */
  static open(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    options: WriteChannelOptions = {},
  ): WriteChannel {
    const { row, owner } = openStoredChannel(store, 'write', name, options.takeOverLease ?? false);
    return new WriteChannel(store, client, row, owner, options);
  }

  /** Names of the write channels in a store. */
  static list(store: PigeonholeStore): string[] {
    return channelNames(store, 'write');
  }

  /** The index the next new message will start at, once every pending message is sent. */
  get nextIndex(): Uint8Array {
    return this.#lease.nextIndex();
  }

  /** Messages accepted so far (sent or pending); the next message gets this seq. */
  get messageCount(): number {
    return this.#lease.nextSeq();
  }

  /** What a reader needs, starting at the channel's first message (or at `fromIndex`). */
  share(fromIndex: Uint8Array = this.firstIndex): ChannelShare {
    checkBytes(fromIndex, MESSAGE_BOX_INDEX_SIZE, 'fromIndex');
    return { readCap: this.readCap.slice(), firstIndex: fromIndex.slice() };
  }

  /** Messages in the write-ahead log, oldest first. */
  pending(): PendingMessage[] {
    return this.#pendingRows().map((r) => ({
      seq: r.seq,
      length: r.payload.length,
      boxCount: r.box_count,
      boxesConfirmed: r.boxes_confirmed,
      startIndex: r.start_index,
      endIndex: r.end_index,
    }));
  }

  /**
   * Appends `message` to the channel and delivers it, after any older pending message. Resolves once it
   * is confirmed and the channel's index has durably moved past it.
   *
   * The message is durable from the moment it is recorded, before the first box is written. If delivery
   * fails (offline, abort, daemon error) this rejects but the message STAYS in the write-ahead log, and
   * the next `send()` or `flush()` delivers it; do not send it again.
   *
   * @throws NotConnectedError when the Pigeonhole geometry is not known yet (no daemon status).
   * @throws BoxAlreadyExistsError when a box of the channel already holds a different message.
   * @throws InvalidArgumentError when `message` is not a Uint8Array.
   */
  send(message: Uint8Array, options: SendOptions = {}): Promise<SentMessage> {
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(new InvalidArgumentError('message', 'must be a Uint8Array'));
    }
    const copy = message.slice();
    return this.#lease.exclusive(async () => {
      const boxSize = this.#boxSize();
      const seq = this.#record(copy, boxSize);
      this.#hooks.afterMessageRecorded?.({ seq });
      let sent: SentMessage | undefined;
      for (const row of this.#pendingRows()) {
        const onProgress = row.seq === seq ? options.onProgress : undefined;
        const result = await this.#deliver(row, options.signal, onProgress);
        if (row.seq === seq) sent = result;
      }
      if (!sent) throw new StoreError(`channel "${this.name}": message ${seq} vanished from the log`);
      return sent;
    });
  }

  /** Delivers every pending message, oldest first; resolves with those it sent. */
  flush(options: FlushOptions = {}): Promise<SentMessage[]> {
    return this.#lease.exclusive(async () => {
      const out: SentMessage[] = [];
      for (const row of this.#pendingRows()) {
        const onProgress = options.onProgress
          ? (p: TransferProgress) => options.onProgress?.({ ...p, seq: row.seq })
          : undefined;
        out.push(await this.#deliver(row, options.signal, onProgress));
      }
      return out;
    });
  }

  /** Releases the lease; waits for an operation in progress to settle first. */
  close(): Promise<void> {
    return this.#lease.close();
  }

  #boxSize(): number {
    const geometry = this.#client.pigeonholeGeometry;
    if (!geometry) {
      throw new NotConnectedError('the pigeonhole geometry is unknown until the daemon has sent its status');
    }
    return geometry.maxPlaintextPayloadLength;
  }

  /** Step 1: the write-ahead record. Returns the message's seq. */
  #record(message: Uint8Array, boxSize: number): number {
    const boxCount = framedBoxCount(message.length, boxSize);
    const { store, id } = this.#lease;
    return store.transaction(() => {
      const ch = this.#lease.row();
      const last = store.db
        .prepare(
          `SELECT end_index FROM outgoing_messages WHERE channel_id = ? AND state = 'pending'
           ORDER BY seq DESC LIMIT 1`,
        )
        .get(id) as { end_index: Uint8Array } | undefined;
      const start = last ? blob(last.end_index) : ch.next_index;
      let end = start;
      for (let i = 0; i < boxCount; i += 1) end = nextIndex(end);
      store.db
        .prepare(
          `INSERT INTO outgoing_messages
             (channel_id, seq, state, payload, box_size, box_count, start_index, end_index, created_at)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, ch.next_seq, message, boxSize, boxCount, start, end, nowMs());
      store.db
        .prepare('UPDATE write_channels SET next_seq = next_seq + 1, updated_at = ? WHERE id = ?')
        .run(nowMs(), id);
      return ch.next_seq;
    });
  }

  /** Steps 2 and 3 for one pending row. */
  async #deliver(
    row: OutgoingRow,
    signal: AbortSignal | undefined,
    onProgress: ((p: TransferProgress) => void) | undefined,
  ): Promise<SentMessage> {
    const boxes = chunkPayload(row.payload, row.box_size);
    if (boxes.length !== row.box_count) {
      throw new StoreError(
        `channel "${this.name}": message ${row.seq} should span ${row.box_count} boxes, its payload gives ${boxes.length}`,
      );
    }
    const payloadBytesUpTo = (n: number) => Math.max(0, Math.min(row.payload.length, n * row.box_size - 4));
    const report = (done: number) =>
      onProgress?.({
        boxesDone: done,
        boxesTotal: row.box_count,
        bytesDone: payloadBytesUpTo(done),
        bytesTotal: row.payload.length,
      });
    let index = row.start_index;
    for (let i = 0; i < row.boxes_confirmed; i += 1) index = nextIndex(index);
    report(row.boxes_confirmed);
    for (let i = row.boxes_confirmed; i < row.box_count; i += 1) {
      signal?.throwIfAborted();
      const expectedNext = nextIndex(index);
      const w = await this.#client.encryptWrite(boxes[i]!, this.writeCap, index);
      if (!equalBytes(w.nextMessageBoxIndex, expectedNext)) {
        throw new ProtocolError(
          `encryptWrite at index ${indexCounter(index)} returned a next index that is not the BACAP successor`,
        );
      }
      try {
        await this.#client.startResendingEncryptedMessage(
          {
            writeCap: this.writeCap,
            envelopeDescriptor: w.envelopeDescriptor,
            messageCiphertext: w.messageCiphertext,
            envelopeHash: w.envelopeHash,
            noIdempotentBoxAlreadyExists: this.#confirmWrites,
          },
          { signal },
        );
      } catch (err) {
        if (err instanceof BoxAlreadyExistsError) {
          throw new BoxAlreadyExistsError(
            `channel "${this.name}": box ${indexCounter(index)} already holds different content; ` +
              `message ${row.seq} stays pending and the channel cannot advance past it`,
            { cause: err },
          );
        }
        throw err;
      }
      this.#hooks.afterBoxConfirmed?.({ seq: row.seq, box: i, boxCount: row.box_count });
      index = expectedNext;
      if (i + 1 < row.box_count) {
        // Progress only: re-sending a confirmed box would be harmless, this just saves the round trips.
        this.#lease.store.db
          .prepare('UPDATE outgoing_messages SET boxes_confirmed = ? WHERE id = ? AND boxes_confirmed < ?')
          .run(i + 1, row.id, i + 1);
      }
      report(i + 1);
    }
    if (!equalBytes(index, row.end_index)) {
      throw new StoreError(`channel "${this.name}": message ${row.seq} ends at an unexpected index`);
    }
    this.#hooks.afterMessageConfirmed?.({ seq: row.seq });
    // Step 3: mark sent and advance the index, atomically.
    const { store, id, owner } = this.#lease;
    store.transaction(() => {
      const now = nowMs();
      const advanced = store.db
        .prepare(
          'UPDATE write_channels SET next_index = ?, updated_at = ? WHERE id = ? AND next_index = ? AND owner = ?',
        )
        .run(row.end_index, now, id, row.start_index, owner);
      const marked = store.db
        .prepare(
          `UPDATE outgoing_messages SET state = 'sent', payload = NULL, boxes_confirmed = box_count, sent_at = ?
           WHERE id = ? AND state = 'pending'`,
        )
        .run(now, row.id);
      if (advanced.changes !== 1 || marked.changes !== 1) {
        throw new StoreError(
          `channel "${this.name}": message ${row.seq} is not the next message of the channel; nothing was marked sent`,
        );
      }
    });
    return { seq: row.seq, boxCount: row.box_count, startIndex: row.start_index, nextIndex: row.end_index };
  }

  #pendingRows(): OutgoingRow[] {
    const rows = this.#lease.store.db
      .prepare(
        `SELECT id, seq, payload, box_size, box_count, boxes_confirmed, start_index, end_index
         FROM outgoing_messages WHERE channel_id = ? AND state = 'pending' ORDER BY seq`,
      )
      .all(this.#lease.id) as OutgoingRow[];
    return rows.map((r) => withBlobs(r, ['payload', 'start_index', 'end_index']));
  }
}

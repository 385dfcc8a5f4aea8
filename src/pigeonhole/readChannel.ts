/** ReadChannel: a durable incoming stream of framed messages (the design is in channels.ts). */
import { indexCounter, MESSAGE_BOX_INDEX_SIZE, nextIndex, READ_CAP_SIZE } from '../crypto/bacap.js';
import { BoxIdNotFoundError, isExpectedOutcome, TombstoneError } from '../errors.js';
import {
  channelNames,
  checkBytes,
  checkDelay,
  checkName,
  findRow,
  loadReadRow,
  newOwner,
  openStoredChannel,
  type ReadRow,
  releaseLease,
  sleep,
} from './channelRows.js';
import {
  ChannelBusyError,
  type ChannelClient,
  ChannelExistsError,
  ChannelNotFoundError,
  type ChannelShare,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_RECEIVE_TIMEOUT_MS,
  type ReadChannelOptions,
  type ReceivedMessage,
  type ReceiveOptions,
} from './channelTypes.js';
import { FrameReassembler } from './framing.js';
import { blob, nowMs, type PigeonholeStore, StoreError } from './store.js';

// ---------------------------------------------------------------------------------------------------------
// ReadChannel

/** A stream this process reads. Obtain one with `ReadChannel.create` (from a share) or `ReadChannel.open`. */
export class ReadChannel {
  readonly name: string;
  readonly readCap: Uint8Array;
  readonly firstIndex: Uint8Array;
  readonly #store: PigeonholeStore;
  readonly #client: ChannelClient;
  readonly #id: number;
  readonly #owner: string;
  readonly #pollIntervalMs: number;
  readonly #maxPayloadLength: number;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    store: PigeonholeStore,
    client: ChannelClient,
    row: ReadRow,
    owner: string,
    options: ReadChannelOptions,
  ) {
    this.#store = store;
    this.#client = client;
    this.#id = row.id;
    this.#owner = owner;
    this.name = row.name;
    this.readCap = row.read_cap;
    this.firstIndex = row.first_index;
    this.#pollIntervalMs = checkDelay(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, 'pollIntervalMs');
    this.#maxPayloadLength = options.maxPayloadLength ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Stores a channel someone shared (`WriteChannel.share()`, `decodeChannelShare`) under `name`. */
  static create(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    share: ChannelShare,
    options: ReadChannelOptions = {},
  ): ReadChannel {
    checkName(name);
    checkBytes(share?.readCap, READ_CAP_SIZE, 'readCap');
    checkBytes(share.firstIndex, MESSAGE_BOX_INDEX_SIZE, 'firstIndex');
    const owner = newOwner();
    const row = store.transaction(() => {
      if (findRow(store, 'read_channels', name)) throw new ChannelExistsError('read', name);
      const now = nowMs();
      store.db
        .prepare(
          `INSERT INTO read_channels (name, read_cap, first_index, next_index, owner, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(name, share.readCap, share.firstIndex, share.firstIndex, owner, now, now);
      return loadReadRow(store, name)!;
    });
    return new ReadChannel(store, client, row, owner, options);
  }

  static open(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    options: ReadChannelOptions = {},
  ): ReadChannel {
    const { row, owner } = openStoredChannel(
      store,
      'read',
      name,
      loadReadRow,
      options.takeOverLease ?? false,
    );
    return new ReadChannel(store, client, row, owner, options);
  }

  static list(store: PigeonholeStore): string[] {
    return channelNames(store, 'read_channels');
  }

  /** The index of the first box of the next message to receive. */
  get nextIndex(): Uint8Array {
    return blob(
      (this.#store.db.prepare('SELECT next_index FROM read_channels WHERE id = ?').get(this.#id) as ReadRow)
        .next_index,
    );
  }

  /**
   * Reads the next message, waiting (bounded) for boxes not written yet. Resolves once the message is
   * stored and the channel's index has durably moved past it. Rejects with TombstoneError when a box of
   * it was deleted, with BoxIdNotFoundError when a box stays absent for `timeoutMs`, or with
   * `signal.reason`; the index does not move in any of these cases.
   */
  receive(options: ReceiveOptions = {}): Promise<ReceivedMessage> {
    let timeoutMs: number;
    let pollIntervalMs: number;
    try {
      timeoutMs = checkDelay(options.timeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS, 'timeoutMs');
      pollIntervalMs = checkDelay(options.pollIntervalMs ?? this.#pollIntervalMs, 'pollIntervalMs');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#exclusive(async () => {
      const ch = this.#row();
      const geometry = this.#client.pigeonholeGeometry;
      const assembler = new FrameReassembler({
        maxPayloadLength: options.maxPayloadLength ?? this.#maxPayloadLength,
        ...(geometry ? { maxPlaintextPayloadLength: geometry.maxPlaintextPayloadLength } : {}),
      });
      let index = ch.next_index;
      options.onProgress?.({ boxesDone: 0, boxesTotal: undefined, bytesDone: 0, bytesTotal: undefined });
      for (;;) {
        const plaintext = await this.#readBox(index, timeoutMs, pollIntervalMs, options.signal);
        if (plaintext.length === 0) {
          throw new TombstoneError(
            `channel "${this.name}": box ${indexCounter(index)} is empty (tombstoned)`,
          );
        }
        const done = assembler.push(plaintext);
        index = nextIndex(index);
        options.onProgress?.({
          boxesDone: assembler.boxesReceived,
          boxesTotal: assembler.boxesExpected,
          bytesDone: Math.max(0, assembler.bytesReceived - 4),
          bytesTotal: assembler.payloadLength,
        });
        if (done) break;
      }
      const payload = assembler.payload();
      const receivedAt = nowMs();
      this.#store.transaction(() => {
        const advanced = this.#store.db
          .prepare(
            `UPDATE read_channels SET next_index = ?, next_seq = next_seq + 1, updated_at = ?
             WHERE id = ? AND next_index = ? AND next_seq = ? AND owner = ?`,
          )
          .run(index, receivedAt, this.#id, ch.next_index, ch.next_seq, this.#owner);
        if (advanced.changes !== 1) {
          throw new StoreError(`channel "${this.name}": its index moved while a message was being read`);
        }
        this.#store.db
          .prepare(
            `INSERT INTO received_messages (channel_id, seq, payload, box_count, start_index, end_index, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(this.#id, ch.next_seq, payload, assembler.boxesReceived, ch.next_index, index, receivedAt);
      });
      return {
        seq: ch.next_seq,
        payload,
        boxCount: assembler.boxesReceived,
        startIndex: ch.next_index,
        nextIndex: index,
        receivedAt: new Date(receivedAt),
      };
    });
  }

  /** Messages received so far (the next message gets this seq). */
  get messageCount(): number {
    return (
      this.#store.db.prepare('SELECT next_seq FROM read_channels WHERE id = ?').get(this.#id) as {
        next_seq: number;
      }
    ).next_seq;
  }

  /** Received messages kept in the store, oldest first. */
  messages(): ReceivedMessage[] {
    const rows = this.#store.db
      .prepare(
        `SELECT seq, payload, box_count, start_index, end_index, received_at FROM received_messages
         WHERE channel_id = ? ORDER BY seq`,
      )
      .all(this.#id) as {
      seq: number;
      payload: Uint8Array;
      box_count: number;
      start_index: Uint8Array;
      end_index: Uint8Array;
      received_at: number;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      payload: blob(r.payload),
      boxCount: r.box_count,
      startIndex: blob(r.start_index),
      nextIndex: blob(r.end_index),
      receivedAt: new Date(r.received_at),
    }));
  }

  /** Deletes stored received messages up to and including `seq` (the index is unaffected). */
  forgetMessages(throughSeq: number): number {
    return this.#store.db
      .prepare('DELETE FROM received_messages WHERE channel_id = ? AND seq <= ?')
      .run(this.#id, throughSeq).changes;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    releaseLease(this.#store, 'read_channels', this.#id, this.#owner);
  }

  /** One box, polling while it is absent. */
  async #readBox(
    index: Uint8Array,
    timeoutMs: number,
    pollIntervalMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const started = performance.now();
    for (;;) {
      signal?.throwIfAborted();
      // A fresh envelope per attempt: re-sending the old one would be answered from the courier's cache.
      const r = await this.#client.encryptRead(this.readCap, index);
      try {
        const res = await this.#client.startResendingEncryptedMessage(
          {
            readCap: this.readCap,
            messageBoxIndex: index,
            envelopeDescriptor: r.envelopeDescriptor,
            messageCiphertext: r.messageCiphertext,
            envelopeHash: r.envelopeHash,
            noRetryOnBoxIdNotFound: true,
          },
          { signal },
        );
        return res.plaintext;
      } catch (err) {
        if (!isExpectedOutcome(err)) throw err;
        if (err instanceof TombstoneError) {
          throw new TombstoneError(`channel "${this.name}": box ${indexCounter(index)} is tombstoned`, {
            cause: err,
          });
        }
        if (!(err instanceof BoxIdNotFoundError)) throw err;
        const waited = performance.now() - started;
        if (waited >= timeoutMs || waited + pollIntervalMs > timeoutMs) {
          throw new BoxIdNotFoundError(
            `channel "${this.name}": box ${indexCounter(index)} not written yet (gave up after ${timeoutMs} ms)`,
            { cause: err },
          );
        }
        await sleep(pollIntervalMs, signal);
      }
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`channel "${this.name}" is closed`));
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #row(): ReadRow {
    const row = this.#store.db.prepare('SELECT * FROM read_channels WHERE id = ?').get(this.#id) as
      | ReadRow
      | undefined;
    if (!row) throw new ChannelNotFoundError('read', this.name);
    if (row.owner !== this.#owner) throw new ChannelBusyError(this.name, row.owner ?? '(none)');
    return {
      ...row,
      read_cap: blob(row.read_cap),
      first_index: blob(row.first_index),
      next_index: blob(row.next_index),
    };
  }
}

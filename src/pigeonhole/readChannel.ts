/** ReadChannel: a durable incoming stream of framed messages (the design is in channels.ts). */
import { indexCounter, MESSAGE_BOX_INDEX_SIZE, nextIndex, READ_CAP_SIZE } from '../crypto/bacap.js';
import { BoxIdNotFoundError, isExpectedOutcome, TombstoneError } from '../errors.js';
import { ChannelLease } from './channelLease.js';
import {
  channelNames,
  checkBytes,
  checkDelay,
  checkName,
  insertStoredChannel,
  openStoredChannel,
  type ReadRow,
  sleep,
} from './channelRows.js';
import {
  type ChannelClient,
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

/**
 * A stream this process reads. Obtain one with `ReadChannel.create` (from a share) or `ReadChannel.open`.
 *
 * @example
 * ```ts
 * import { PigeonholeStore, ReadChannel, decodeChannelShare } from 'katzenpost-thin-client/sqlite';
 *
 * const store = PigeonholeStore.open('bob.db');
 * const inbox = ReadChannel.create(store, client, 'from-alice', decodeChannelShare(share));
 * const { payload } = await inbox.receive({ timeoutMs: 60_000 });
 * ```
 */
export class ReadChannel {
  /** The name the channel is stored under. */
  readonly name: string;
  /** The channel's read cap (136 bytes). */
  readonly readCap: Uint8Array;
  /** The index of the channel's first box (104 bytes). */
  readonly firstIndex: Uint8Array;
  readonly #lease: ChannelLease<'read'>;
  readonly #client: ChannelClient;
  readonly #pollIntervalMs: number;
  readonly #maxPayloadLength: number;

  private constructor(
    store: PigeonholeStore,
    client: ChannelClient,
    row: ReadRow,
    owner: string,
    options: ReadChannelOptions,
  ) {
    this.#lease = new ChannelLease(store, 'read', row, owner);
    this.#client = client;
    this.name = row.name;
    this.readCap = row.read_cap;
    this.firstIndex = row.first_index;
    this.#pollIntervalMs = checkDelay(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, 'pollIntervalMs');
    this.#maxPayloadLength = options.maxPayloadLength ?? DEFAULT_MAX_PAYLOAD;
  }

  /**
   * Stores a channel someone shared (`WriteChannel.share()`, `decodeChannelShare`) under `name`.
   *
   * @throws ChannelExistsError when a read channel of that name is stored already.
   * @throws InvalidArgumentError when `name` is empty or the share's caps have the wrong length.
   */
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
    const { row, owner } = insertStoredChannel(store, 'read', name, {
      read_cap: share.readCap,
      first_index: share.firstIndex,
    });
    return new ReadChannel(store, client, row, owner, options);
  }

  /**
   * Opens a stored read channel; it continues from the message after the last one received.
   *
   * @throws ChannelNotFoundError when no read channel of that name is stored.
   * @throws ChannelBusyError when another live process (or object) holds its lease, unless `takeOverLease`.
   */
  static open(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    options: ReadChannelOptions = {},
  ): ReadChannel {
    const { row, owner } = openStoredChannel(store, 'read', name, options.takeOverLease ?? false);
    return new ReadChannel(store, client, row, owner, options);
  }

  /** Names of the read channels in a store. */
  static list(store: PigeonholeStore): string[] {
    return channelNames(store, 'read');
  }

  /** The index of the first box of the next message to receive. */
  get nextIndex(): Uint8Array {
    return this.#lease.nextIndex();
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
    return this.#lease.exclusive(async () => {
      const ch = this.#lease.row();
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
      const { store, id, owner } = this.#lease;
      store.transaction(() => {
        const advanced = store.db
          .prepare(
            `UPDATE read_channels SET next_index = ?, next_seq = next_seq + 1, updated_at = ?
             WHERE id = ? AND next_index = ? AND next_seq = ? AND owner = ?`,
          )
          .run(index, receivedAt, id, ch.next_index, ch.next_seq, owner);
        if (advanced.changes !== 1) {
          throw new StoreError(`channel "${this.name}": its index moved while a message was being read`);
        }
        store.db
          .prepare(
            `INSERT INTO received_messages (channel_id, seq, payload, box_count, start_index, end_index, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, ch.next_seq, payload, assembler.boxesReceived, ch.next_index, index, receivedAt);
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
    return this.#lease.nextSeq();
  }

  /** Received messages kept in the store, oldest first. */
  messages(): ReceivedMessage[] {
    const rows = this.#lease.store.db
      .prepare(
        `SELECT seq, payload, box_count, start_index, end_index, received_at FROM received_messages
         WHERE channel_id = ? ORDER BY seq`,
      )
      .all(this.#lease.id) as {
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
    return this.#lease.store.db
      .prepare('DELETE FROM received_messages WHERE channel_id = ? AND seq <= ?')
      .run(this.#lease.id, throughSeq).changes;
  }

  /** Releases the lease; waits for a receive in progress to settle first. */
  close(): Promise<void> {
    return this.#lease.close();
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
}

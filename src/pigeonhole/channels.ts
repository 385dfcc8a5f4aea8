/**
 * Durable Pigeonhole channels on SQLite: a WriteChannel appends messages to a stream it owns, a
 * ReadChannel consumes a stream someone shared with it. Both keep their caps and their next index in a
 * PigeonholeStore file, so a process can stop at any instant and a new one continues where it left off
 * (the guide's "How to persist and restore channel state", done for you). A message may span several
 * boxes; it is framed with the guide's 4-byte length prefix (./framing.ts).
 *
 * ## Why a crash can neither lose a message nor put two different messages in one box
 *
 * The writer keeps a write-ahead log, table `outgoing_messages`:
 *
 * 1. `send(m)` first commits a row {seq, payload m, box size, start index, end index, state 'pending'}.
 *    Its boxes are reserved: start = the end of the last pending message, or the channel's next_index
 *    when none is pending. Only then is any box written. From here on the message is the channel's,
 *    whatever happens to the process.
 * 2. Pending messages are delivered strictly in seq order, box by box. Each box is encrypted afresh with
 *    encryptWrite at its reserved index.
 * 3. Once every box of a message is confirmed, ONE transaction marks the row 'sent' (dropping the
 *    payload) and advances the channel's next_index to the row's end index, guarded by
 *    `next_index = start index`. Only after that commits does send() resolve.
 *
 * A crash anywhere leaves either no row (nothing was written: send() never resolved and the message was
 * never accepted) or a pending row. Opening the channel again (and every send()/flush()) first re-delivers
 * pending rows, with the same payload, the same box size, at the same indices. BACAP encryption is
 * deterministic for a given (cap, index, plaintext) (spec/daemon-semantics.md §2.2), so a box that was
 * written before the crash is re-written byte-identically, and a replica answers an identical re-write
 * with Success (§2.5.5). So a crash after the write's acknowledgement and before the index update costs
 * one idempotent re-send, and is invisible to the reader.
 *
 * No box can receive two different messages from us: an index is handed to a new message only past the
 * end of every pending one, the pending row is never deleted before it is 'sent', and re-delivery uses
 * the stored bytes and box size (not the current geometry, which may have changed).
 *
 * That covers our own writes. To also *detect* the box already holding something else (another process
 * writing with the same write cap, a tombstone, a corrupted store), writes use the daemon's
 * ReturnBoxExists variant (`noIdempotentBoxAlreadyExists: true`) by default: the write waits for the
 * replica's answer instead of the courier's ACK (one extra round trip), an identical re-write still
 * succeeds, and a different occupant surfaces as BoxAlreadyExistsError instead of the default variant's
 * silent "success" (§2.5.5: with the default variant replica errors are invisible, so the message would be
 * lost without anyone knowing). The message then stays pending; nothing is marked sent. Pass
 * `confirmWrites: false` to trade that check for one round trip less per box.
 *
 * A lease (`owner` column: pid, host, random token) keeps two live processes from driving one channel at
 * once; a lease whose process has died on this host is taken over.
 *
 * The reader is the mirror image: it reads box after box from next_index until the framing is complete,
 * then stores the message and advances next_index in one transaction, and only then resolves. A crash
 * before that re-reads the same boxes, which is harmless. Waiting for a box that has not been written
 * yet is the guide's bounded poll: the no-retry read (`noRetryOnBoxIdNotFound: true`), and on
 * BoxIDNotFound (`isExpectedOutcome`) a delay and a fresh read envelope (a fresh envelope, rather than
 * the same one again, so the courier's cached "not found" is not served back to us, §5.2). A tombstoned
 * box ends the read with TombstoneError; the index does not move past it.
 */
import { hostname } from 'node:os';
import {
  indexCounter,
  MESSAGE_BOX_INDEX_SIZE,
  nextIndex,
  READ_CAP_SIZE,
  WRITE_CAP_SIZE,
} from '../crypto/bacap.js';
import {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  InvalidArgumentError,
  isExpectedOutcome,
  NotConnectedError,
  ProtocolError,
  ThinClientError,
  TombstoneError,
} from '../errors.js';
import { chunkPayload, FrameReassembler, framedBoxCount } from './framing.js';
import { blob, nowMs, type PigeonholeStore, StoreError } from './store.js';

// ---------------------------------------------------------------------------------------------------------
// What the channels need from a ThinClient (src/client.ts), by the names of API.md.

export interface EncryptedEnvelope {
  messageCiphertext: Uint8Array;
  envelopeDescriptor: Uint8Array;
  envelopeHash: Uint8Array;
  nextMessageBoxIndex: Uint8Array;
}

export interface ResendRequest {
  readCap?: Uint8Array;
  writeCap?: Uint8Array;
  messageBoxIndex?: Uint8Array;
  envelopeDescriptor: Uint8Array;
  messageCiphertext: Uint8Array;
  envelopeHash: Uint8Array;
  noRetryOnBoxIdNotFound?: boolean;
  noIdempotentBoxAlreadyExists?: boolean;
}

/** The slice of ThinClient a channel uses. A ThinClient is one. */
export interface ChannelClient {
  readonly pigeonholeGeometry: { readonly maxPlaintextPayloadLength: number } | null | undefined;
  newKeypair(
    seed: Uint8Array,
  ): Promise<{ writeCap: Uint8Array; readCap: Uint8Array; firstMessageIndex: Uint8Array }>;
  encryptWrite(plaintext: Uint8Array, writeCap: Uint8Array, index: Uint8Array): Promise<EncryptedEnvelope>;
  encryptRead(readCap: Uint8Array, index: Uint8Array): Promise<EncryptedEnvelope>;
  startResendingEncryptedMessage(
    request: ResendRequest,
    options?: { signal?: AbortSignal },
  ): Promise<{ plaintext: Uint8Array }>;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Another live process (or another object in this one) has the channel open. */
export class ChannelBusyError extends ThinClientError {
  readonly channel: string;
  readonly owner: string;
  constructor(channel: string, owner: string) {
    super('ERR_CHANNEL_BUSY', `channel "${channel}" is open elsewhere (owner ${owner})`);
    this.channel = channel;
    this.owner = owner;
  }
}

/** No channel of that name (and kind) in the store, or one exists already where a new one was asked for. */
export class ChannelNotFoundError extends ThinClientError {
  readonly channel: string;
  constructor(kind: 'write' | 'read', channel: string) {
    super('ERR_CHANNEL_NOT_FOUND', `no ${kind} channel named "${channel}"`);
    this.channel = channel;
  }
}

export class ChannelExistsError extends ThinClientError {
  readonly channel: string;
  constructor(kind: 'write' | 'read', channel: string) {
    super('ERR_CHANNEL_EXISTS', `a ${kind} channel named "${channel}" already exists`);
    this.channel = channel;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sharing a channel with a reader

/** What a reader needs: the read cap and the index to start reading at. */
export interface ChannelShare {
  readCap: Uint8Array;
  firstIndex: Uint8Array;
}

const SHARE_VERSION = 1;
const SHARE_SIZE = 1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE;

/** `version 1 ‖ readCap (136) ‖ firstIndex (104)`, base64url without padding. */
export function encodeChannelShare(share: ChannelShare): string {
  checkBytes(share?.readCap, READ_CAP_SIZE, 'readCap');
  checkBytes(share.firstIndex, MESSAGE_BOX_INDEX_SIZE, 'firstIndex');
  const out = new Uint8Array(SHARE_SIZE);
  out[0] = SHARE_VERSION;
  out.set(share.readCap, 1);
  out.set(share.firstIndex, 1 + READ_CAP_SIZE);
  return Buffer.from(out).toString('base64url');
}

/** Parses encodeChannelShare's output. */
export function decodeChannelShare(text: string): ChannelShare {
  const bytes = decodeBase64url(text, 'share');
  if (bytes.length !== SHARE_SIZE) {
    throw new InvalidArgumentError('share', `expected ${SHARE_SIZE} bytes once decoded, got ${bytes.length}`);
  }
  if (bytes[0] !== SHARE_VERSION) {
    throw new InvalidArgumentError('share', `unknown version ${bytes[0]}; expected ${SHARE_VERSION}`);
  }
  return {
    readCap: bytes.slice(1, 1 + READ_CAP_SIZE),
    firstIndex: bytes.slice(1 + READ_CAP_SIZE),
  };
}

/** Strict base64url (RFC 4648 §5, no padding): Node's decoder silently skips bad characters. */
export function decodeBase64url(text: string, field: string): Uint8Array {
  if (typeof text !== 'string') throw new InvalidArgumentError(field, 'must be a string');
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9_-]*$/.test(trimmed) || trimmed.length % 4 === 1) {
    throw new InvalidArgumentError(field, 'is not base64url text');
  }
  return new Uint8Array(Buffer.from(trimmed, 'base64url'));
}

// ---------------------------------------------------------------------------------------------------------
// Options and results

export interface TransferProgress {
  /** Boxes of this message confirmed (written) or read so far. */
  boxesDone: number;
  /** Boxes the message occupies; for a read, undefined until the first box has told its length. */
  boxesTotal: number | undefined;
  /** Payload bytes (the length prefix excluded) confirmed or read so far. */
  bytesDone: number;
  /** Payload length; for a read, undefined until the first box. */
  bytesTotal: number | undefined;
}

/**
 * Crash-test hooks, called synchronously at the named points. For tests only: a test child process
 * uses them to die (SIGKILL) at an exact point of the protocol.
 */
export interface WriteChannelTestHooks {
  /** A pending message's row has committed; no box of it has been written yet. */
  afterMessageRecorded?(info: { seq: number }): void;
  /** Box `box` (0-based) of message `seq` was confirmed by the daemon; its progress is not recorded yet. */
  afterBoxConfirmed?(info: { seq: number; box: number; boxCount: number }): void;
  /** Every box of message `seq` is confirmed; the transaction that marks it sent has not run. */
  afterMessageConfirmed?(info: { seq: number }): void;
}

export interface WriteChannelOptions {
  /**
   * Use the ReturnBoxExists write (`noIdempotentBoxAlreadyExists: true`), which waits for the replica and
   * reports a box already holding different content. Default true; see the module comment.
   */
  confirmWrites?: boolean;
  /** Take over the lease even if its holder looks alive. */
  takeOverLease?: boolean;
  testHooks?: WriteChannelTestHooks;
}

export interface CreateWriteChannelOptions extends WriteChannelOptions {
  /** 32-byte seed for newKeypair; random when absent. */
  seed?: Uint8Array;
}

export interface SendOptions {
  signal?: AbortSignal;
  /** Progress of this message's boxes (also reported for boxes confirmed before a crash). */
  onProgress?: (progress: TransferProgress) => void;
}

export interface FlushOptions {
  signal?: AbortSignal;
  /** Progress of each pending message in turn. */
  onProgress?: (progress: TransferProgress & { seq: number }) => void;
}

/** A message the channel has confirmed sent. */
export interface SentMessage {
  /** 0 for the channel's first message, then 1, 2, ... */
  seq: number;
  boxCount: number;
  /** Index of the message's first box. */
  startIndex: Uint8Array;
  /** The channel's next index after this message. */
  nextIndex: Uint8Array;
}

/** A message waiting in the write-ahead log. */
export interface PendingMessage {
  seq: number;
  length: number;
  boxCount: number;
  boxesConfirmed: number;
  startIndex: Uint8Array;
  endIndex: Uint8Array;
}

export interface ReadChannelOptions {
  /** Delay between two reads of a box not written yet (ms). Default 3000, as in the guide. */
  pollIntervalMs?: number;
  /** Refuse messages announcing more bytes than this. Default 64 MiB. */
  maxPayloadLength?: number;
  takeOverLease?: boolean;
}

export interface ReceiveOptions {
  signal?: AbortSignal;
  /**
   * How long to keep polling for a box that has not been written yet before giving up with
   * BoxIdNotFoundError; counted afresh for every box. 0 = a single read. Default 120000 (the guide's
   * two minutes); Infinity = until the signal aborts.
   */
  timeoutMs?: number;
  /** Overrides the channel's poll interval for this call. */
  pollIntervalMs?: number;
  /** Overrides the channel's payload bound for this call. */
  maxPayloadLength?: number;
  onProgress?: (progress: TransferProgress) => void;
}

/** A message the channel has received (and stored). */
export interface ReceivedMessage {
  seq: number;
  payload: Uint8Array;
  boxCount: number;
  startIndex: Uint8Array;
  nextIndex: Uint8Array;
  receivedAt: Date;
}

const DEFAULT_POLL_INTERVAL_MS = 3000;
const DEFAULT_RECEIVE_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------
// WriteChannel

interface WriteRow {
  id: number;
  name: string;
  write_cap: Uint8Array;
  read_cap: Uint8Array;
  first_index: Uint8Array;
  next_index: Uint8Array;
  next_seq: number;
  owner: string | null;
}

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

/** A stream this process writes to. Obtain one with `WriteChannel.create` or `WriteChannel.open`. */
export class WriteChannel {
  readonly name: string;
  readonly writeCap: Uint8Array;
  readonly readCap: Uint8Array;
  readonly firstIndex: Uint8Array;
  readonly #store: PigeonholeStore;
  readonly #client: ChannelClient;
  readonly #id: number;
  readonly #owner: string;
  readonly #confirmWrites: boolean;
  readonly #hooks: WriteChannelTestHooks;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    store: PigeonholeStore,
    client: ChannelClient,
    row: WriteRow,
    owner: string,
    options: WriteChannelOptions,
  ) {
    this.#store = store;
    this.#client = client;
    this.#id = row.id;
    this.#owner = owner;
    this.name = row.name;
    this.writeCap = row.write_cap;
    this.readCap = row.read_cap;
    this.firstIndex = row.first_index;
    this.#confirmWrites = options.confirmWrites ?? true;
    this.#hooks = options.testHooks ?? {};
  }

  /** Makes a new channel (newKeypair; no network traffic) and stores it under `name`. */
  static async create(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    options: CreateWriteChannelOptions = {},
  ): Promise<WriteChannel> {
    checkName(name);
    const seed = options.seed ?? crypto.getRandomValues(new Uint8Array(32));
    checkBytes(seed, 32, 'seed');
    if (findRow(store, 'write_channels', name)) throw new ChannelExistsError('write', name);
    const kp = await client.newKeypair(seed);
    checkBytes(kp.writeCap, WRITE_CAP_SIZE, 'writeCap');
    checkBytes(kp.readCap, READ_CAP_SIZE, 'readCap');
    checkBytes(kp.firstMessageIndex, MESSAGE_BOX_INDEX_SIZE, 'firstMessageIndex');
    const owner = newOwner();
    const row = store.transaction(() => {
      if (findRow(store, 'write_channels', name)) throw new ChannelExistsError('write', name);
      const now = nowMs();
      store.db
        .prepare(
          `INSERT INTO write_channels (name, write_cap, read_cap, first_index, next_index, owner, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(name, kp.writeCap, kp.readCap, kp.firstMessageIndex, kp.firstMessageIndex, owner, now, now);
      return loadWriteRow(store, name)!;
    });
    return new WriteChannel(store, client, row, owner, options);
  }

  /** Opens a stored channel. Pending messages stay pending until `flush()` or the next `send()`. */
  static open(
    store: PigeonholeStore,
    client: ChannelClient,
    name: string,
    options: WriteChannelOptions = {},
  ): WriteChannel {
    checkName(name);
    const owner = newOwner();
    const row = store.transaction(() => {
      const row = loadWriteRow(store, name);
      if (!row) throw new ChannelNotFoundError('write', name);
      takeLease(store, 'write_channels', row.id, name, row.owner, owner, options.takeOverLease ?? false);
      return row;
    });
    return new WriteChannel(store, client, row, owner, options);
  }

  /** Names of the write channels in a store. */
  static list(store: PigeonholeStore): string[] {
    return (
      store.db.prepare('SELECT name FROM write_channels ORDER BY name').all() as { name: string }[]
    ).map((r) => r.name);
  }

  /** The index the next new message will start at, once every pending message is sent. */
  get nextIndex(): Uint8Array {
    return blob(
      (this.#store.db.prepare('SELECT next_index FROM write_channels WHERE id = ?').get(this.#id) as WriteRow)
        .next_index,
    );
  }

  /** Messages accepted so far (sent or pending); the next message gets this seq. */
  get messageCount(): number {
    return (
      this.#store.db.prepare('SELECT next_seq FROM write_channels WHERE id = ?').get(this.#id) as {
        next_seq: number;
      }
    ).next_seq;
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
   */
  send(message: Uint8Array, options: SendOptions = {}): Promise<SentMessage> {
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(new InvalidArgumentError('message', 'must be a Uint8Array'));
    }
    const copy = message.slice();
    return this.#exclusive(async () => {
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
    return this.#exclusive(async () => {
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
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    releaseLease(this.#store, 'write_channels', this.#id, this.#owner);
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`channel "${this.name}" is closed`));
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
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
    return this.#store.transaction(() => {
      const ch = this.#row();
      const last = this.#store.db
        .prepare(
          `SELECT end_index FROM outgoing_messages WHERE channel_id = ? AND state = 'pending'
           ORDER BY seq DESC LIMIT 1`,
        )
        .get(this.#id) as { end_index: Uint8Array } | undefined;
      const start = last ? blob(last.end_index) : ch.next_index;
      let end = start;
      for (let i = 0; i < boxCount; i += 1) end = nextIndex(end);
      this.#store.db
        .prepare(
          `INSERT INTO outgoing_messages
             (channel_id, seq, state, payload, box_size, box_count, start_index, end_index, created_at)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
        )
        .run(this.#id, ch.next_seq, message, boxSize, boxCount, start, end, nowMs());
      this.#store.db
        .prepare('UPDATE write_channels SET next_seq = next_seq + 1, updated_at = ? WHERE id = ?')
        .run(nowMs(), this.#id);
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
        this.#store.db
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
    this.#store.transaction(() => {
      const now = nowMs();
      const advanced = this.#store.db
        .prepare(
          'UPDATE write_channels SET next_index = ?, updated_at = ? WHERE id = ? AND next_index = ? AND owner = ?',
        )
        .run(row.end_index, now, this.#id, row.start_index, this.#owner);
      const marked = this.#store.db
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

  #row(): WriteRow {
    const row = loadWriteRowById(this.#store, this.#id);
    if (!row) throw new ChannelNotFoundError('write', this.name);
    if (row.owner !== this.#owner) throw new ChannelBusyError(this.name, row.owner ?? '(none)');
    return row;
  }

  #pendingRows(): OutgoingRow[] {
    const rows = this.#store.db
      .prepare(
        `SELECT id, seq, payload, box_size, box_count, boxes_confirmed, start_index, end_index
         FROM outgoing_messages WHERE channel_id = ? AND state = 'pending' ORDER BY seq`,
      )
      .all(this.#id) as OutgoingRow[];
    return rows.map((r) => ({
      ...r,
      payload: blob(r.payload),
      start_index: blob(r.start_index),
      end_index: blob(r.end_index),
    }));
  }
}

// ---------------------------------------------------------------------------------------------------------
// ReadChannel

interface ReadRow {
  id: number;
  name: string;
  read_cap: Uint8Array;
  first_index: Uint8Array;
  next_index: Uint8Array;
  next_seq: number;
  owner: string | null;
}

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
    checkName(name);
    const owner = newOwner();
    const row = store.transaction(() => {
      const row = loadReadRow(store, name);
      if (!row) throw new ChannelNotFoundError('read', name);
      takeLease(store, 'read_channels', row.id, name, row.owner, owner, options.takeOverLease ?? false);
      return row;
    });
    return new ReadChannel(store, client, row, owner, options);
  }

  static list(store: PigeonholeStore): string[] {
    return (store.db.prepare('SELECT name FROM read_channels ORDER BY name').all() as { name: string }[]).map(
      (r) => r.name,
    );
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

// ---------------------------------------------------------------------------------------------------------
// Helpers

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('name', 'must be a non-empty string');
  }
}

function checkBytes(value: unknown, size: number, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(field, 'must be a Uint8Array');
  if (value.length !== size) {
    throw new InvalidArgumentError(field, `expected ${size} bytes, got ${value.length}`);
  }
}

function checkDelay(ms: unknown, field: string): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new InvalidArgumentError(field, `must be a non-negative number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function findRow(store: PigeonholeStore, table: 'write_channels' | 'read_channels', name: string): boolean {
  return store.db.prepare(`SELECT 1 FROM ${table} WHERE name = ?`).get(name) !== undefined;
}

function decodeWriteRow(row: WriteRow | undefined): WriteRow | undefined {
  if (!row) return undefined;
  return {
    ...row,
    write_cap: blob(row.write_cap),
    read_cap: blob(row.read_cap),
    first_index: blob(row.first_index),
    next_index: blob(row.next_index),
  };
}

function loadWriteRow(store: PigeonholeStore, name: string): WriteRow | undefined {
  return decodeWriteRow(
    store.db.prepare('SELECT * FROM write_channels WHERE name = ?').get(name) as WriteRow,
  );
}

function loadWriteRowById(store: PigeonholeStore, id: number): WriteRow | undefined {
  return decodeWriteRow(store.db.prepare('SELECT * FROM write_channels WHERE id = ?').get(id) as WriteRow);
}

function loadReadRow(store: PigeonholeStore, name: string): ReadRow | undefined {
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

function newOwner(): string {
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex');
  return `${process.pid}@${HOST}#${token}`;
}

/** True when `owner` names a process on this host that no longer exists. */
function ownerIsDead(owner: string): boolean {
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

function takeLease(
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

function releaseLease(
  store: PigeonholeStore,
  table: 'write_channels' | 'read_channels',
  id: number,
  owner: string,
): void {
  if (store.closed) return;
  store.db.prepare(`UPDATE ${table} SET owner = NULL WHERE id = ? AND owner = ?`).run(id, owner);
}

/** Resolves after `ms`, or rejects with `signal.reason` when the signal aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
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

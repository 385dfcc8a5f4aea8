/** The channels' client interface, errors, share strings, options and results. */
import { MESSAGE_BOX_INDEX_SIZE, READ_CAP_SIZE } from '../crypto/bacap.js';
import { InvalidArgumentError, ThinClientError } from '../errors.js';

// ---------------------------------------------------------------------------------------------------------
// What the channels need from a ThinClient (src/client.ts), by the names of its public API.

/** What `encryptWrite`/`encryptRead` return, as a channel uses it (ThinClient's EncryptResult). */
export interface EncryptedEnvelope {
  /** The encrypted courier query. */
  messageCiphertext: Uint8Array;
  /** What the daemon needs to decrypt the reply. */
  envelopeDescriptor: Uint8Array;
  /** The envelope's hash (32 bytes), which identifies the operation. */
  envelopeHash: Uint8Array;
  /** The index of the box after this one. */
  nextMessageBoxIndex: Uint8Array;
}

/** What a channel passes to `startResendingEncryptedMessage` (ThinClient's StartResendingParams). */
export interface ResendRequest {
  /** Set for a read (136 bytes). */
  readCap?: Uint8Array;
  /** Set for a write (168 bytes). */
  writeCap?: Uint8Array;
  /** The index of the box being read (104 bytes). */
  messageBoxIndex?: Uint8Array;
  /** From the EncryptedEnvelope. */
  envelopeDescriptor: Uint8Array;
  /** From the EncryptedEnvelope. */
  messageCiphertext: Uint8Array;
  /** From the EncryptedEnvelope. */
  envelopeHash: Uint8Array;
  /** Reads: answer BoxIDNotFound at once instead of retrying. */
  noRetryOnBoxIdNotFound?: boolean;
  /** Writes: report BoxAlreadyExists instead of treating it as success. */
  noIdempotentBoxAlreadyExists?: boolean;
}

/** The slice of ThinClient a channel uses. A ThinClient is one. */
export interface ChannelClient {
  /** As ThinClient.pigeonholeGeometry; null or undefined before the first connection. */
  readonly pigeonholeGeometry:
    | {
        /** The largest plaintext one box holds. */
        readonly maxPlaintextPayloadLength: number;
      }
    | null
    | undefined;
  /** As ThinClient.newKeypair. */
  newKeypair(seed: Uint8Array): Promise<{
    /** The channel's write cap (168 bytes). */
    writeCap: Uint8Array;
    /** The channel's read cap (136 bytes). */
    readCap: Uint8Array;
    /** The index of the channel's first box (104 bytes). */
    firstMessageIndex: Uint8Array;
  }>;
  /** As ThinClient.encryptWrite. */
  encryptWrite(plaintext: Uint8Array, writeCap: Uint8Array, index: Uint8Array): Promise<EncryptedEnvelope>;
  /** As ThinClient.encryptRead. */
  encryptRead(readCap: Uint8Array, index: Uint8Array): Promise<EncryptedEnvelope>;
  /** As ThinClient.startResendingEncryptedMessage. */
  startResendingEncryptedMessage(
    request: ResendRequest,
    options?: { signal?: AbortSignal },
  ): Promise<{
    /** The box's content for a read; empty for a write. */
    plaintext: Uint8Array;
  }>;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Another live process (or another object in this one) has the channel open. */
export class ChannelBusyError extends ThinClientError {
  /** The channel's name. */
  readonly channel: string;
  /** Who holds its lease (as recorded in the store). */
  readonly owner: string;
  constructor(channel: string, owner: string) {
    super('ERR_CHANNEL_BUSY', `channel "${channel}" is open elsewhere (owner ${owner})`);
    this.channel = channel;
    this.owner = owner;
  }
}

/** No channel of that name (and kind) in the store, or one exists already where a new one was asked for. */
export class ChannelNotFoundError extends ThinClientError {
  /** The name that was asked for. */
  readonly channel: string;
  constructor(kind: 'write' | 'read', channel: string) {
    super('ERR_CHANNEL_NOT_FOUND', `no ${kind} channel named "${channel}"`);
    this.channel = channel;
  }
}

/** A channel of that name (and kind) exists already where a new one was asked for. */
export class ChannelExistsError extends ThinClientError {
  /** The name that was asked for. */
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
  /** The channel's read cap (136 bytes). */
  readCap: Uint8Array;
  /** The index of the first box to read (104 bytes). */
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

/** Progress of one message's boxes, passed to `onProgress`. */
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

/** Options of `WriteChannel.open` and `WriteChannel.create`. */
export interface WriteChannelOptions {
  /**
   * Use the ReturnBoxExists write (`noIdempotentBoxAlreadyExists: true`), which waits for the replica and
   * reports a box already holding different content. Default true; see the module comment.
   */
  confirmWrites?: boolean;
  /** Take over the lease even if its holder looks alive. */
  takeOverLease?: boolean;
  /** For crash tests only. */
  testHooks?: WriteChannelTestHooks;
}

/** Options of `WriteChannel.create`. */
export interface CreateWriteChannelOptions extends WriteChannelOptions {
  /** 32-byte seed for newKeypair; random when absent. */
  seed?: Uint8Array;
}

/** Options of `WriteChannel.send`. */
export interface SendOptions {
  /** Stops waiting; the message stays in the write-ahead log and `flush` resumes it. */
  signal?: AbortSignal;
  /** Progress of this message's boxes (also reported for boxes confirmed before a crash). */
  onProgress?: (progress: TransferProgress) => void;
}

/** Options of `WriteChannel.flush`. */
export interface FlushOptions {
  /** Stops waiting; unsent messages stay in the write-ahead log. */
  signal?: AbortSignal;
  /** Progress of each pending message in turn. */
  onProgress?: (progress: TransferProgress & { seq: number }) => void;
}

/** A message the channel has confirmed sent. */
export interface SentMessage {
  /** 0 for the channel's first message, then 1, 2, ... */
  seq: number;
  /** How many boxes the message occupies (its length prefix included). */
  boxCount: number;
  /** Index of the message's first box. */
  startIndex: Uint8Array;
  /** The channel's next index after this message. */
  nextIndex: Uint8Array;
}

/** A message waiting in the write-ahead log. */
export interface PendingMessage {
  /** The message's sequence number in the channel. */
  seq: number;
  /** Payload length in bytes. */
  length: number;
  /** How many boxes it occupies. */
  boxCount: number;
  /** How many of them the daemon has confirmed written. */
  boxesConfirmed: number;
  /** Index of its first box. */
  startIndex: Uint8Array;
  /** The channel's next index after it. */
  endIndex: Uint8Array;
}

/** Options of `ReadChannel.open` and `ReadChannel.create`. */
export interface ReadChannelOptions {
  /** Delay between two reads of a box not written yet (ms). Default 3000, as in the guide. */
  pollIntervalMs?: number;
  /** Refuse messages announcing more bytes than this. Default 64 MiB. */
  maxPayloadLength?: number;
  /** Take over the lease even if its holder looks alive. */
  takeOverLease?: boolean;
}

/** Options of `ReadChannel.receive`. */
export interface ReceiveOptions {
  /** Stops waiting; a partly read message is read again from its first box next time. */
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
  /** Progress of this message's boxes. */
  onProgress?: (progress: TransferProgress) => void;
}

/** A message the channel has received (and stored). */
export interface ReceivedMessage {
  /** The message's sequence number in the channel. */
  seq: number;
  /** The message, exactly as sent. */
  payload: Uint8Array;
  /** How many boxes it occupied. */
  boxCount: number;
  /** Index of its first box. */
  startIndex: Uint8Array;
  /** The channel's next index after it. */
  nextIndex: Uint8Array;
  /** When this reader stored it. */
  receivedAt: Date;
}

export const DEFAULT_POLL_INTERVAL_MS = 3000;
export const DEFAULT_RECEIVE_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;

export function checkBytes(value: unknown, size: number, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(field, 'must be a Uint8Array');
  if (value.length !== size) {
    throw new InvalidArgumentError(field, `expected ${size} bytes, got ${value.length}`);
  }
}

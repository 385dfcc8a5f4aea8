/**
 * ThinClient: the promise API over the supervising client actor (machines/client.ts).
 *
 * Every method of the user guide is here under its camelCase name. Arguments are checked before
 * anything is sent (InvalidArgumentError names the argument). Binary results are Uint8Array,
 * counters and epochs bigint. Every call that talks to the daemon takes `{ signal }`; aborting
 * rejects with `signal.reason` and, for start_resending_*, cancels the operation at the daemon.
 *
 * Local requests (key generation, encryption, envelope building) need the daemon socket but not
 * the mixnet; start_resending_* and send_message* need both and fail at once with
 * NotConnectedError otherwise (the guide's "prepare operations offline").
 */
import { randomBytes } from 'node:crypto';
import { type Actor, type ActorOptions, type AnyActorLogic, createActor } from 'xstate';
import { wiredClientMachine } from '../actors/wiring.js';
import type { ArqKind, ArqOutput, ArqReply } from '../machines/arq.js';
import type { ClientEmitted, clientMachine } from '../machines/client.js';
import type { ReconnectPolicy } from '../machines/connection.js';
import { type Config, loadConfig } from './config.js';
import { blake2b256 } from './crypto/hash.js';
import {
  ClientClosedError,
  ConnectionLostError,
  InvalidArgumentError,
  NotConnectedError,
  OperationCancelledError,
  PayloadTooLargeError,
  ProtocolError,
  ThinClientError,
} from './errors.js';
import {
  type EventOfType,
  EventQueue,
  type EventsOptions,
  eventFromMessage,
  type LaggedEvent,
  type PigeonholeGeometry,
  pigeonholeGeometryFromWire,
  type SphinxGeometry,
  sphinxGeometryFromWire,
  type ThinClientEvent,
  type ThinClientEventType,
} from './events.js';
import { type InspectOption, redactInspection } from './inspect.js';
import {
  readStream as readStreamWith,
  type StreamOptions,
  writeStream as writeStreamWith,
} from './pigeonhole/streams.js';
import { decodePkiDocument, findServices, type PkiDocument, type ServiceDescriptor } from './pki/index.js';
import {
  type DecodedResponse,
  encodeRequest,
  errorForCopyCommandReply,
  errorForEncryptedMessageCode,
  errorForThinCode,
  MAX_FRAME_SIZE,
  type RequestBody,
  type RequestKey,
  type ResponseBody,
  type ResponseKey,
  SIZES,
} from './wire/index.js';

// ---- public option and result types -----------------------------------------------------------

export type { ReconnectPolicy } from '../machines/connection.js';

/** XState's clock interface (setTimeout/clearTimeout), e.g. `new SimulatedClock()`. */
export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

export interface ConnectOptions {
  /** Aborts the first connection attempt. */
  signal?: AbortSignal;
  /** How to redial after the connection is lost. Defaults: 1 s doubling to 60 s, ±20 %, forever. */
  reconnect?: Partial<ReconnectPolicy>;
  /** An XState inspection observer; it receives sanitized events only (src/inspect.ts). */
  inspect?: InspectOption;
  /** Dial plus handshake must complete within this. @default 60000 */
  handshakeTimeoutMs?: number;
  /** The clock for backoff and handshake timers (tests pass an xstate SimulatedClock). */
  clock?: Clock;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface BlockingSendOptions extends CallOptions {
  /** Gives up (rejecting with a TimeoutError) after this long. @default 30000 */
  timeoutMs?: number;
}

export interface KeypairResult {
  writeCap: Uint8Array;
  readCap: Uint8Array;
  firstMessageIndex: Uint8Array;
}

export interface EncryptResult {
  messageCiphertext: Uint8Array;
  envelopeDescriptor: Uint8Array;
  envelopeHash: Uint8Array;
  nextMessageBoxIndex: Uint8Array;
}

export interface StartResendingParams {
  /** Set for a read (136 bytes). Exactly one of readCap and writeCap. */
  readCap?: Uint8Array | null;
  /** Set for a write (168 bytes). */
  writeCap?: Uint8Array | null;
  /** The index of the box being read (104 bytes); required for reads to decrypt. */
  messageBoxIndex?: Uint8Array | null;
  /** Accepted and ignored by the daemon. */
  replyIndex?: number | null;
  envelopeDescriptor: Uint8Array;
  messageCiphertext: Uint8Array;
  envelopeHash: Uint8Array;
  /** Reads: answer BoxIDNotFound at once instead of retrying. */
  noRetryOnBoxIdNotFound?: boolean;
  /** Writes: report BoxAlreadyExists instead of treating it as success. */
  noIdempotentBoxAlreadyExists?: boolean;
}

export interface StartResendingResult {
  /** The box's plaintext for a read; empty for a write. */
  plaintext: Uint8Array;
  courierIdentityHash: Uint8Array | null;
  courierQueueId: Uint8Array | null;
}

export interface CopyCommandOptions extends CallOptions {
  /** Pin the courier (32 bytes); used only together with courierQueueId. */
  courierIdentityHash?: Uint8Array;
  courierQueueId?: Uint8Array;
}

export interface DestinationPayload {
  payload: Uint8Array;
  writeCap: Uint8Array;
  startIndex: Uint8Array;
}

export interface CourierEnvelopesResult {
  envelopes: Uint8Array[];
  nextDestIndex: Uint8Array;
}

export interface MultiPayloadEnvelopesResult {
  envelopes: Uint8Array[];
  /** Encoder state to pass to the next call; empty after `isLast`. Persist it for crash recovery. */
  buffer: Uint8Array;
  /** One next index per destination, in request order. */
  nextDestIndices: Uint8Array[];
}

export interface TombstoneRangeEnvelopesResult {
  envelopes: Uint8Array[];
  buffer: Uint8Array;
  nextDestIndex: Uint8Array;
}

export interface TombstoneEnvelope {
  envelopeDescriptor: Uint8Array;
  messageCiphertext: Uint8Array;
  envelopeHash: Uint8Array;
  boxIndex: Uint8Array;
}

export interface TombstoneRangeResult {
  envelopes: TombstoneEnvelope[];
  /** The index after the last tombstoned box. */
  next: Uint8Array;
}

export interface DirectoryAuthority {
  identifier: string;
  pkiSignatureScheme: string;
  wireKemScheme: string;
  addresses: string[];
  identityPublicKeyPem: string;
  linkPublicKeyPem: string;
  identityKeyHash: Uint8Array;
}

// ---- helpers ------------------------------------------------------------------------------------

const MAX_COPY_PAYLOAD = 10 * 1024 * 1024;
const MAX_QUEUE_ID = 32;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function randomId(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** A Uint8Array argument of an exact length (or within bounds). */
function bytesArg(value: unknown, name: string, size?: number | { min?: number; max?: number }): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(name, `expected a Uint8Array, got ${describeValue(value)}`);
  }
  if (typeof size === 'number' && value.length !== size) {
    throw new InvalidArgumentError(name, `expected ${size} bytes, got ${value.length}`);
  }
  if (typeof size === 'object') {
    if (size.min !== undefined && value.length < size.min) {
      throw new InvalidArgumentError(name, `expected at least ${size.min} bytes, got ${value.length}`);
    }
    if (size.max !== undefined && value.length > size.max) {
      throw new InvalidArgumentError(name, `expected at most ${size.max} bytes, got ${value.length}`);
    }
  }
  return value;
}

function optionalBytesArg(value: unknown, name: string, size?: number): Uint8Array | undefined {
  return value === undefined || value === null ? undefined : bytesArg(value, name, size);
}

function boolArg(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(name, `expected a boolean, got ${describeValue(value)}`);
  return value;
}

function countArg(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(name, `expected an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

type Deferred<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };

/**
 * A promise whose settling functions go to `register`; if `signal` aborts first, `onAbort` cleans
 * up and the promise rejects with `signal.reason`. The abort listener never outlives the promise.
 */
function abortable<T>(
  signal: AbortSignal | undefined,
  register: (deferred: Deferred<T>) => void,
  onAbort: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const abort = () => {
      onAbort();
      reject(abortReason(signal!));
    };
    const settle =
      <A>(fn: (a: A) => void) =>
      (a: A) => {
        signal?.removeEventListener('abort', abort);
        fn(a);
      };
    signal?.addEventListener('abort', abort, { once: true });
    register({ resolve: settle(resolve), reject: settle(reject) });
  });
}

interface PendingRequest extends Deferred<Record<string, unknown>> {
  operation: RequestKey;
  replyKey: ResponseKey;
  /** A cancel resolves (local tracking dropped) when it cannot be sent. */
  resolveIfUnsent?: boolean;
}

interface PendingOp extends Deferred<ArqReply> {
  kind: ArqKind;
}

type Listener = (event: ThinClientEvent) => void;

// ---- the client -------------------------------------------------------------------------------

export class ThinClient implements AsyncDisposable {
  /** The supervising root actor (systemId 'client'), for inspection and tests. */
  readonly actorRef: Actor<typeof clientMachine>;

  private readonly config: Config;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly ops = new Map<string, PendingOp>();
  private readonly surbWaiters = new Map<string, Deferred<Uint8Array>>();
  /**
   * Daemon events that arrive while a (re)handshake is still under way, published in arrival order
   * when the session is ready — so that `connectionStatus { isConnected: true }` always means the
   * client can send, as an application flushing an offline queue on it expects.
   */
  private heldDuringHandshake: ThinClientEvent[] = [];
  private readonly listeners = new Map<ThinClientEventType | '*', Set<Listener>>();
  private readonly queues = new Set<EventQueue>();
  private readyWaiters: Array<Deferred<void>> = [];
  private document: PkiDocument | null = null;
  private sphinx: SphinxGeometry | null = null;
  private pigeonhole: PigeonholeGeometry | null = null;
  private closing = false;
  private finished = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private firstReady: Deferred<void> | undefined;

  private constructor(config: Config, options: ConnectOptions) {
    this.config = config;
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const clientToken = randomId();
    this.actorRef = createActor(wiredClientMachine(), {
      systemId: 'client',
      input: {
        connection: {
          dial: config.dial,
          clientToken,
          ...(options.reconnect ? { reconnect: options.reconnect } : {}),
          ...(options.handshakeTimeoutMs === undefined
            ? {}
            : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
        },
      },
      ...(options.inspect ? { inspect: redactInspection(options.inspect) } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const actor = this.actorRef;
    actor.on('*', (emitted) => this.onEmitted(emitted as ClientEmitted));
    // The root always has an error listener: nothing inside may crash the host process.
    actor.subscribe({
      error: (error) => this.onFatal(error),
      complete: () => this.onFinished(),
    });
  }

  /**
   * Connects to kpclientd (a Config, or the path of a thinclient.toml) and completes the handshake.
   * Rejects with NotConnectedError when the daemon cannot be reached, or with `signal.reason`.
   */
  static async connect(configOrPath: Config | string, options: ConnectOptions = {}): Promise<ThinClient> {
    const { signal } = options;
    signal?.throwIfAborted();
    const config = typeof configOrPath === 'string' ? await loadConfig(configOrPath) : configOrPath;
    validateReconnect(options.reconnect);
    signal?.throwIfAborted();
    const client = new ThinClient(config, options);
    const ready = new Promise<void>((resolve, reject) => {
      client.firstReady = { resolve, reject };
    });
    const onAbort = () => {
      client.firstReady?.reject(abortReason(signal!));
      void client.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    client.actorRef.start();
    try {
      await ready;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return client;
  }

  // ---- connection state and events ----

  /** True when the daemon socket is up and the daemon reports a mixnet connection. */
  isConnected(): boolean {
    const { link, mixnetConnected } = this.actorRef.getSnapshot().context;
    return link === 'ready' && mixnetConnected;
  }

  /** True while the socket to the daemon is up and its session ready (mixnet or not). */
  isDaemonConnected(): boolean {
    return this.actorRef.getSnapshot().context.link === 'ready';
  }

  /**
   * A fresh event stream with its own bounded queue. Ends when `signal` aborts, when the loop
   * breaks, or when the client closes.
   */
  events(options: EventsOptions = {}): AsyncIterableIterator<ThinClientEvent | LaggedEvent> {
    const queue = new EventQueue(options.capacity ?? 1024, () => {
      this.queues.delete(queue);
      options.signal?.removeEventListener('abort', onAbort);
    });
    const onAbort = () => queue.end();
    if (this.finished || options.signal?.aborted) {
      queue.end();
      return queue;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.queues.add(queue);
    return queue;
  }

  /** Calls `fn` for each event of `type` ('*' for all); returns the unsubscribe function. */
  on<T extends ThinClientEventType>(type: T, fn: (event: EventOfType<T>) => void): () => void;
  on(type: '*', fn: (event: ThinClientEvent) => void): () => void;
  on(type: ThinClientEventType | '*', fn: (event: never) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const listener = fn as Listener;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /**
   * Sends thin_close (the daemon forgets this session and stops its retransmissions), closes the
   * socket and stops every actor. Pending calls reject with ClientClosedError.
   */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.rejectAll(new ClientClosedError());
      if (this.actorRef.getSnapshot().status === 'active') this.actorRef.send({ type: 'client.close' });
      else this.onFinished();
    }
    await this.closedPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Drops the socket without thin_close: the daemon keeps the session (and its ARQ work) for its
   * grace period. In-flight start_resending_* calls stay pending; `reconnect()` resumes them.
   */
  async disconnect(): Promise<void> {
    this.ensureOpen();
    this.actorRef.send({ type: 'client.disconnect' });
  }

  /** Dials again after `disconnect()` with the same session token; resolves once ready. */
  async reconnect(options: CallOptions = {}): Promise<void> {
    this.ensureOpen();
    options.signal?.throwIfAborted();
    if (this.isDaemonConnected()) return;
    const ready = this.waitForReady(options.signal);
    this.actorRef.send({ type: 'client.reconnect' });
    await ready;
  }

  /** Resolves when the daemon session is (again) ready; rejects if the client closes or gives up. */
  waitForReady(signal?: AbortSignal): Promise<void> {
    if (this.isDaemonConnected()) return Promise.resolve();
    if (this.finished || this.closing) return Promise.reject(new ClientClosedError());
    let waiter: Deferred<void> | undefined;
    return abortable<void>(
      signal,
      (d) => {
        waiter = d;
        this.readyWaiters.push(d);
      },
      () => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
      },
    );
  }

  // ---- services and the PKI document ----

  /** The decoded current PKI document (signatures stripped by the daemon), or null. */
  pkiDocument(): PkiDocument | null {
    return this.document;
  }

  /** Every service node offering `capability` in the current document. */
  getServices(capability: string): ServiceDescriptor[] {
    return this.document ? findServices(this.document, capability) : [];
  }

  /** One service offering `capability`, chosen at random; throws when there is none. */
  getService(capability: string): ServiceDescriptor {
    const services = this.getServices(capability);
    if (services.length === 0) {
      throw new ThinClientError(
        'ERR_SERVICE_NOT_FOUND',
        this.document ? `no service offers ${JSON.stringify(capability)}` : 'no PKI document available',
      );
    }
    return services[Math.floor(Math.random() * services.length)]!;
  }

  /** The daemon's Sphinx geometry (from the handshake). */
  get sphinxGeometry(): SphinxGeometry {
    return this.sphinx!;
  }

  /** The daemon's Pigeonhole geometry (from the handshake). */
  get pigeonholeGeometry(): PigeonholeGeometry {
    return this.pigeonhole!;
  }

  /** The signed PKI document (cert.Certificate CBOR) for `epoch` (0n: the current one). */
  async getPkiDocumentRaw(
    epoch = 0n,
    options: CallOptions = {},
  ): Promise<{ payload: Uint8Array; epoch: bigint }> {
    if (typeof epoch !== 'bigint' || epoch < 0n || epoch > 0xffff_ffff_ffff_ffffn) {
      throw new InvalidArgumentError('epoch', `expected a uint64 bigint, got ${String(epoch)}`);
    }
    const reply = await this.request('get_pki_document', { epoch }, 'get_pki_document_reply', options);
    return { payload: reply.payload ?? new Uint8Array(0), epoch: reply.epoch ?? 0n };
  }

  /** The directory authorities the daemon is configured with. */
  async getDirectoryAuthorities(options: CallOptions = {}): Promise<DirectoryAuthority[]> {
    const reply = await this.request(
      'get_directory_authorities',
      {},
      'get_directory_authorities_reply',
      options,
    );
    return (reply.authorities ?? []).map((a) => ({
      identifier: a.identifier ?? '',
      pkiSignatureScheme: a.pki_signature_scheme ?? '',
      wireKemScheme: a.wire_kem_scheme ?? '',
      addresses: a.addresses ?? [],
      identityPublicKeyPem: a.identity_public_key_pem ?? '',
      linkPublicKeyPem: a.link_public_key_pem ?? '',
      identityKeyHash: a.identity_key_hash ?? new Uint8Array(32),
    }));
  }

  // ---- legacy messaging ----

  /**
   * Sends `payload` to a service with a SURB: the daemon reports `messageSent`, then (usually)
   * `messageReply` with the same `surbId`.
   */
  async sendMessage(
    surbId: Uint8Array,
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    bytesArg(surbId, 'surbId', SIZES.surbId);
    this.checkSendArgs(payload, destNode, destQueue);
    this.sendLegacy(
      {
        with_surb: true,
        surbid: surbId,
        destination_id_hash: destNode,
        recipient_queue_id: destQueue,
        payload,
      },
      options,
    );
  }

  /** Sends `payload` to a service without a SURB; nothing comes back. */
  async sendMessageWithoutReply(
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    this.checkSendArgs(payload, destNode, destQueue);
    this.sendLegacy(
      { with_surb: false, destination_id_hash: destNode, recipient_queue_id: destQueue, payload },
      options,
    );
  }

  /** Sends `payload` with a private SURB and resolves with the reply payload. */
  async blockingSendMessage(
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
    options: BlockingSendOptions = {},
  ): Promise<Uint8Array> {
    this.checkSendArgs(payload, destNode, destQueue);
    const { signal, timeoutMs = 30_000 } = options;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      throw new InvalidArgumentError('timeoutMs', `expected a positive number, got ${String(timeoutMs)}`);
    }
    const surbId = randomId();
    const key = hex(surbId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await abortable<Uint8Array>(
        signal,
        (d) => {
          this.surbWaiters.set(key, d);
          if (Number.isFinite(timeoutMs)) {
            timer = setTimeout(
              () => d.reject(new DOMException(`no reply within ${timeoutMs} ms`, 'TimeoutError')),
              timeoutMs,
            );
          }
          this.sendLegacy(
            {
              with_surb: true,
              surbid: surbId,
              destination_id_hash: destNode,
              recipient_queue_id: destQueue,
              payload,
            },
            options,
          );
        },
        () => {},
      );
    } finally {
      this.surbWaiters.delete(key);
      clearTimeout(timer);
    }
  }

  // ---- Pigeonhole: local requests ----

  /** Derives a channel from a 32-byte seed (local; no network traffic). */
  async newKeypair(seed: Uint8Array, options: CallOptions = {}): Promise<KeypairResult> {
    bytesArg(seed, 'seed', SIZES.seed);
    const r = await this.request('new_keypair', { seed }, 'new_keypair_reply', options);
    return {
      writeCap: this.required(r.write_cap, 'new_keypair_reply.write_cap'),
      readCap: this.required(r.read_cap, 'new_keypair_reply.read_cap'),
      firstMessageIndex: this.required(r.first_message_index, 'new_keypair_reply.first_message_index'),
    };
  }

  /** Encrypts `plaintext` for the box at `messageBoxIndex` (local). An empty plaintext is a tombstone. */
  async encryptWrite(
    plaintext: Uint8Array,
    writeCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options: CallOptions = {},
  ): Promise<EncryptResult> {
    bytesArg(plaintext, 'plaintext');
    bytesArg(writeCap, 'writeCap', SIZES.writeCap);
    bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex);
    const max = this.pigeonhole?.maxPlaintextPayloadLength;
    if (max !== undefined && max > 0 && plaintext.length > max) {
      throw new PayloadTooLargeError(`plaintext of ${plaintext.length} bytes exceeds one box (${max} bytes)`);
    }
    const r = await this.request(
      'encrypt_write',
      { plaintext, write_cap: writeCap, message_box_index: messageBoxIndex },
      'encrypt_write_reply',
      options,
    );
    return this.encryptResult(r, 'encrypt_write_reply');
  }

  /** Prepares a read of the box at `messageBoxIndex` (local). */
  async encryptRead(
    readCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options: CallOptions = {},
  ): Promise<EncryptResult> {
    bytesArg(readCap, 'readCap', SIZES.readCap);
    bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex);
    const r = await this.request(
      'encrypt_read',
      { read_cap: readCap, message_box_index: messageBoxIndex },
      'encrypt_read_reply',
      options,
    );
    return this.encryptResult(r, 'encrypt_read_reply');
  }

  /** The index after `messageBoxIndex` (local). */
  async nextMessageBoxIndex(messageBoxIndex: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex);
    const r = await this.request(
      'next_message_box_index',
      { message_box_index: messageBoxIndex },
      'next_message_box_index_reply',
      options,
    );
    return this.required(r.next_message_box_index, 'next_message_box_index_reply.next_message_box_index');
  }

  /** The 64-bit counter inside `messageBoxIndex` (local). */
  async getMessageBoxIndexCounter(messageBoxIndex: Uint8Array, options: CallOptions = {}): Promise<bigint> {
    bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex);
    const r = await this.request(
      'get_message_box_index_counter',
      { message_box_index: messageBoxIndex },
      'get_message_box_index_counter_reply',
      options,
    );
    return r.counter ?? 0n;
  }

  /** Packs `payload` into copy-stream elements for one destination channel (local). */
  async createCourierEnvelopesFromPayload(
    payload: Uint8Array,
    destWriteCap: Uint8Array,
    destStartIndex: Uint8Array,
    isStart: boolean,
    isLast: boolean,
    options: CallOptions = {},
  ): Promise<CourierEnvelopesResult> {
    bytesArg(payload, 'payload');
    if (payload.length > MAX_COPY_PAYLOAD) {
      throw new PayloadTooLargeError(`payload of ${payload.length} bytes exceeds ${MAX_COPY_PAYLOAD} bytes`);
    }
    bytesArg(destWriteCap, 'destWriteCap', SIZES.writeCap);
    bytesArg(destStartIndex, 'destStartIndex', SIZES.messageBoxIndex);
    const r = await this.request(
      'create_courier_envelopes_from_payload',
      {
        payload,
        dest_write_cap: destWriteCap,
        dest_start_index: destStartIndex,
        is_start: boolArg(isStart, 'isStart'),
        is_last: boolArg(isLast, 'isLast'),
      },
      'create_courier_envelopes_from_payload_reply',
      options,
    );
    return {
      envelopes: r.envelopes ?? [],
      nextDestIndex: this.required(
        r.next_dest_index,
        'create_courier_envelopes_from_payload_reply.next_dest_index',
      ),
    };
  }

  /** Packs payloads for several destination channels into one copy stream (local). */
  async createCourierEnvelopesFromMultiPayload(
    destinations: DestinationPayload[],
    isStart: boolean,
    isLast: boolean,
    buffer?: Uint8Array | null,
    options: CallOptions = {},
  ): Promise<MultiPayloadEnvelopesResult> {
    if (!Array.isArray(destinations) || destinations.length === 0) {
      throw new InvalidArgumentError('destinations', 'expected a non-empty array');
    }
    const wire = destinations.map((d, i) => {
      bytesArg(d?.payload, `destinations[${i}].payload`);
      if (d.payload.length > MAX_COPY_PAYLOAD) {
        throw new PayloadTooLargeError(`destinations[${i}].payload exceeds ${MAX_COPY_PAYLOAD} bytes`);
      }
      return {
        payload: d.payload,
        write_cap: bytesArg(d.writeCap, `destinations[${i}].writeCap`, SIZES.writeCap),
        start_index: bytesArg(d.startIndex, `destinations[${i}].startIndex`, SIZES.messageBoxIndex),
      };
    });
    const buf = optionalBytesArg(buffer, 'buffer');
    const r = await this.request(
      'create_courier_envelopes_from_multi_payload',
      {
        destinations: wire,
        is_start: boolArg(isStart, 'isStart'),
        is_last: boolArg(isLast, 'isLast'),
        ...(buf && buf.length > 0 ? { buffer: buf } : {}),
      },
      'create_courier_envelopes_from_multi_payload_reply',
      options,
    );
    return {
      envelopes: r.envelopes ?? [],
      buffer: r.buffer ?? new Uint8Array(0),
      nextDestIndices: r.next_dest_indices ?? [],
    };
  }

  /** Copy-stream elements that tombstone `maxCount` boxes from `destStartIndex` (local). */
  async createCourierEnvelopesFromTombstoneRange(
    destWriteCap: Uint8Array,
    destStartIndex: Uint8Array,
    maxCount: number,
    isStart: boolean,
    isLast: boolean,
    buffer?: Uint8Array | null,
    options: CallOptions = {},
  ): Promise<TombstoneRangeEnvelopesResult> {
    bytesArg(destWriteCap, 'destWriteCap', SIZES.writeCap);
    bytesArg(destStartIndex, 'destStartIndex', SIZES.messageBoxIndex);
    const buf = optionalBytesArg(buffer, 'buffer');
    const r = await this.request(
      'create_courier_envelopes_from_tombstone_range',
      {
        dest_write_cap: destWriteCap,
        dest_start_index: destStartIndex,
        max_count: countArg(maxCount, 'maxCount', 0xffff_ffff),
        is_start: boolArg(isStart, 'isStart'),
        is_last: boolArg(isLast, 'isLast'),
        ...(buf && buf.length > 0 ? { buffer: buf } : {}),
      },
      'create_courier_envelopes_from_tombstone_range_reply',
      options,
    );
    return {
      envelopes: r.envelopes ?? [],
      buffer: r.buffer ?? new Uint8Array(0),
      nextDestIndex: r.next_dest_index ?? destStartIndex.slice(),
    };
  }

  /**
   * Tombstone envelopes for `maxCount` boxes from `startIndex`: one `encryptWrite` of an empty
   * plaintext per box (local). Send each with `startResendingEncryptedMessage({ writeCap, ...e })`.
   */
  async tombstoneRange(
    writeCap: Uint8Array,
    startIndex: Uint8Array,
    maxCount: number,
    options: CallOptions = {},
  ): Promise<TombstoneRangeResult> {
    bytesArg(writeCap, 'writeCap', SIZES.writeCap);
    bytesArg(startIndex, 'startIndex', SIZES.messageBoxIndex);
    countArg(maxCount, 'maxCount', 0xffff_ffff);
    const envelopes: TombstoneEnvelope[] = [];
    let index: Uint8Array = startIndex.slice();
    for (let i = 0; i < maxCount; i++) {
      const w = await this.encryptWrite(new Uint8Array(0), writeCap, index, options);
      envelopes.push({
        envelopeDescriptor: w.envelopeDescriptor,
        messageCiphertext: w.messageCiphertext,
        envelopeHash: w.envelopeHash,
        boxIndex: index,
      });
      index = w.nextMessageBoxIndex;
    }
    return { envelopes, next: index };
  }

  // ---- Pigeonhole: windowed streams (src/pigeonhole/streams.ts) ----

  /**
   * Writes `payload` across as many boxes as it needs, from `startIndex`, with up to `window`
   * single-box writes in flight (0 = sized from the PKI document). Resolves with the next index.
   * Boxes are admitted at randomized intervals by default; see src/pigeonhole/README.md for the
   * privacy trade-off of keeping several boxes of one transfer in flight.
   */
  writeStream(
    writeCap: Uint8Array,
    startIndex: Uint8Array,
    payload: Uint8Array,
    window = 0,
    options: StreamOptions = {},
  ): Promise<Uint8Array> {
    return writeStreamWith(this, writeCap, startIndex, payload, window, options);
  }

  /**
   * Reads `boxCount` boxes written by writeStream and returns exactly the bytes written, with the
   * index after the last box. The box count is ceil(length / (MaxPlaintextPayloadLength - 4)).
   */
  readStream(
    readCap: Uint8Array,
    startIndex: Uint8Array,
    boxCount: number,
    window = 0,
    options: StreamOptions = {},
  ): Promise<{ data: Uint8Array; nextIndex: Uint8Array }> {
    return readStreamWith(this, readCap, startIndex, boxCount, window, options);
  }

  // ---- Pigeonhole: ARQ operations ----

  /**
   * Sends a prepared read or write and waits for its outcome (the daemon retransmits until it has
   * one). Survives reconnects; replayed unchanged if the daemon restarted. BoxIDNotFound,
   * BoxAlreadyExists and Tombstone reject with errors for which `isExpectedOutcome` is true.
   */
  async startResendingEncryptedMessage(
    params: StartResendingParams,
    options: CallOptions = {},
  ): Promise<StartResendingResult> {
    if (typeof params !== 'object' || params === null)
      throw new InvalidArgumentError('params', 'expected an object');
    const readCap = optionalBytesArg(params.readCap, 'readCap', SIZES.readCap);
    const writeCap = optionalBytesArg(params.writeCap, 'writeCap', SIZES.writeCap);
    if ((readCap === undefined) === (writeCap === undefined)) {
      throw new InvalidArgumentError(
        'readCap',
        'exactly one of readCap (read) and writeCap (write) must be set',
      );
    }
    const messageBoxIndex = optionalBytesArg(
      params.messageBoxIndex,
      'messageBoxIndex',
      SIZES.messageBoxIndex,
    );
    const envelopeDescriptor = bytesArg(params.envelopeDescriptor, 'envelopeDescriptor', { min: 1 });
    const messageCiphertext = bytesArg(params.messageCiphertext, 'messageCiphertext', { min: 1 });
    const envelopeHash = bytesArg(params.envelopeHash, 'envelopeHash', SIZES.hash);
    const replyIndex =
      params.replyIndex === undefined || params.replyIndex === null
        ? undefined
        : countArg(params.replyIndex, 'replyIndex', 255);
    const body: Omit<RequestBody<'start_resending_encrypted_message'>, 'query_id'> = {
      ...(readCap ? { read_cap: readCap } : {}),
      ...(writeCap ? { write_cap: writeCap } : {}),
      ...(messageBoxIndex ? { message_box_index: messageBoxIndex } : {}),
      ...(replyIndex === undefined ? {} : { reply_index: replyIndex }),
      envelope_descriptor: envelopeDescriptor,
      message_ciphertext: messageCiphertext,
      envelope_hash: envelopeHash,
      ...(params.noRetryOnBoxIdNotFound ? { no_retry_on_box_id_not_found: true } : {}),
      ...(params.noIdempotentBoxAlreadyExists ? { no_idempotent_box_already_exists: true } : {}),
    };
    const reply = (await this.startOp(
      'encryptedMessage',
      'start_resending_encrypted_message',
      body,
      envelopeHash,
      options,
    )) as ResponseBody<'start_resending_encrypted_message_reply'>;
    return {
      plaintext: reply.plaintext ?? new Uint8Array(0),
      courierIdentityHash: reply.courier_identity_hash ?? null,
      courierQueueId: reply.courier_queue_id ?? null,
    };
  }

  /** Stops the operation with this envelope hash; its caller rejects with OperationCancelledError. */
  async cancelResendingEncryptedMessage(envelopeHash: Uint8Array, options: CallOptions = {}): Promise<void> {
    bytesArg(envelopeHash, 'envelopeHash', SIZES.hash);
    await this.cancel(
      'cancel_resending_encrypted_message',
      { envelope_hash: envelopeHash },
      'cancel_resending_encrypted_message_reply',
      hex(envelopeHash),
      options,
    );
  }

  /**
   * Has a courier execute the copy stream written under `tempWriteCap` (all or nothing) and waits
   * until it reports success. Rejects with CopyCommandFailedError on failure.
   */
  async startResendingCopyCommand(tempWriteCap: Uint8Array, options: CopyCommandOptions = {}): Promise<void> {
    bytesArg(tempWriteCap, 'tempWriteCap', SIZES.writeCap);
    const courierIdentityHash = optionalBytesArg(
      options.courierIdentityHash,
      'courierIdentityHash',
      SIZES.hash,
    );
    const courierQueueId =
      options.courierQueueId === undefined
        ? undefined
        : bytesArg(options.courierQueueId, 'courierQueueId', { min: 1, max: MAX_QUEUE_ID });
    if ((courierIdentityHash === undefined) !== (courierQueueId === undefined)) {
      throw new InvalidArgumentError(
        'courierIdentityHash',
        'courierIdentityHash and courierQueueId go together',
      );
    }
    await this.startOp(
      'copyCommand',
      'start_resending_copy_command',
      {
        write_cap: tempWriteCap,
        ...(courierIdentityHash ? { courier_identity_hash: courierIdentityHash } : {}),
        ...(courierQueueId ? { courier_queue_id: courierQueueId } : {}),
      },
      blake2b256(tempWriteCap),
      options,
    );
  }

  /** Stops the copy command whose temporary write cap hashes (BLAKE2b-256) to `writeCapHash`. */
  async cancelResendingCopyCommand(writeCapHash: Uint8Array, options: CallOptions = {}): Promise<void> {
    bytesArg(writeCapHash, 'writeCapHash', SIZES.hash);
    await this.cancel(
      'cancel_resending_copy_command',
      { write_cap_hash: writeCapHash },
      'cancel_resending_copy_command_reply',
      hex(writeCapHash),
      options,
    );
  }

  // ---- internals: requests ----

  private ensureOpen(): void {
    if (this.closing || this.finished) throw new ClientClosedError();
  }

  private required(value: Uint8Array | undefined, field: string): Uint8Array {
    if (!value) throw new ProtocolError(`${field}: missing in a successful reply`);
    return value;
  }

  private encryptResult(
    r: ResponseBody<'encrypt_write_reply'> | ResponseBody<'encrypt_read_reply'>,
    key: string,
  ): EncryptResult {
    return {
      messageCiphertext: this.required(r.message_ciphertext, `${key}.message_ciphertext`),
      envelopeDescriptor: this.required(r.envelope_descriptor, `${key}.envelope_descriptor`),
      envelopeHash: this.required(r.envelope_hash, `${key}.envelope_hash`),
      nextMessageBoxIndex: this.required(r.next_message_box_index, `${key}.next_message_box_index`),
    };
  }

  private encode<K extends RequestKey>(key: K, body: RequestBody<K>): Uint8Array {
    const bytes = encodeRequest(key, body);
    if (bytes.length + 4 > MAX_FRAME_SIZE) {
      throw new PayloadTooLargeError(`${key} request of ${bytes.length} bytes exceeds the frame limit`);
    }
    return bytes;
  }

  /** A local request: one reply with the same query_id. */
  private request<K extends RequestKey, R extends ResponseKey>(
    key: K,
    body: Omit<RequestBody<K>, 'query_id'>,
    replyKey: R,
    options: CallOptions,
  ): Promise<ResponseBody<R>> {
    this.ensureOpen();
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.isDaemonConnected()) return Promise.reject(new NotConnectedError());
    const queryId = randomId();
    const bytes = this.encode(key, { ...body, query_id: queryId } as RequestBody<K>);
    const id = hex(queryId);
    return abortable<ResponseBody<R>>(
      signal,
      (d) => {
        this.pending.set(id, { operation: key, replyKey, ...(d as Deferred<Record<string, unknown>>) });
        this.actorRef.send({ type: 'client.request', queryId: id, bytes });
      },
      () => this.pending.delete(id),
    );
  }

  private checkSendArgs(payload: Uint8Array, destNode: Uint8Array, destQueue: Uint8Array): void {
    bytesArg(payload, 'payload');
    bytesArg(destNode, 'destNode', SIZES.hash);
    bytesArg(destQueue, 'destQueue', { min: 1, max: MAX_QUEUE_ID });
    const max = this.sphinx?.userForwardPayloadLength;
    if (max !== undefined && max > 0 && payload.length > max) {
      throw new PayloadTooLargeError(`payload of ${payload.length} bytes exceeds ${max} bytes`);
    }
  }

  /** send_message: no reply of its own. */
  private sendLegacy(body: RequestBody<'send_message'>, options: CallOptions): void {
    this.ensureOpen();
    options.signal?.throwIfAborted();
    if (!this.isConnected()) throw new NotConnectedError('the daemon is not connected to the mixnet');
    const bytes = this.encode('send_message', body);
    this.actorRef.send({ type: 'client.request', queryId: hex(randomId()), bytes });
  }

  /** Spawns an ARQ operation and waits for its outcome. */
  private startOp<K extends 'start_resending_encrypted_message' | 'start_resending_copy_command'>(
    kind: ArqKind,
    key: K,
    body: Omit<RequestBody<K>, 'query_id'>,
    cancelKey: Uint8Array,
    options: CallOptions,
  ): Promise<ArqReply> {
    this.ensureOpen();
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.isConnected()) {
      return Promise.reject(
        new NotConnectedError(
          this.isDaemonConnected()
            ? 'the daemon is not connected to the mixnet'
            : 'not connected to the daemon',
        ),
      );
    }
    const queryId = randomId();
    const request = this.encode(key, { ...body, query_id: queryId } as RequestBody<K>);
    const id = hex(queryId);
    return abortable<ArqReply>(
      signal,
      (d) => {
        this.ops.set(id, { kind, ...d });
        this.actorRef.send({
          type: 'client.startOp',
          op: { queryId: id, kind, request, cancelKey: hex(cancelKey) },
        });
      },
      () => {
        // As the matching cancel call would: the daemon stops, and so does the operation here.
        this.ops.delete(id);
        const cancel =
          kind === 'encryptedMessage'
            ? this.cancelResendingEncryptedMessage(cancelKey)
            : this.cancelResendingCopyCommand(cancelKey);
        cancel.catch(() => {});
      },
    );
  }

  private async cancel<K extends 'cancel_resending_encrypted_message' | 'cancel_resending_copy_command'>(
    key: K,
    body: Omit<RequestBody<K>, 'query_id'>,
    replyKey: ResponseKey,
    cancelKey: string,
    options: CallOptions,
  ): Promise<void> {
    this.ensureOpen();
    const { signal } = options;
    signal?.throwIfAborted();
    if (!this.isDaemonConnected()) {
      // Disconnected: nothing reaches the daemon; drop local tracking only.
      this.actorRef.send({ type: 'client.cancelOp', cancelKey });
      return;
    }
    const queryId = randomId();
    const bytes = this.encode(key, { ...body, query_id: queryId } as RequestBody<K>);
    const id = hex(queryId);
    await abortable<Record<string, unknown>>(
      signal,
      (d) => {
        this.pending.set(id, { operation: key, replyKey, resolveIfUnsent: true, ...d });
        this.actorRef.send({ type: 'client.cancelOp', cancelKey, request: { queryId: id, bytes } });
      },
      () => this.pending.delete(id),
    );
  }

  // ---- internals: what the actor tells us ----

  private onEmitted(emitted: ClientEmitted): void {
    switch (emitted.type) {
      case 'message':
        this.onMessage(emitted.message);
        break;
      case 'settled':
        this.onSettled(emitted.queryId, emitted.output);
        break;
      case 'unsent': {
        const p = this.pending.get(emitted.queryId);
        if (p) {
          this.pending.delete(emitted.queryId);
          if (p.resolveIfUnsent) p.resolve({});
          else p.reject(new NotConnectedError());
        }
        const op = this.ops.get(emitted.queryId);
        if (op) {
          this.ops.delete(emitted.queryId);
          op.reject(new NotConnectedError());
        }
        break;
      }
      case 'linkReady':
        this.onReady(emitted);
        break;
      case 'linkLost': {
        this.heldDuringHandshake = [];
        const error = new ConnectionLostError(
          emitted.requested ? 'disconnected from the daemon' : 'connection to the daemon lost',
          emitted.error ? { cause: emitted.error } : {},
        );
        this.rejectPending(error);
        if (!emitted.requested) {
          this.publish({
            type: 'daemonDisconnected',
            isGraceful: emitted.graceful,
            error: emitted.graceful ? undefined : toThinClientError(emitted.error, error),
          });
        }
        break;
      }
      case 'linkFailed': {
        const error = new NotConnectedError(
          `cannot connect to kpclientd at ${this.config.dial.address}: ${emitted.error.message}`,
          { cause: emitted.error },
        );
        this.firstReady?.reject(error);
        this.firstReady = undefined;
        this.rejectAll(
          new ConnectionLostError('gave up reconnecting to the daemon', { cause: emitted.error }),
        );
        break;
      }
      case 'protocolError':
        this.publish({
          type: 'protocolError',
          error:
            emitted.error instanceof ProtocolError
              ? emitted.error
              : new ProtocolError(emitted.error.message, { cause: emitted.error }),
        });
        break;
      case 'actorError':
        // A bug inside an actor; it has been contained. Operations settle as abandoned.
        break;
      case 'closed':
        this.onFinished();
        break;
    }
  }

  private onReady(ready: Extract<ClientEmitted, { type: 'linkReady' }>): void {
    if (ready.first) {
      const first = this.firstReady;
      this.firstReady = undefined;
      if (!this.sphinx || !this.pigeonhole) {
        first?.reject(new ProtocolError('the daemon sent no geometry in its handshake'));
        void this.close();
        return;
      }
      first?.resolve();
    }
    if (!ready.resumed) {
      // SURB replies queued for our old session are gone with it.
      for (const [key, w] of this.surbWaiters) {
        this.surbWaiters.delete(key);
        w.reject(new ConnectionLostError('the daemon lost the session; the reply will not arrive'));
      }
    }
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    for (const held of this.heldDuringHandshake.splice(0)) this.publish(held);
    this.publish({
      type: 'daemonConnected',
      instanceToken: ready.instanceToken,
      resumed: ready.resumed,
      replayed: ready.replayed,
    });
  }

  private onMessage(message: DecodedResponse): void {
    if (message.key !== 'unknown') {
      const body = message.body as { query_id?: Uint8Array; error_code?: number };
      if (body.query_id) {
        const id = hex(body.query_id);
        const p = this.pending.get(id);
        if (p) {
          this.pending.delete(id);
          if (message.key !== p.replyKey) {
            p.reject(new ProtocolError(`expected ${p.replyKey} for ${p.operation}, got ${message.key}`));
          } else if (body.error_code) {
            p.reject(errorForThinCode(body.error_code, p.operation));
          } else {
            p.resolve(body as Record<string, unknown>);
          }
          return;
        }
      }
    }
    let document: PkiDocument | null = null;
    switch (message.key) {
      case 'connection_status_event': {
        const { sphinx_geometry, pigeonhole_geometry, is_connected } = message.body;
        try {
          if (sphinx_geometry !== undefined) this.sphinx = sphinxGeometryFromWire(sphinx_geometry);
          if (pigeonhole_geometry !== undefined)
            this.pigeonhole = pigeonholeGeometryFromWire(pigeonhole_geometry);
        } catch (error) {
          this.publish({ type: 'protocolError', error: error as ProtocolError });
        }
        if (is_connected !== true) {
          for (const [key, w] of this.surbWaiters) {
            this.surbWaiters.delete(key);
            w.reject(new ConnectionLostError('the daemon lost its mixnet connection'));
          }
        }
        break;
      }
      case 'new_pki_document_event': {
        const payload = message.body.payload;
        if (payload && payload.length > 0) {
          try {
            document = decodePkiDocument(payload);
            this.document = document;
          } catch (error) {
            this.publish({
              type: 'protocolError',
              error:
                error instanceof ProtocolError ? error : new ProtocolError(String(error), { cause: error }),
            });
          }
        }
        break;
      }
      case 'message_reply_event': {
        const surb = message.body.surbid;
        const waiter = surb ? this.surbWaiters.get(hex(surb)) : undefined;
        if (surb && waiter) {
          this.surbWaiters.delete(hex(surb));
          waiter.resolve(message.body.payload ?? new Uint8Array(0));
        }
        break;
      }
    }
    const event = eventFromMessage(message, document);
    if (!event) return;
    if (!this.isDaemonConnected()) {
      this.heldDuringHandshake.push(event);
    } else {
      this.publish(event);
    }
  }

  private onSettled(queryId: string, output: ArqOutput): void {
    const op = this.ops.get(queryId);
    if (!op) return;
    this.ops.delete(queryId);
    switch (output.outcome) {
      case 'done':
        op.resolve(output.reply);
        break;
      case 'expected':
      case 'failed':
        if (op.kind === 'encryptedMessage') op.reject(errorForEncryptedMessageCode(output.errorCode));
        else {
          const reply = output.reply as ResponseBody<'start_resending_copy_command_reply'>;
          op.reject(
            errorForCopyCommandReply(
              output.errorCode,
              reply.replica_error_code ?? 0,
              reply.failed_envelope_index ?? 0n,
            ),
          );
        }
        break;
      case 'cancelled':
        op.reject(new OperationCancelledError());
        break;
      case 'closed':
        op.reject(new ClientClosedError());
        break;
      case 'abandoned':
        op.reject(new ConnectionLostError('the operation could not be completed', { cause: output.error }));
        break;
    }
  }

  private publish(event: ThinClientEvent): void {
    for (const queue of this.queues) queue.push(event);
    const targets = [...(this.listeners.get(event.type) ?? []), ...(this.listeners.get('*') ?? [])];
    if (targets.length === 0) return;
    // Never call user code from inside an actor transition.
    queueMicrotask(() => {
      for (const fn of targets) {
        try {
          fn(event);
        } catch {
          // A listener's failure must not disturb the client.
        }
      }
    });
  }

  /** Rejects calls that cannot survive a lost socket (everything but ARQ operations). */
  private rejectPending(error: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.resolveIfUnsent) p.resolve({});
      else p.reject(error);
    }
  }

  private rejectAll(error: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(error);
    }
    for (const [id, op] of this.ops) {
      this.ops.delete(id);
      op.reject(error);
    }
    for (const [id, w] of this.surbWaiters) {
      this.surbWaiters.delete(id);
      w.reject(error);
    }
    for (const w of this.readyWaiters.splice(0)) w.reject(error);
  }

  private onFatal(error: unknown): void {
    // The root actor itself failed (a bug): fail everything, never the process.
    const e = new ConnectionLostError('the thin client failed', { cause: error });
    this.firstReady?.reject(e);
    this.firstReady = undefined;
    this.rejectAll(e);
    this.onFinished();
  }

  private onFinished(): void {
    if (this.finished) return;
    this.finished = true;
    this.closing = true;
    this.firstReady?.reject(new ClientClosedError());
    this.firstReady = undefined;
    this.rejectAll(new ClientClosedError());
    for (const queue of this.queues) queue.end();
    this.resolveClosed();
  }
}

function toThinClientError(error: Error | undefined, fallback: ThinClientError): ThinClientError {
  return error instanceof ThinClientError ? error : fallback;
}

function validateReconnect(policy: Partial<ReconnectPolicy> | undefined): void {
  if (!policy) return;
  for (const name of ['initialDelayMs', 'maxDelayMs', 'factor', 'jitter', 'maxAttempts'] as const) {
    const value = policy[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new InvalidArgumentError(
        `reconnect.${name}`,
        `expected a non-negative number, got ${String(value)}`,
      );
    }
  }
  if (policy.factor !== undefined && policy.factor < 1) {
    throw new InvalidArgumentError('reconnect.factor', 'expected a number ≥ 1');
  }
  if (policy.jitter !== undefined && policy.jitter > 1) {
    throw new InvalidArgumentError('reconnect.jitter', 'expected a fraction in [0, 1]');
  }
}

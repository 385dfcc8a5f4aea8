/**
 * ThinClient: the promise API over the supervising client actor (machines/client.ts).
 *
 * Every method of the user guide is here under its camelCase name. A method checks and encodes its
 * request with the protocol layer (src/protocol), hands it as an event to the client's work
 * registry (actors/registry.ts), and turns the outcome into a promise. It keeps no table of pending
 * work: the registry owns every request, operation, copy stream and window.
 *
 * Requests made while the client redials wait for the connection (bounded by their deadline and
 * the queue limit; `failFast` rejects at once instead). Local requests (key generation, encryption,
 * envelope building) need the daemon socket but not the mixnet; start_resending_* and send_message*
 * need both and fail at once with NotConnectedError while the daemon reports no mixnet (the guide's
 * "prepare operations offline").
 */
import { type Actor, createActor } from 'xstate';
import { wiredClientMachine } from '../actors/wiring.js';
import type { ClientEmitted, clientMachine, LinkState } from '../machines/client.js';
import type { WorkStats } from '../machines/registry.js';
import {
  type BlockingSendOptions,
  type CallOptions,
  type Clock,
  type ConnectOptions,
  type CopyCommandOptions,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  validateConnectOptions,
} from './clientOptions.js';
import { type Config, loadConfig } from './config.js';
import { DaemonView } from './daemonView.js';
import {
  ClientClosedError,
  ConnectionLostError,
  NotConnectedError,
  ProtocolError,
  ThinClientError,
} from './errors.js';
import { EventHub } from './eventHub.js';
import type {
  EventOfType,
  EventsOptions,
  LaggedEvent,
  PigeonholeGeometry,
  SphinxGeometry,
  ThinClientEvent,
  ThinClientEventType,
} from './events.js';
import { redactInspection } from './inspector/redact.js';
import { type Logger, safeLogger } from './logger.js';
import {
  readStream as readStreamWith,
  type StreamOptions,
  writeStream as writeStreamWith,
} from './pigeonhole/streams.js';
import { findServices, type PkiDocument, type ServiceDescriptor } from './pki/index.js';
import {
  cancelResendingCopyCommand,
  cancelResendingEncryptedMessage,
  countArg,
  durationArg,
  hex,
  randomId,
  requests,
  sendMessageBody,
  startResendingCopyCommand,
  startResendingEncryptedMessage,
  vouchers,
} from './protocol/index.js';
import type {
  CourierEnvelopesResult,
  DestinationPayload,
  DirectoryAuthority,
  EncryptResult,
  KeypairResult,
  MultiPayloadEnvelopesResult,
  StartResendingParams,
  StartResendingResult,
  TombstoneEnvelope,
  TombstoneRangeEnvelopesResult,
  TombstoneRangeResult,
} from './protocol/types.js';
import type {
  VoucherInductResult,
  VoucherMintResult,
  VoucherOpenResult,
  VoucherStreamResult,
} from './protocol/voucherTypes.js';
import { RegistryCalls } from './registryCalls.js';
import { abortReason, settleOnce } from './settleOnce.js';
import { type ClientStatus, StatusFeed, type StatusOptions } from './status.js';
import type { RequestBody } from './wire/index.js';
import { SPAWN_WORK, type SpawnRequest } from './workSpawner.js';

// ---- public option and result types -----------------------------------------------------------

export type { LinkState } from '../machines/client.js';
export type { ReconnectPolicy } from '../machines/connection.js';
export type { WorkStats } from '../machines/registry.js';
export type {
  BlockingSendOptions,
  CallOptions,
  Clock,
  ConnectOptions,
  CopyCommandOptions,
} from './clientOptions.js';
export type { Logger } from './logger.js';
export type * from './protocol/types.js';
export type { ClientStatus, StatusOptions } from './status.js';

// ---- the client -------------------------------------------------------------------------------

export class ThinClient implements AsyncDisposable {
  /** The supervising root actor (systemId 'client'), for inspection and tests. */
  readonly actorRef: Actor<typeof clientMachine>;

  private readonly config: Config;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly hub = new EventHub();
  private readonly calls: RegistryCalls;
  private readonly statusFeed = new StatusFeed(() => this.currentStatus());
  private readonly daemon = new DaemonView(this.hub);
  private closing = false;
  private finished = false;
  private readonly closedPromise: Promise<Error | undefined>;
  private resolveClosed!: (error: Error | undefined) => void;
  private readStats: () => WorkStats = () => ({
    requests: 0,
    operations: 0,
    streams: 0,
    waiting: 0,
    surbReplies: 0,
  });
  private firstReady: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  private constructor(config: Config, options: ConnectOptions) {
    this.config = config;
    this.logger = safeLogger(options.logger);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const clock: Clock = options.clock ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    };
    this.actorRef = createActor(wiredClientMachine(), {
      systemId: 'client',
      input: {
        connection: {
          dial: config.dial,
          clientToken: randomId(),
          ...(options.reconnect ? { reconnect: options.reconnect } : {}),
          ...(options.handshakeTimeoutMs === undefined
            ? {}
            : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
        },
        registry: {
          clock,
          failFast: options.failFast ?? false,
          queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
          logger: this.logger,
          exposeStats: (read) => {
            this.readStats = read;
          },
        },
      },
      ...(options.inspect ? { inspect: redactInspection(options.inspect) } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.calls = new RegistryCalls(
      () => this.actorRef.system.get('registry'),
      () => this.ensureOpen(),
      this.requestTimeoutMs,
    );
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
    validateConnectOptions(options);
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

  // ---- connection state, status and events ----

  /** True when the daemon socket is up and the daemon reports a mixnet connection. */
  isConnected(): boolean {
    return this.actorRef.getSnapshot().matches({ live: { link: 'ready', mixnet: 'connected' } });
  }

  /** True while the socket to the daemon is up and its session ready (mixnet or not). */
  isDaemonConnected(): boolean {
    return this.actorRef.getSnapshot().matches({ live: { link: 'ready' } });
  }

  /** How much work the client holds now: requests, operations and streams in flight, and waiting. */
  stats(): WorkStats {
    return this.readStats();
  }

  /** The current status, then every change; ends when the client closes or `signal` aborts. */
  status(options: StatusOptions = {}): AsyncIterableIterator<ClientStatus> {
    return this.statusFeed.iterator(options);
  }

  /** A fresh event stream with its own bounded queue; ends on `signal`, on break, or on close. */
  events(options: EventsOptions = {}): AsyncIterableIterator<ThinClientEvent | LaggedEvent> {
    return this.hub.iterator(options);
  }

  /** Calls `fn` for each event of `type` ('*' for all); returns the unsubscribe function. */
  on<T extends ThinClientEventType>(type: T, fn: (event: EventOfType<T>) => void): () => void;
  on(type: '*', fn: (event: ThinClientEvent) => void): () => void;
  on(type: ThinClientEventType | '*', fn: (event: never) => void): () => void {
    return this.hub.on(type as ThinClientEventType, fn as (event: ThinClientEvent) => void);
  }

  /**
   * Sends thin_close (the daemon forgets this session and stops its retransmissions), closes the
   * socket and stops every actor of the tree. Pending calls reject with ClientClosedError.
   */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (this.actorRef.getSnapshot().status === 'active') this.actorRef.send({ type: 'client.close' });
      else this.onFinished();
    }
    await this.closedPromise;
  }

  /** Resolves once the client has closed: with the error that closed it, if one did. */
  closed(): Promise<Error | undefined> {
    return this.closedPromise;
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
  async waitForReady(signal?: AbortSignal): Promise<void> {
    if (this.isDaemonConnected()) return;
    if (this.finished || this.closing) throw new ClientClosedError();
    for await (const s of this.status({ signal })) {
      if (s.link === 'ready') return;
      if (s.link === 'failed') throw new ConnectionLostError('gave up reconnecting to the daemon');
      if (s.link === 'closed') throw new ClientClosedError();
    }
    if (signal?.aborted) throw abortReason(signal);
    throw new ClientClosedError();
  }

  // ---- services and the PKI document ----

  /** The decoded current PKI document (signatures stripped by the daemon), or null. */
  pkiDocument(): PkiDocument | null {
    return this.daemon.document;
  }

  /** Every service node offering `capability` in the current document. */
  getServices(capability: string): ServiceDescriptor[] {
    return this.daemon.document ? findServices(this.daemon.document, capability) : [];
  }

  /** One service offering `capability`, chosen at random; throws when there is none. */
  getService(capability: string): ServiceDescriptor {
    const services = this.getServices(capability);
    if (services.length === 0) {
      throw new ThinClientError(
        'ERR_SERVICE_NOT_FOUND',
        this.daemon.document
          ? `no service offers ${JSON.stringify(capability)}`
          : 'no PKI document available',
      );
    }
    return services[Math.floor(Math.random() * services.length)]!;
  }

  /** The daemon's Sphinx geometry (from the handshake). */
  get sphinxGeometry(): SphinxGeometry {
    return this.daemon.sphinx!;
  }

  /** The daemon's Pigeonhole geometry (from the handshake). */
  get pigeonholeGeometry(): PigeonholeGeometry {
    return this.daemon.pigeonhole!;
  }

  /** The signed PKI document (cert.Certificate CBOR) for `epoch` (0n: the current one). */
  getPkiDocumentRaw(epoch = 0n, options: CallOptions = {}): Promise<{ payload: Uint8Array; epoch: bigint }> {
    return this.calls.local(() => requests.getPkiDocumentRaw(epoch), options);
  }

  /** The directory authorities the daemon is configured with. */
  getDirectoryAuthorities(options: CallOptions = {}): Promise<DirectoryAuthority[]> {
    return this.calls.local(() => requests.getDirectoryAuthorities(), options);
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
    await this.calls.send(this.messageBody(surbId, payload, destNode, destQueue), undefined, options);
  }

  /** Sends `payload` to a service without a SURB; nothing comes back. */
  async sendMessageWithoutReply(
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    await this.calls.send(this.messageBody(null, payload, destNode, destQueue), undefined, options);
  }

  /** Sends `payload` with a private SURB and resolves with the reply payload. */
  async blockingSendMessage(
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
    options: BlockingSendOptions = {},
  ): Promise<Uint8Array> {
    const timeoutMs = durationArg(options.timeoutMs ?? 30_000, 'timeoutMs');
    const surbId = randomId();
    const body = this.messageBody(surbId, payload, destNode, destQueue);
    return (await this.calls.send(body, { id: hex(surbId), timeoutMs }, options)) as Uint8Array;
  }

  // ---- Pigeonhole: local requests ----

  /** Derives a channel from a 32-byte seed (local; no network traffic). */
  newKeypair(seed: Uint8Array, options: CallOptions = {}): Promise<KeypairResult> {
    return this.calls.local(() => requests.newKeypair(seed), options);
  }

  /** Encrypts `plaintext` for the box at `messageBoxIndex` (local). An empty plaintext is a tombstone. */
  encryptWrite(
    plaintext: Uint8Array,
    writeCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options: CallOptions = {},
  ): Promise<EncryptResult> {
    return this.calls.local(
      () =>
        requests.encryptWrite(
          plaintext,
          writeCap,
          messageBoxIndex,
          this.daemon.pigeonhole?.maxPlaintextPayloadLength,
        ),
      options,
    );
  }

  /** Prepares a read of the box at `messageBoxIndex` (local). */
  encryptRead(
    readCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options: CallOptions = {},
  ): Promise<EncryptResult> {
    return this.calls.local(() => requests.encryptRead(readCap, messageBoxIndex), options);
  }

  /** The index after `messageBoxIndex` (local). */
  nextMessageBoxIndex(messageBoxIndex: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return this.calls.local(() => requests.nextMessageBoxIndex(messageBoxIndex), options);
  }

  /** The 64-bit counter inside `messageBoxIndex` (local). */
  getMessageBoxIndexCounter(messageBoxIndex: Uint8Array, options: CallOptions = {}): Promise<bigint> {
    return this.calls.local(() => requests.getMessageBoxIndexCounter(messageBoxIndex), options);
  }

  /** Packs `payload` into copy-stream elements for one destination channel (local). */
  createCourierEnvelopesFromPayload(
    payload: Uint8Array,
    destWriteCap: Uint8Array,
    destStartIndex: Uint8Array,
    isStart: boolean,
    isLast: boolean,
    options: CallOptions = {},
  ): Promise<CourierEnvelopesResult> {
    return this.calls.local(
      () =>
        requests.createCourierEnvelopesFromPayload(payload, destWriteCap, destStartIndex, isStart, isLast),
      options,
    );
  }

  /** Packs payloads for several destination channels into one copy stream (local). */
  createCourierEnvelopesFromMultiPayload(
    destinations: DestinationPayload[],
    isStart: boolean,
    isLast: boolean,
    buffer?: Uint8Array | null,
    options: CallOptions = {},
  ): Promise<MultiPayloadEnvelopesResult> {
    return this.calls.local(
      () => requests.createCourierEnvelopesFromMultiPayload(destinations, isStart, isLast, buffer),
      options,
    );
  }

  /** Copy-stream elements that tombstone `maxCount` boxes from `destStartIndex` (local). */
  createCourierEnvelopesFromTombstoneRange(
    destWriteCap: Uint8Array,
    destStartIndex: Uint8Array,
    maxCount: number,
    isStart: boolean,
    isLast: boolean,
    buffer?: Uint8Array | null,
    options: CallOptions = {},
  ): Promise<TombstoneRangeEnvelopesResult> {
    return this.calls.local(
      () =>
        requests.createCourierEnvelopesFromTombstoneRange(
          destWriteCap,
          destStartIndex,
          maxCount,
          isStart,
          isLast,
          buffer,
        ),
      options,
    );
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
    requests.encryptWrite(new Uint8Array(0), writeCap, startIndex, undefined);
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
   * The transfer runs as a `window:<id>` actor under this client; see src/pigeonhole/README.md for
   * the privacy trade-off of keeping several boxes of one transfer in flight.
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

  /** Runs a copy stream or window actor under this client's registry (src/workSpawner.ts). */
  readonly [SPAWN_WORK] = (request: SpawnRequest): Promise<unknown> =>
    settleOnce<unknown>(
      undefined,
      (respond) => this.calls.tell({ type: 'registry.spawn', ...request, respond }),
      () => {},
    );

  // ---- Contact vouchers: local requests ----

  /** Mints a voucher from the joiner's MessageStream write cap (local). Keep `voucherSecretKey` secret. */
  voucherMint(
    messageWriteCap: Uint8Array,
    displayName: string,
    options: CallOptions = {},
  ): Promise<VoucherMintResult> {
    return this.calls.local(() => vouchers.voucherMint(messageWriteCap, displayName), options);
  }

  /** Checks a published voucher payload against its voucher and seals `whoReply` to the joiner (local). */
  voucherInduct(
    voucher: Uint8Array,
    voucherPayload: Uint8Array,
    whoReply: Uint8Array,
    options: CallOptions = {},
  ): Promise<VoucherInductResult> {
    return this.calls.local(() => vouchers.voucherInduct(voucher, voucherPayload, whoReply), options);
  }

  /** Opens the inductor's sealed reply and mutates the joiner's write cap by its salt (local). */
  voucherOpen(
    voucherSecretKey: Uint8Array,
    sealedReply: Uint8Array,
    messageWriteCap: Uint8Array,
    options: CallOptions = {},
  ): Promise<VoucherOpenResult> {
    return this.calls.local(
      () => vouchers.voucherOpen(voucherSecretKey, sealedReply, messageWriteCap),
      options,
    );
  }

  /** The VoucherStream caps of a voucher (local). */
  voucherDeriveStream(voucher: Uint8Array, options: CallOptions = {}): Promise<VoucherStreamResult> {
    return this.calls.local(() => vouchers.voucherDeriveStream(voucher), options);
  }

  // ---- Pigeonhole: ARQ operations ----

  /**
   * Sends a prepared read or write and waits for its outcome (the daemon retransmits until it has
   * one). Survives reconnects; replayed unchanged if the daemon restarted. BoxIDNotFound,
   * BoxAlreadyExists and Tombstone reject with errors for which `isExpectedOutcome` is true.
   */
  startResendingEncryptedMessage(
    params: StartResendingParams,
    options: CallOptions = {},
  ): Promise<StartResendingResult> {
    return this.calls.operation(() => startResendingEncryptedMessage(params), options);
  }

  /** Stops the operation with this envelope hash; its caller rejects with OperationCancelledError. */
  cancelResendingEncryptedMessage(envelopeHash: Uint8Array, options: CallOptions = {}): Promise<void> {
    return this.calls.cancel(() => cancelResendingEncryptedMessage(envelopeHash), options);
  }

  /**
   * Has a courier execute the copy stream written under `tempWriteCap` (all or nothing) and waits
   * until it reports success. Rejects with CopyCommandFailedError on failure.
   */
  async startResendingCopyCommand(tempWriteCap: Uint8Array, options: CopyCommandOptions = {}): Promise<void> {
    await this.calls.operation(
      () => startResendingCopyCommand(tempWriteCap, options.courierIdentityHash, options.courierQueueId),
      options,
    );
  }

  /** Stops the copy command whose temporary write cap hashes (BLAKE2b-256) to `writeCapHash`. */
  cancelResendingCopyCommand(writeCapHash: Uint8Array, options: CallOptions = {}): Promise<void> {
    return this.calls.cancel(() => cancelResendingCopyCommand(writeCapHash), options);
  }

  // ---- internals: method call → registry event → promise ----

  private ensureOpen(): void {
    if (this.closing || this.finished) throw new ClientClosedError();
  }

  /** send_message's body, checked against the Sphinx geometry's payload limit. */
  private messageBody(
    surbId: Uint8Array | null,
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
  ): RequestBody<'send_message'> {
    return sendMessageBody(
      surbId,
      payload,
      destNode,
      destQueue,
      this.daemon.sphinx?.userForwardPayloadLength,
    );
  }

  // ---- internals: what the actor tells us ----

  private currentStatus(): ClientStatus {
    const snapshot = this.actorRef.getSnapshot();
    if (snapshot.status !== 'active') {
      return { link: snapshot.context.error && !this.closing ? 'failed' : 'closed', mixnetConnected: false };
    }
    const value = snapshot.value as { live: { link: LinkState; mixnet: 'connected' | 'offline' } };
    return { link: value.live.link, mixnetConnected: value.live.mixnet === 'connected' };
  }

  private onEmitted(emitted: ClientEmitted): void {
    switch (emitted.type) {
      case 'message':
        this.daemon.onMessage(emitted.message, this.isDaemonConnected());
        break;
      case 'linkReady':
        this.onReady(emitted);
        break;
      case 'linkLost': {
        this.daemon.drop();
        this.logger.warn({ graceful: emitted.graceful, requested: emitted.requested }, 'daemon link lost');
        if (!emitted.requested) {
          const error = new ConnectionLostError(
            'connection to the daemon lost',
            emitted.error ? { cause: emitted.error } : {},
          );
          this.hub.publish({
            type: 'daemonDisconnected',
            isGraceful: emitted.graceful,
            error: emitted.graceful ? undefined : toThinClientError(emitted.error, error),
          });
        }
        break;
      }
      case 'linkFailed': {
        this.logger.error(
          { address: this.config.dial.address, err: emitted.error.message },
          'gave up connecting',
        );
        this.firstReady?.reject(
          new NotConnectedError(
            `cannot connect to kpclientd at ${this.config.dial.address}: ${emitted.error.message}`,
            {
              cause: emitted.error,
            },
          ),
        );
        this.firstReady = undefined;
        break;
      }
      case 'protocolError':
        this.logger.warn({ err: emitted.error.message }, 'protocol error from the daemon');
        this.hub.publish({
          type: 'protocolError',
          error:
            emitted.error instanceof ProtocolError
              ? emitted.error
              : new ProtocolError(emitted.error.message, { cause: emitted.error }),
        });
        break;
      case 'actorError':
        // A bug inside an actor; it has been contained.
        this.logger.error({ actor: emitted.actorId, err: String(emitted.error) }, 'actor failed');
        break;
      case 'mixnet':
        break;
      case 'closed':
        this.onFinished();
        return;
    }
    this.statusFeed.changed();
  }

  private onReady(ready: Extract<ClientEmitted, { type: 'linkReady' }>): void {
    this.logger.info({ resumed: ready.resumed, replayed: ready.replayed }, 'daemon session ready');
    if (ready.first) {
      const first = this.firstReady;
      this.firstReady = undefined;
      if (!this.daemon.sphinx || !this.daemon.pigeonhole) {
        first?.reject(new ProtocolError('the daemon sent no geometry in its handshake'));
        void this.close();
        return;
      }
      first?.resolve();
    }
    this.daemon.release();
    this.hub.publish({
      type: 'daemonConnected',
      instanceToken: ready.instanceToken,
      resumed: ready.resumed,
      replayed: ready.replayed,
    });
  }

  private onFatal(error: unknown): void {
    // The root actor itself failed (a bug): fail everything, never the process.
    this.logger.error({ err: String(error) }, 'the client actor failed');
    this.firstReady?.reject(new ConnectionLostError('the thin client failed', { cause: error }));
    this.firstReady = undefined;
    this.onFinished(error instanceof Error ? error : new Error(String(error)));
  }

  private onFinished(fatal?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.closing = true;
    this.firstReady?.reject(new ClientClosedError());
    this.firstReady = undefined;
    this.hub.end();
    this.statusFeed.end();
    const snapshot = this.actorRef.getSnapshot();
    this.resolveClosed(fatal ?? (snapshot.status === 'done' ? snapshot.context.error : undefined));
  }
}

function toThinClientError(error: Error | undefined, fallback: ThinClientError): ThinClientError {
  return error instanceof ThinClientError ? error : fallback;
}

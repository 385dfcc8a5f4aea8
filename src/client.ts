import {
  type BlockingSendOptions,
  type CallOptions,
  type ConnectOptions,
  type CopyCommandOptions,
  validateConnectOptions,
} from './clientOptions.js';
import { ClientSession } from './clientSession.js';
import { type Config, loadConfig } from './config.js';
import { ThinClientError } from './errors.js';
import type { PigeonholeGeometry, SphinxGeometry } from './events.js';
import {
  readStream as readStreamWith,
  type StreamOptions,
  writeStream as writeStreamWith,
} from './pigeonhole/streams.js';
import { findServices, type PkiDocument, type ServiceDescriptor } from './pki/index.js';
import { undialable } from './platform/dialable.js';
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
import { abortReason, settleOnce } from './settleOnce.js';
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

/**
 * A connection to kpclientd, the Katzenpost client daemon: every request of the thin-client protocol as
 * a method, plus events, status and lifecycle. It redials on its own after a lost connection, resumes its
 * daemon session, and replays what a restarted daemon lost.
 *
 * Errors: every method rejects only with a ThinClientError subclass, or with the `signal.reason` of an
 * aborted call. Each method names the errors particular to it; any request may also reject with:
 * - InvalidArgumentError: an argument is malformed (wrong length, type or range); nothing was sent.
 * - ClientClosedError: the client is closed, or closes while the call waits.
 * - NotConnectedError: after `disconnect()`; while redialling with `failFast`, or with `queueLimit`
 *   calls already waiting; for network calls, while the daemon has no mixnet connection.
 * - ConnectionLostError: the client gave up redialling (`reconnect.maxAttempts`), or `disconnect()`
 *   was called while a local request waited.
 * - TimeoutError: a local request had no reply within its deadline
 *   (`requestTimeoutMs`, or the call's `timeoutMs`).
 * - DaemonError, CourierError or PayloadTooLargeError: the daemon answered with that error code.
 *
 * @example
 * ```ts
 * import { ThinClient, loadConfig } from 'katzenpost-thin-client';
 *
 * await using client = await ThinClient.connect(await loadConfig('thinclient.toml'));
 * const [destNode, destQueue] = client.getService('echo').toDestination();
 * const reply = await client.blockingSendMessage(new TextEncoder().encode('hello'), destNode, destQueue);
 * ```
 */
export class ThinClient extends ClientSession {
  /**
   * Connects to kpclientd (a Config, or the path of a thinclient.toml) and completes the handshake.
   * Rejects with NotConnectedError when the daemon cannot be reached, or with `signal.reason`.
   *
   * @throws ConfigError when `configOrPath` is a path and the file cannot be read or is not a valid
   * thinclient.toml.
   * @throws InvalidArgumentError when an option is out of range (e.g. `reconnect.factor` below 1).
   * @throws NotConnectedError when the dial or handshake fails (after `reconnect.maxAttempts` redials).
   * @throws ProtocolError when the daemon's handshake carries no geometry.
   * @example
   * ```ts
   * const client = await ThinClient.connect('thinclient.toml', { signal: AbortSignal.timeout(10_000) });
   * client.on('connectionStatus', (ev) => console.log('mixnet', ev.isConnected));
   * ```
   */
  static async connect(configOrPath: Config | string, options: ConnectOptions = {}): Promise<ThinClient> {
    const { signal } = options;
    signal?.throwIfAborted();
    const config = typeof configOrPath === 'string' ? await loadConfig(configOrPath) : configOrPath;
    validateConnectOptions(options);
    const refusal = undialable(config.dial);
    if (refusal) throw refusal;
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

  // ---- services and the PKI document ----

  /** The decoded current PKI document (signatures stripped by the daemon), or null. */
  pkiDocument(): PkiDocument | null {
    return this.daemon.document;
  }

  /** Every service node offering `capability` in the current document. */
  getServices(capability: string): ServiceDescriptor[] {
    return this.daemon.document ? findServices(this.daemon.document, capability) : [];
  }

  /**
   * One service offering `capability`, chosen at random; throws when there is none.
   *
   * @throws ThinClientError with code `ERR_SERVICE_NOT_FOUND` when no node offers it (or there is no
   * PKI document yet).
   * @example
   * ```ts
   * const [destNode, destQueue] = client.getService('echo').toDestination();
   * ```
   */
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

  /**
   * The signed PKI document (cert.Certificate CBOR) for `epoch` (0n: the current one), as the daemon
   * holds it; check it with `verifyPkiDocument` against keys you trust.
   *
   * @throws DaemonError when the daemon has no document for that epoch.
   * @example
   * ```ts
   * const { payload, epoch } = await client.getPkiDocumentRaw();
   * const document = decodePkiDocument(verifyPkiDocument(payload, trustedKeys));
   * ```
   */
  getPkiDocumentRaw(
    epoch = 0n,
    options: CallOptions = {},
  ): Promise<{
    /** The signed document: cert.Certificate CBOR, as the authorities signed it. */
    payload: Uint8Array;
    /** The epoch the document is for. */
    epoch: bigint;
  }> {
    return this.calls.local(() => requests.getPkiDocumentRaw(epoch), options);
  }

  /** The directory authorities the daemon is configured with. */
  getDirectoryAuthorities(options: CallOptions = {}): Promise<DirectoryAuthority[]> {
    return this.calls.local(() => requests.getDirectoryAuthorities(), options);
  }

  // ---- legacy messaging ----

  /**
   * Sends `payload` to a service with a SURB: the daemon reports `messageSent`, then (usually)
   * `messageReply` with the same `surbId`. Resolves once the request is handed to the daemon.
   *
   * @throws InvalidArgumentError when `surbId` is not 16 bytes, `destNode` not 32 bytes or `destQueue` empty.
   * @throws PayloadTooLargeError when `payload` exceeds `sphinxGeometry.userForwardPayloadLength`.
   * @throws NotConnectedError unless the daemon session is ready and has a mixnet connection.
   * @example
   * ```ts
   * const surbId = crypto.getRandomValues(new Uint8Array(16));
   * client.on('messageReply', (ev) => console.log('reply', ev.payload));
   * await client.sendMessage(surbId, payload, destNode, destQueue);
   * ```
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

  /**
   * Sends `payload` to a service without a SURB; nothing comes back.
   *
   * @throws PayloadTooLargeError when `payload` exceeds `sphinxGeometry.userForwardPayloadLength`.
   * @throws NotConnectedError unless the daemon session is ready and has a mixnet connection.
   */
  async sendMessageWithoutReply(
    payload: Uint8Array,
    destNode: Uint8Array,
    destQueue: Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    await this.calls.send(this.messageBody(null, payload, destNode, destQueue), undefined, options);
  }

  /**
   * Sends `payload` with a private SURB and resolves with the reply payload (which may carry trailing
   * padding).
   *
   * @throws PayloadTooLargeError when `payload` exceeds `sphinxGeometry.userForwardPayloadLength`.
   * @throws NotConnectedError unless the daemon session is ready and has a mixnet connection.
   * @throws ConnectionLostError when the daemon loses the session or its mixnet link before the reply.
   * @throws TimeoutError when no reply arrives within `timeoutMs` (default 30 s).
   * @example
   * ```ts
   * const [destNode, destQueue] = client.getService('echo').toDestination();
   * const reply = await client.blockingSendMessage(payload, destNode, destQueue, { timeoutMs: 10_000 });
   * ```
   */
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

  /**
   * Derives a channel from a 32-byte seed (local; no network traffic): the write cap (keep it secret),
   * the read cap (share it with readers) and the index of the channel's first box.
   *
   * @throws InvalidArgumentError when `seed` is not 32 bytes.
   * @example
   * ```ts
   * const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(
   *   crypto.getRandomValues(new Uint8Array(32)),
   * );
   * ```
   */
  newKeypair(seed: Uint8Array, options: CallOptions = {}): Promise<KeypairResult> {
    return this.calls.local(() => requests.newKeypair(seed), options);
  }

  /**
   * Encrypts `plaintext` for the box at `messageBoxIndex` (local). An empty plaintext is a tombstone.
   * Send the result with `startResendingEncryptedMessage`.
   *
   * @throws InvalidArgumentError when `writeCap` or `messageBoxIndex` has the wrong length.
   * @throws PayloadTooLargeError when `plaintext` exceeds `pigeonholeGeometry.maxPlaintextPayloadLength`.
   * @example
   * ```ts
   * const w = await client.encryptWrite(new TextEncoder().encode('hi'), writeCap, firstMessageIndex);
   * await client.startResendingEncryptedMessage({ writeCap, messageBoxIndex: firstMessageIndex, ...w });
   * ```
   */
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

  /**
   * Prepares a read of the box at `messageBoxIndex` (local). Send the result with
   * `startResendingEncryptedMessage`; its `plaintext` is the box's content.
   *
   * @throws InvalidArgumentError when `readCap` or `messageBoxIndex` has the wrong length.
   * @example
   * ```ts
   * const r = await client.encryptRead(readCap, index);
   * const { plaintext } = await client.startResendingEncryptedMessage({ readCap, messageBoxIndex: index, ...r });
   * ```
   */
  encryptRead(
    readCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options: CallOptions = {},
  ): Promise<EncryptResult> {
    return this.calls.local(() => requests.encryptRead(readCap, messageBoxIndex), options);
  }

  /**
   * The index after `messageBoxIndex` (local).
   *
   * @throws InvalidArgumentError when `messageBoxIndex` has the wrong length.
   */
  nextMessageBoxIndex(messageBoxIndex: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return this.calls.local(() => requests.nextMessageBoxIndex(messageBoxIndex), options);
  }

  /**
   * The 64-bit counter inside `messageBoxIndex` (local).
   *
   * @throws InvalidArgumentError when `messageBoxIndex` has the wrong length.
   */
  getMessageBoxIndexCounter(messageBoxIndex: Uint8Array, options: CallOptions = {}): Promise<bigint> {
    return this.calls.local(() => requests.getMessageBoxIndexCounter(messageBoxIndex), options);
  }

  /**
   * Packs `payload` into copy-stream elements for one destination channel (local). Write each element
   * to a temporary channel, then have a courier copy it with `startResendingCopyCommand`; `copyToChannel`
   * does all of that.
   *
   * @throws InvalidArgumentError when `destWriteCap` or `destStartIndex` has the wrong length.
   */
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

  /**
   * Packs payloads for several destination channels into one copy stream (local). Pass the returned
   * `buffer` to the next call of the same stream; `isLast` flushes it.
   *
   * @throws InvalidArgumentError when a destination's write cap or start index has the wrong length.
   */
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

  /**
   * Copy-stream elements that tombstone `maxCount` boxes from `destStartIndex` (local).
   *
   * @throws InvalidArgumentError when `destWriteCap` or `destStartIndex` has the wrong length, or
   * `maxCount` is not an integer in [0, 2³²).
   */
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
   *
   * @throws InvalidArgumentError when `writeCap` or `startIndex` has the wrong length, or `maxCount` is
   * not an integer in [0, 2³²).
   * @example
   * ```ts
   * const { envelopes } = await client.tombstoneRange(writeCap, startIndex, 3);
   * for (const e of envelopes) {
   *   await client.startResendingEncryptedMessage({ writeCap, messageBoxIndex: e.boxIndex, ...e });
   * }
   * ```
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
   *
   * @throws InvalidArgumentError when `writeCap` or `startIndex` has the wrong length, or `window` is
   * not a non-negative integer.
   * @throws BoxAlreadyExistsError when a box in the range already holds a different message.
   * @example
   * ```ts
   * const next = await client.writeStream(writeCap, firstMessageIndex, bigPayload, 0, {
   *   onProgress: (p) => console.log(`${p.boxesDone}/${p.boxCount} boxes`),
   * });
   * ```
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
   * A box not yet written is polled until it appears (or `signal` aborts).
   *
   * @throws InvalidArgumentError when `readCap` or `startIndex` has the wrong length, or `boxCount` or
   * `window` is not a non-negative integer.
   * @throws TombstoneError when a box of the range was deleted.
   * @example
   * ```ts
   * const { data, nextIndex } = await client.readStream(readCap, firstMessageIndex, boxCount);
   * ```
   */
  readStream(
    readCap: Uint8Array,
    startIndex: Uint8Array,
    boxCount: number,
    window = 0,
    options: StreamOptions = {},
  ): Promise<{
    /** The bytes writeStream wrote, exactly. */
    data: Uint8Array;
    /** The index after the last box read. */
    nextIndex: Uint8Array;
  }> {
    return readStreamWith(this, readCap, startIndex, boxCount, window, options);
  }

  /**
   * Runs a copy stream or window actor under this client's registry (src/workSpawner.ts).
   * @internal
   */
  readonly [SPAWN_WORK] = (request: SpawnRequest): Promise<unknown> =>
    settleOnce<unknown>(
      undefined,
      (respond) => this.calls.tell({ type: 'registry.spawn', ...request, respond }),
      () => {},
    );

  // ---- Contact vouchers: local requests ----

  /**
   * Mints a voucher from the joiner's MessageStream write cap (local). Keep `voucherSecretKey` secret.
   *
   * @throws InvalidArgumentError when `messageWriteCap` has the wrong length or `displayName` is not a
   * string.
   * @example
   * ```ts
   * const m = await client.voucherMint(messageWriteCap, 'alice');
   * // publish m.voucherPayload under m.voucherWriteCap; hand m.voucher to the inductor
   * ```
   */
  voucherMint(
    messageWriteCap: Uint8Array,
    displayName: string,
    options: CallOptions = {},
  ): Promise<VoucherMintResult> {
    return this.calls.local(() => vouchers.voucherMint(messageWriteCap, displayName), options);
  }

  /**
   * Checks a published voucher payload against its voucher and seals `whoReply` to the joiner (local).
   *
   * @throws VoucherHashMismatchError when `voucherPayload` does not hash to `voucher`.
   * @throws VoucherSignatureInvalidError when the payload's signature does not verify.
   */
  voucherInduct(
    voucher: Uint8Array,
    voucherPayload: Uint8Array,
    whoReply: Uint8Array,
    options: CallOptions = {},
  ): Promise<VoucherInductResult> {
    return this.calls.local(() => vouchers.voucherInduct(voucher, voucherPayload, whoReply), options);
  }

  /**
   * Opens the inductor's sealed reply and mutates the joiner's write cap by its salt (local).
   *
   * @throws VoucherSealOpenFailedError when `sealedReply` cannot be opened with `voucherSecretKey`.
   */
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

  /**
   * The VoucherStream caps of a voucher (local).
   *
   * @throws InvalidArgumentError when `voucher` has the wrong length.
   */
  voucherDeriveStream(voucher: Uint8Array, options: CallOptions = {}): Promise<VoucherStreamResult> {
    return this.calls.local(() => vouchers.voucherDeriveStream(voucher), options);
  }

  // ---- Pigeonhole: ARQ operations ----

  /**
   * Sends a prepared read or write and waits for its outcome (the daemon retransmits until it has
   * one). Survives reconnects; replayed unchanged if the daemon restarted. BoxIDNotFound,
   * BoxAlreadyExists and Tombstone reject with errors for which `isExpectedOutcome` is true.
   * Aborting `signal` cancels the operation at the daemon, as `cancelResendingEncryptedMessage` would.
   *
   * @throws BoxIdNotFoundError when a read finds no box (only with `noRetryOnBoxIdNotFound`; otherwise
   * the daemon keeps polling until the box appears).
   * @throws BoxAlreadyExistsError when a write finds the box holding a different message.
   * @throws TombstoneError when a read finds the box deleted.
   * @throws OperationCancelledError when it is cancelled.
   * @throws ReplicaError or CourierError when a replica or the courier rejects the envelope.
   * @throws NotConnectedError when the daemon has no mixnet connection (now, or when a lost operation
   * is replayed).
   * @example
   * ```ts
   * const r = await client.encryptRead(readCap, index);
   * try {
   *   const { plaintext } = await client.startResendingEncryptedMessage(
   *     { readCap, messageBoxIndex: index, ...r },
   *     { signal: AbortSignal.timeout(60_000) },
   *   );
   * } catch (err) {
   *   if (!isExpectedOutcome(err)) throw err;
   * }
   * ```
   */
  startResendingEncryptedMessage(
    params: StartResendingParams,
    options: CallOptions = {},
  ): Promise<StartResendingResult> {
    return this.calls.operation(() => startResendingEncryptedMessage(params), options);
  }

  /**
   * Stops the operation with this envelope hash; its caller rejects with OperationCancelledError.
   *
   * @throws InvalidArgumentError when `envelopeHash` is not 32 bytes.
   */
  cancelResendingEncryptedMessage(envelopeHash: Uint8Array, options: CallOptions = {}): Promise<void> {
    return this.calls.cancel(() => cancelResendingEncryptedMessage(envelopeHash), options);
  }

  /**
   * Has a courier execute the copy stream written under `tempWriteCap` (all or nothing) and waits
   * until it reports success. Rejects with CopyCommandFailedError on failure.
   *
   * @throws CopyCommandFailedError when the courier could not execute the stream (`replicaErrorCode`
   * and `failedEnvelopeIndex` say where).
   * @throws OperationCancelledError when it is cancelled (`cancelResendingCopyCommand` or `signal`).
   * @throws InvalidArgumentError when `tempWriteCap` has the wrong length, or only one of
   * `courierIdentityHash` and `courierQueueId` is given.
   * @example
   * ```ts
   * await client.startResendingCopyCommand(tempWriteCap, { signal });
   * ```
   */
  async startResendingCopyCommand(tempWriteCap: Uint8Array, options: CopyCommandOptions = {}): Promise<void> {
    await this.calls.operation(
      () => startResendingCopyCommand(tempWriteCap, options.courierIdentityHash, options.courierQueueId),
      options,
    );
  }

  /**
   * Stops the copy command whose temporary write cap hashes (BLAKE2b-256) to `writeCapHash`.
   *
   * @throws InvalidArgumentError when `writeCapHash` is not 32 bytes.
   */
  cancelResendingCopyCommand(writeCapHash: Uint8Array, options: CallOptions = {}): Promise<void> {
    return this.calls.cancel(() => cancelResendingCopyCommand(writeCapHash), options);
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
}

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

export class ThinClient extends ClientSession {
  /**
   * Connects to kpclientd (a Config, or the path of a thinclient.toml) and completes the handshake.
   * Rejects with NotConnectedError when the daemon cannot be reached, or with `signal.reason`.
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

/**
 * ThinClient's first layer of requests above the session: the PKI document and its services, the
 * handshake's geometries, and legacy (SURB) messaging to a service.
 */
import type { BlockingSendOptions, CallOptions } from '../clientOptions.js';
import { ClientSession } from '../clientSession.js';
import { ThinClientError } from '../errors.js';
import type { PigeonholeGeometry, SphinxGeometry } from '../events.js';
import { findServices, type PkiDocument, type ServiceDescriptor } from '../pki/index.js';
import { durationArg, hex, randomId, requests, sendMessageBody } from '../protocol/index.js';
import type { DirectoryAuthority } from '../protocol/types.js';
import type { RequestBody } from '../wire/index.js';

/** Services, the PKI document and legacy messaging: the requests that need no Pigeonhole. */
export abstract class ServicesClient extends ClientSession {
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

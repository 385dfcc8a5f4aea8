/**
 * ThinClient's single-box Pigeonhole requests: deriving a channel, preparing a read or write of one
 * box (local), and sending it as an ARQ operation the daemon retransmits until it has an outcome.
 */
import type { CallOptions } from '../clientOptions.js';
import {
  cancelResendingEncryptedMessage,
  countArg,
  requests,
  startResendingEncryptedMessage,
} from '../protocol/index.js';
import type {
  EncryptResult,
  KeypairResult,
  StartResendingParams,
  StartResendingResult,
  TombstoneEnvelope,
  TombstoneRangeResult,
} from '../protocol/types.js';
import { ServicesClient } from './services.js';

/** One Pigeonhole box at a time: caps and indices, encrypted reads and writes, and their ARQ. */
export abstract class BoxClient extends ServicesClient {
  // ---- local requests ----

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

  // ---- ARQ operations ----

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
}

/**
 * ThinClient's Pigeonhole transfers across many boxes: windowed streams (src/pigeonhole/streams.ts),
 * and copy streams that a courier executes into destination channels. Both run as actors under the
 * client (src/workSpawner.ts).
 */
import type { CallOptions, CopyCommandOptions } from '../clientOptions.js';
import {
  readStream as readStreamWith,
  type StreamOptions,
  writeStream as writeStreamWith,
} from '../pigeonhole/streams.js';
import { cancelResendingCopyCommand, requests, startResendingCopyCommand } from '../protocol/index.js';
import type {
  CourierEnvelopesResult,
  DestinationPayload,
  MultiPayloadEnvelopesResult,
  TombstoneRangeEnvelopesResult,
} from '../protocol/types.js';
import { settleOnce } from '../settleOnce.js';
import { SPAWN_WORK, type SpawnRequest } from '../workSpawner.js';
import { BoxClient } from './boxes.js';

/** Many boxes at once: windowed streams, and courier copy streams with their copy commands. */
export abstract class TransferClient extends BoxClient {
  // ---- windowed streams ----

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
  // ---- copy streams: local packing, then the courier's copy command ----

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
}

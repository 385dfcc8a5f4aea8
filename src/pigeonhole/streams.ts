/**
 * writeStream / readStream: a multi-box payload moved with several single-box operations in flight
 * (the guide's "How to send and receive a large payload with the stream API"), built in the thin client
 * from independent ARQ operations. See README.md in this folder for the privacy trade-off.
 *
 * Format: the payload is cut into boxes of MaxPlaintextPayloadLength − 4 bytes; each box is one
 * EncryptWrite, whose padding carries the box's 4-byte length tag, so readStream returns exactly the
 * bytes written, and a reader derives the box count as ceil(length / (Max − 4)). An empty payload
 * writes no box (an empty box would be a tombstone).
 *
 * Window: `window` operations in flight at most; 0 = automatic, sized from the current PKI document's
 * send and mixing rates by windowSizing.ts (a closed-queue model of the send slots), capped at 15
 * (below the daemon's per-app queue of 16, so a cancel is never stuck behind a full queue).
 * Only a box whose own operation fails with a retryable error is tried again (up to `maxAttempts`);
 * lost packets are already retransmitted per box by the daemon's ARQ. By default each further box is
 * admitted after an Exp(mean 1/LambdaP) gap, so couriers see the arrival pattern of ordinary
 * single-box use; `pacing: false` turns that off.
 */

import type { AnyActorRef } from 'xstate';
import { type RunWindowOptions, runWindow, type StreamProgress } from '../../actors/window.js';
import { advanceIndexTo, indexCounter, nextIndex } from '../crypto/bacap.js';
import { InvalidArgumentError, NotConnectedError } from '../errors.js';
import type { PigeonholeGeometry, SphinxGeometry } from '../events.js';
import type { PkiDocument } from '../pki/document.js';
import { bytesArg } from '../protocol/args.js';
import type { EncryptResult, StartResendingParams, StartResendingResult } from '../protocol/types.js';
import { SIZES } from '../wire/schema.js';
import { OP_PARENT, SPAWN_WORK, type SpawnsWork } from '../workSpawner.js';
import * as sizing from './windowSizing.js';

export type { StreamProgress } from '../../actors/window.js';

/** The part of a thin client the streams use (ThinClient satisfies it; tests may pass a stand-in). */
export interface StreamClient extends SpawnsWork {
  encryptWrite(
    plaintext: Uint8Array,
    writeCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options?: StreamCallOptions,
  ): Promise<EncryptResult>;
  encryptRead(
    readCap: Uint8Array,
    messageBoxIndex: Uint8Array,
    options?: StreamCallOptions,
  ): Promise<EncryptResult>;
  startResendingEncryptedMessage(
    params: StartResendingParams,
    options?: StreamCallOptions,
  ): Promise<StartResendingResult>;
  readonly pigeonholeGeometry: PigeonholeGeometry;
  readonly sphinxGeometry: SphinxGeometry;
  pkiDocument(): PkiDocument | null;
}

/** What a stream passes to each call: its signal, and the window that parents the box operation. */
export interface StreamCallOptions {
  signal?: AbortSignal;
  [OP_PARENT]?: AnyActorRef;
}

/** Options of `writeStream` and `readStream`. */
export interface StreamOptions {
  /** Aborting cancels every box operation in flight at the daemon; the call rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called as boxes complete. */
  onProgress?: (progress: StreamProgress) => void;
  /**
   * Admission pacing: true (default) = an Exp(1/LambdaP) gap before each further box; false = admit
   * as fast as the window allows; `{ meanGapMs }` = that mean instead of 1/LambdaP.
   */
  pacing?:
    | boolean
    | {
        /** The mean admission gap in ms. */
        meanGapMs: number;
      };
  /** Attempts per box, the first included. Default 3. */
  maxAttempts?: number;
  /** Passed to the transfer actor (XState inspection). */
  inspect?: RunWindowOptions['inspect'];
}

export { MAX_AUTO_WINDOW } from './windowSizing.js';

/**
 * The automatic window for these rates (src/pigeonhole/windowSizing.ts: the smallest window whose
 * closed-queue throughput reaches the send-slot rate, capped at 15); 1 when the rates are unusable.
 */
export function autoWindow(lambdaP: number, mu: number, nrHops: number, paced = true): number {
  return sizing.autoWindow({ lambdaP, mu }, nrHops, paced);
}

/** `window`, or the automatic window for 0. */
export function resolveWindow(client: StreamClient, window: number, paced = true): number {
  if (!Number.isSafeInteger(window) || window < 0) {
    throw new InvalidArgumentError('window', `must be a non-negative integer, got ${String(window)}`);
  }
  const geometry = client.sphinxGeometry as StreamClient['sphinxGeometry'] | undefined;
  return sizing.resolveAutoWindow(window, client.pkiDocument(), geometry, paced);
}

function pacingOf(
  client: StreamClient,
  pacing: StreamOptions['pacing'],
): { pacing: boolean; meanGapMs: number } {
  if (pacing === false) return { pacing: false, meanGapMs: 0 };
  if (typeof pacing === 'object') return { pacing: pacing.meanGapMs > 0, meanGapMs: pacing.meanGapMs };
  // The daemon's own send rate, as its PKI document advertises it (the devnet's match its profiles).
  return { pacing: true, meanGapMs: sizing.meanAdmissionGapMs(client.pkiDocument()?.lambdaP) };
}

/** Destination bytes per box for the stream API: MaxPlaintextPayloadLength − 4. */
export function streamBoxPayloadLength(client: Pick<StreamClient, 'pigeonholeGeometry'>): number {
  // The getter is undefined until the first connection status arrives.
  const max = (client.pigeonholeGeometry as StreamClient['pigeonholeGeometry'] | undefined)
    ?.maxPlaintextPayloadLength;
  if (max === undefined)
    throw new NotConnectedError('the Pigeonhole geometry is not known yet (no connection status)');
  if (max <= 4)
    throw new InvalidArgumentError('pigeonholeGeometry', `MaxPlaintextPayloadLength ${max} is too small`);
  return max - 4;
}

/** Boxes a payload of `length` bytes takes in a stream. */
export function streamBoxCount(length: number, boxPayloadLength: number): number {
  return Math.ceil(length / boxPayloadLength);
}

/**
 * The box indices of a stream, from the BACAP ratchet. Fresh boxes are admitted in order, so a cursor
 * walks forward one step per box and nothing is kept per box; a retry (rare) of a box behind the
 * cursor ratchets again from the start.
 */
class IndexCursor {
  #k = 0;
  #index: Uint8Array;
  readonly #start: Uint8Array;
  readonly #startCounter: bigint;
  constructor(start: Uint8Array) {
    this.#start = start;
    this.#index = start;
    this.#startCounter = indexCounter(start);
  }
  /** The index `k` boxes after the start. */
  at(k: number): Uint8Array {
    if (k < this.#k) return advanceIndexTo(this.#start, this.#startCounter + BigInt(k));
    while (this.#k < k) {
      this.#index = nextIndex(this.#index);
      this.#k += 1;
    }
    return this.#index;
  }
}

function windowInput(client: StreamClient, boxCount: number, window: number, options: StreamOptions) {
  return {
    boxCount,
    window: resolveWindow(client, window, options.pacing !== false),
    ...pacingOf(client, options.pacing),
    maxAttempts: options.maxAttempts ?? 3,
  };
}

/**
 * Writes `payload` to consecutive boxes from `startIndex` with up to `window` writes in flight
 * (0 = automatic). Resolves with the index after the last box written (`startIndex` for an empty
 * payload). Rejects with the error of a box that failed for good, or with `signal.reason`.
 *
 * @throws InvalidArgumentError when `writeCap` or `startIndex` has the wrong length, `payload` is not a
 * Uint8Array, or `window` is not a non-negative integer.
 * @throws NotConnectedError when the Pigeonhole geometry is not known yet.
 * @throws BoxAlreadyExistsError when a box already holds a different message.
 * @example
 * ```ts
 * const next = await writeStream(client, writeCap, firstMessageIndex, payload, 0);
 * ```
 */
export async function writeStream(
  client: StreamClient,
  writeCap: Uint8Array,
  startIndex: Uint8Array,
  payload: Uint8Array,
  window: number,
  options: StreamOptions = {},
): Promise<Uint8Array> {
  bytesArg(writeCap, 'writeCap', SIZES.writeCap);
  bytesArg(startIndex, 'startIndex', SIZES.messageBoxIndex);
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('payload', 'must be a Uint8Array');
  const per = streamBoxPayloadLength(client);
  const boxCount = streamBoxCount(payload.length, per);
  const input = windowInput(client, boxCount, window, options);
  const indices = new IndexCursor(startIndex);
  await runWindow(
    input,
    // A promise chain rather than an async function: a suspended async function keeps its locals
    // (the envelope, which the client has already copied into its request) alive until it resumes.
    (k, _attempt, signal, window) =>
      client
        .encryptWrite(
          payload.subarray(k * per, Math.min(payload.length, (k + 1) * per)),
          writeCap,
          indices.at(k),
        )
        .then((e) => {
          signal.throwIfAborted();
          return client.startResendingEncryptedMessage(
            {
              writeCap,
              envelopeDescriptor: e.envelopeDescriptor,
              messageCiphertext: e.messageCiphertext,
              envelopeHash: e.envelopeHash,
            },
            { signal, [OP_PARENT]: window },
          );
        })
        .then(() => undefined),
    { ...options, spawn: client[SPAWN_WORK] },
  );
  return indices.at(boxCount).slice();
}

/**
 * Reads `boxCount` consecutive boxes from `startIndex` with up to `window` reads in flight
 * (0 = automatic) and returns their plaintexts concatenated in index order, and the index after the
 * last box. A box that is not there yet is waited for (the daemon re-polls BoxIDNotFound); a
 * tombstoned box rejects the whole read with TombstoneError.
 *
 * @throws InvalidArgumentError when `readCap` or `startIndex` has the wrong length, or `boxCount` or
 * `window` is out of range.
 * @throws TombstoneError when a box of the range was deleted.
 * @example
 * ```ts
 * const { data } = await readStream(client, readCap, firstMessageIndex, boxCount, 0, { signal });
 * ```
 */
export async function readStream(
  client: StreamClient,
  readCap: Uint8Array,
  startIndex: Uint8Array,
  boxCount: number,
  window: number,
  options: StreamOptions = {},
): Promise<{
  /** The boxes' plaintexts, concatenated in index order. */
  data: Uint8Array;
  /** The index after the last box read. */
  nextIndex: Uint8Array;
}> {
  bytesArg(readCap, 'readCap', SIZES.readCap);
  bytesArg(startIndex, 'startIndex', SIZES.messageBoxIndex);
  if (!Number.isSafeInteger(boxCount) || boxCount < 0 || boxCount > 0xffff_ffff) {
    throw new InvalidArgumentError('boxCount', `must be an integer in [0, 2^32), got ${String(boxCount)}`);
  }
  const input = windowInput(client, boxCount, window, options);
  const indices = new IndexCursor(startIndex);
  const boxes: (Uint8Array | undefined)[] = new Array(boxCount);
  await runWindow(
    input,
    (k, _attempt, signal, window) => {
      const index = indices.at(k);
      return client
        .encryptRead(readCap, index)
        .then((e) => {
          signal.throwIfAborted();
          return client.startResendingEncryptedMessage(
            {
              readCap,
              messageBoxIndex: index,
              envelopeDescriptor: e.envelopeDescriptor,
              messageCiphertext: e.messageCiphertext,
              envelopeHash: e.envelopeHash,
            },
            { signal, [OP_PARENT]: window },
          );
        })
        .then((reply) => {
          boxes[k] = reply.plaintext;
        });
    },
    { ...options, spawn: client[SPAWN_WORK] },
  );
  let length = 0;
  for (const b of boxes) length += b!.length;
  const data = new Uint8Array(length);
  let offset = 0;
  for (const b of boxes) {
    data.set(b!, offset);
    offset += b!.length;
  }
  return { data, nextIndex: indices.at(boxCount).slice() };
}

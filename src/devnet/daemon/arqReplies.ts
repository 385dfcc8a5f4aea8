/**
 * The ARQ's courier-reply state machine (katzenpost client/pigeonhole.go, handlePigeonholeARQReply, and
 * client/daemon.go), as a pure function: given an operation and the courier's reply, what happens next.
 * Envelopes go WAITING → (ACK) ACKED → PAYLOAD; a write is done at its ACK unless it asked for
 * BoxAlreadyExists to be reported; a read whose box is not there yet polls again (unless it asked not to);
 * copies poll while the courier reports InProgress.
 */
import { BacapError, decryptFromBox } from '../../crypto/bacap.js';
import { ReplicaCode, ThinCode } from '../../wire/errorCodes.js';
import { type Directory, replicaById } from '../network/directory.js';
import {
  CopyStatus,
  type CourierEnvelopeReply,
  EnvelopeError,
  parseCourierQueryReply,
  parseReplicaReplyInnerMessage,
  ReplyType,
  unpadPayload,
} from '../pigeonhole/messages.js';
import { openEnvelopeReply } from '../pigeonhole/mkem.js';
import { decodeDescriptor } from './envelopes.js';

export const ArqState = { Waiting: 0, Acked: 1, Payload: 2 } as const;
export type ArqState = (typeof ArqState)[keyof typeof ArqState];

/** What the reply machine needs to know about an operation. */
export interface ArqFacts {
  kind: 'envelope' | 'copy';
  state: ArqState;
  descriptor: Uint8Array;
  isRead: boolean;
  readCap: Uint8Array | undefined;
  index: Uint8Array | undefined;
  noRetry: boolean;
  noIdempotent: boolean;
}

/** The body of the start_resending_*_reply that ends an operation (query_id and courier added later). */
export interface ArqResult {
  error_code: number;
  plaintext?: Uint8Array;
  replica_error_code?: number;
  failed_envelope_index?: bigint;
}

export type ArqStep =
  | { next: 'finish'; result: ArqResult }
  /** Poll again with a fresh SURB, after the profile's floor for that `wait` (then the next send slot). */
  | { next: 'follow-up'; state: ArqState; wait: 'after-ack' | 'box-not-found' }
  /** The copy is still running: poll again after the copy-poll interval. */
  | { next: 'copy-poll' }
  /** Garbage or a reply of the wrong kind: forget the operation. */
  | { next: 'drop' }
  /** A reply of the wrong kind for a copy: ignore it (the operation keeps waiting, with no timer). */
  | { next: 'ignore' };

class ReplicaError extends Error {
  constructor(readonly code: number) {
    super(`replica error ${code}`);
  }
}
class MkemError extends Error {}
class BacapFailure extends Error {}

const finish = (error_code: number, plaintext?: Uint8Array): ArqStep => ({
  next: 'finish',
  result: plaintext === undefined ? { error_code } : { error_code, plaintext },
});

/** Decides the next step after a courier reply `payload` for operation `arq`. */
export function courierReplyStep(arq: ArqFacts, payload: Uint8Array, dir: Directory): ArqStep {
  let reply: ReturnType<typeof parseCourierQueryReply>;
  try {
    reply = parseCourierQueryReply(payload);
  } catch {
    return { next: 'drop' };
  }
  if (arq.kind === 'copy') {
    if (reply.kind !== 'copy') return { next: 'ignore' };
    return copyStep(reply.reply.status, reply.reply.errorCode, reply.reply.failedEnvelopeIndex);
  }
  if (reply.kind !== 'envelope') return { next: 'drop' };
  const r = reply.reply;
  const code = courierErrorToThin(r.errorCode);
  if (code !== ThinCode.Success) return finish(code);
  switch (arq.state) {
    case ArqState.Waiting:
      if (r.replyType === ReplyType.Ack) {
        if (!arq.isRead && !arq.noIdempotent) return finish(ThinCode.Success);
        return { next: 'follow-up', state: ArqState.Acked, wait: 'after-ack' };
      }
      return payloadStep(arq, r, dir);
    case ArqState.Acked:
      if (r.replyType === ReplyType.Payload) return payloadStep(arq, r, dir);
      return { next: 'follow-up', state: ArqState.Acked, wait: 'after-ack' };
    default:
      return { next: 'ignore' };
  }
}

function copyStep(status: number, errorCode: number, failedIndex: bigint): ArqStep {
  switch (status) {
    case CopyStatus.InProgress:
      return { next: 'copy-poll' };
    case CopyStatus.Succeeded:
      return finish(ThinCode.Success);
    case CopyStatus.Failed:
      return {
        next: 'finish',
        result: {
          error_code: ThinCode.CopyCommandFailed,
          replica_error_code: errorCode,
          failed_envelope_index: failedIndex,
        },
      };
    default:
      return finish(ThinCode.InternalError);
  }
}

/** The courier delivered a replica's reply: open it and map replica errors to the operation's outcome. */
function payloadStep(arq: ArqFacts, reply: CourierEnvelopeReply, dir: Directory): ArqStep {
  let plaintext: Uint8Array | null;
  try {
    plaintext = decryptReply(arq, reply, dir);
  } catch (err) {
    if (err instanceof ReplicaError) {
      if (err.code === ReplicaCode.BoxIdNotFound && arq.isRead && !arq.noRetry) {
        return { next: 'follow-up', state: ArqState.Waiting, wait: 'box-not-found' };
      }
      if (err.code === ReplicaCode.BoxAlreadyExists && !arq.isRead && !arq.noIdempotent) {
        return finish(ThinCode.Success);
      }
      return finish(err.code);
    }
    if (err instanceof MkemError) return finish(ThinCode.MkemDecryptionFailed);
    if (err instanceof BacapFailure) return finish(ThinCode.BacapDecryptionFailed);
    return finish(ThinCode.InternalError);
  }
  if (!arq.isRead) return finish(ThinCode.Success);
  if (!plaintext || plaintext.length === 0) return finish(ReplicaCode.Tombstone, new Uint8Array(0));
  try {
    return finish(ThinCode.Success, unpadPayload(plaintext));
  } catch {
    return finish(ThinCode.InternalError);
  }
}

/** `decryptPigeonholeReply`: MKEM reply with each replica key in turn, then BACAP for reads. */
function decryptReply(arq: ArqFacts, reply: CourierEnvelopeReply, dir: Directory): Uint8Array | null {
  const desc = decodeDescriptor(arq.descriptor);
  let raw: Uint8Array | null = null;
  for (const n of desc.replicaNums) {
    const pub = replicaById(dir, n)?.envelopeKeys.get(desc.epoch);
    if (!pub) continue;
    raw = openEnvelopeReply(desc.envelopeKey, pub, reply.payload);
    if (raw) break;
  }
  if (!raw) throw new MkemError();
  const inner = parseReplicaReplyInnerMessage(unpadPayload(raw));
  if (inner.kind === 'write') {
    if (inner.errorCode !== 0) throw new ReplicaError(inner.errorCode);
    return null;
  }
  const tombstone = inner.errorCode === ReplicaCode.Tombstone;
  if (inner.errorCode !== 0 && !tombstone) throw new ReplicaError(inner.errorCode);
  if (!(arq.isRead && arq.readCap && arq.index)) return inner.payload;
  if (arq.index.length !== 104) throw new BacapFailure();
  let plain: Uint8Array;
  try {
    plain = decryptFromBox(arq.readCap, arq.index, {
      ciphertext: inner.payload,
      signature: inner.signature,
      boxId: inner.boxId,
    });
  } catch (err) {
    if (tombstone) throw new ReplicaError(ThinCode.InvalidTombstoneSignature);
    if (err instanceof BacapError) throw new BacapFailure();
    throw new BacapFailure();
  }
  if (tombstone) throw new ReplicaError(ReplicaCode.Tombstone);
  return plain;
}

/** Courier EnvelopeError → thin-client namespace (`courierEnvelopeErrorToThinError`). */
function courierErrorToThin(code: number): number {
  switch (code) {
    case EnvelopeError.Success:
      return ThinCode.Success;
    case EnvelopeError.InvalidEnvelope:
      return ThinCode.CourierInvalidEnvelope;
    case EnvelopeError.CacheCorruption:
      return ThinCode.CourierCacheCorruption;
    case EnvelopeError.Propagation:
      return ThinCode.PropagationError;
    case EnvelopeError.InvalidEpoch:
      return ThinCode.CourierInvalidEpoch;
    default:
      return ThinCode.CourierInvalidEnvelope;
  }
}

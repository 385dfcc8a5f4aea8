/**
 * The daemon's ARQ requests (start_resending_encrypted_message, start_resending_copy_command), their
 * cancels, and how an operation's outcome (machines/arq.ts output) becomes a typed result or error.
 */
import { blake2b256 } from '../crypto/hash.js';
import {
  ClientClosedError,
  ConnectionLostError,
  InvalidArgumentError,
  OperationCancelledError,
} from '../errors.js';
import {
  errorForCopyCommandReply,
  errorForEncryptedMessageCode,
  type RequestBody,
  type ResponseBody,
  SIZES,
} from '../wire/index.js';
import { bytesArg, countArg, optionalBytesArg } from './args.js';
import type { ArqKind, ArqOutput } from './outcome.js';
import { fail, ok, type Result } from './result.js';
import type { StartResendingParams, StartResendingResult } from './types.js';

export const MAX_QUEUE_ID = 32;

/** An ARQ request before it has a query id: what to send and the key a cancel finds it by. */
export interface ArqCall {
  kind: ArqKind;
  key: 'start_resending_encrypted_message' | 'start_resending_copy_command';
  body: object;
  /** envelope_hash (reads and writes) or BLAKE2b-256(temp write cap) (copy commands). */
  cancelKey: Uint8Array;
  /**
   * Set for a read the daemon would re-poll without limit on BoxIDNotFound (no `noRetryOnBoxIdNotFound`):
   * the client's own scheduler polls it instead (actors/waitingReads.ts).
   */
  retriedRead?: StartResendingParams & { readCap: Uint8Array; messageBoxIndex: Uint8Array };
}

export function startResendingEncryptedMessage(params: StartResendingParams): ArqCall {
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
  const messageBoxIndex = optionalBytesArg(params.messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex);
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
  const retried = readCap && messageBoxIndex && !params.noRetryOnBoxIdNotFound;
  return {
    kind: 'encryptedMessage',
    key: 'start_resending_encrypted_message',
    body,
    cancelKey: envelopeHash,
    ...(retried
      ? {
          retriedRead: {
            readCap,
            messageBoxIndex,
            envelopeDescriptor,
            messageCiphertext,
            envelopeHash,
            ...(replyIndex === undefined ? {} : { replyIndex }),
          },
        }
      : {}),
  };
}

export function startResendingCopyCommand(
  tempWriteCap: Uint8Array,
  courierIdentityHashArg: Uint8Array | undefined,
  courierQueueIdArg: Uint8Array | undefined,
): ArqCall {
  bytesArg(tempWriteCap, 'tempWriteCap', SIZES.writeCap);
  const courierIdentityHash = optionalBytesArg(courierIdentityHashArg, 'courierIdentityHash', SIZES.hash);
  const courierQueueId =
    courierQueueIdArg === undefined
      ? undefined
      : bytesArg(courierQueueIdArg, 'courierQueueId', { min: 1, max: MAX_QUEUE_ID });
  if ((courierIdentityHash === undefined) !== (courierQueueId === undefined)) {
    throw new InvalidArgumentError(
      'courierIdentityHash',
      'courierIdentityHash and courierQueueId go together',
    );
  }
  const body: Omit<RequestBody<'start_resending_copy_command'>, 'query_id'> = {
    write_cap: tempWriteCap,
    ...(courierIdentityHash ? { courier_identity_hash: courierIdentityHash } : {}),
    ...(courierQueueId ? { courier_queue_id: courierQueueId } : {}),
  };
  return {
    kind: 'copyCommand',
    key: 'start_resending_copy_command',
    body,
    cancelKey: blake2b256(tempWriteCap),
  };
}

/** A cancel request: the daemon answers the operation with code 24, then the cancel itself. */
export interface CancelCall {
  key: 'cancel_resending_encrypted_message' | 'cancel_resending_copy_command';
  body: object;
  cancelKey: Uint8Array;
}

/** The cancel for `key`, found by a 32-byte hash (`field` on the wire, `name` in the API). */
function cancelCall(key: CancelCall['key'], field: string, name: string, hash: Uint8Array): CancelCall {
  bytesArg(hash, name, SIZES.hash);
  return { key, body: { [field]: hash }, cancelKey: hash };
}

export function cancelResendingEncryptedMessage(envelopeHash: Uint8Array): CancelCall {
  return cancelCall('cancel_resending_encrypted_message', 'envelope_hash', 'envelopeHash', envelopeHash);
}

export function cancelResendingCopyCommand(writeCapHash: Uint8Array): CancelCall {
  return cancelCall('cancel_resending_copy_command', 'write_cap_hash', 'writeCapHash', writeCapHash);
}

/** The cancel that stops an operation of `kind` found by `cancelKey`. */
export function cancelFor(kind: ArqKind, cancelKey: Uint8Array): CancelCall {
  return kind === 'encryptedMessage'
    ? cancelResendingEncryptedMessage(cancelKey)
    : cancelResendingCopyCommand(cancelKey);
}

/** An operation's final output → the caller's result, or the typed error that says what happened. */
export function arqResult(kind: ArqKind, output: ArqOutput): Result<StartResendingResult> {
  switch (output.outcome) {
    case 'done': {
      const reply = output.reply as ResponseBody<'start_resending_encrypted_message_reply'>;
      return ok({
        plaintext: reply.plaintext ?? new Uint8Array(0),
        courierIdentityHash: reply.courier_identity_hash ?? null,
        courierQueueId: reply.courier_queue_id ?? null,
      });
    }
    case 'expected':
    case 'failed': {
      if (kind === 'encryptedMessage') return fail(errorForEncryptedMessageCode(output.errorCode));
      const reply = output.reply as ResponseBody<'start_resending_copy_command_reply'>;
      return fail(
        errorForCopyCommandReply(
          output.errorCode,
          reply.replica_error_code ?? 0,
          reply.failed_envelope_index ?? 0n,
        ),
      );
    }
    case 'cancelled':
      return fail(new OperationCancelledError());
    case 'closed':
      return fail(new ClientClosedError());
    case 'abandoned':
      return fail(new ConnectionLostError('the operation could not be completed', { cause: output.error }));
  }
}

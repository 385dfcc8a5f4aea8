/**
 * Local requests on BACAP boxes: new_keypair, encrypt_read, encrypt_write, next_message_box_index and
 * get_message_box_index_counter. Encrypting builds the CourierEnvelope the client later hands to
 * start_resending_encrypted_message.
 */
import {
  boxIdFor,
  firstIndexOf,
  indexCounter,
  newWriteCapFromSeed,
  nextIndex,
  writeCapToReadCap,
} from '../../crypto/bacap.js';
import { ThinCode } from '../../wire/errorCodes.js';
import { type BuiltEnvelope, buildEnvelope, writeEnvelope } from './envelopes.js';
import { type LocalHandlers, refuse } from './localHandler.js';

/** The reply fields of encrypt_read and encrypt_write. */
function encrypted(built: BuiltEnvelope, index: Uint8Array) {
  return {
    message_ciphertext: built.messageCiphertext,
    envelope_descriptor: built.envelopeDescriptor,
    envelope_hash: built.envelopeHash,
    next_message_box_index: nextIndex(index),
    error_code: ThinCode.Success,
  };
}

export const BOX_REQUESTS: Pick<
  LocalHandlers,
  | 'new_keypair'
  | 'encrypt_read'
  | 'encrypt_write'
  | 'next_message_box_index'
  | 'get_message_box_index_counter'
> = {
  new_keypair: {
    // Any seed the ChaCha20 key setup rejects is the client's fault.
    failure: ThinCode.InvalidRequest,
    answer(body) {
      // len < 32 is refused outright; any other length but 32 fails the ChaCha20 key setup.
      if (body.seed?.length !== 32) refuse();
      const writeCap = newWriteCapFromSeed(body.seed);
      return {
        write_cap: writeCap,
        read_cap: writeCapToReadCap(writeCap),
        first_message_index: firstIndexOf(writeCap),
        error_code: ThinCode.Success,
      };
    },
  },
  encrypt_read: {
    ctidhOps: 3,
    answer(body, ctx) {
      if (!body.read_cap || !body.message_box_index) refuse();
      const boxId = boxIdFor(body.read_cap, body.message_box_index);
      const built = buildEnvelope(ctx.directory(), ctx.sizes, ctx.rng, boxId, { kind: 'read', boxId });
      return encrypted(built, body.message_box_index);
    },
  },
  encrypt_write: {
    ctidhOps: 3,
    answer(body, ctx) {
      const { plaintext, write_cap: writeCap, message_box_index: index } = body;
      if (!writeCap || !index || plaintext === undefined) refuse();
      if (plaintext.length > ctx.sizes.maxPlaintext) refuse();
      const built = writeEnvelope(ctx.directory(), ctx.sizes, ctx.rng, writeCap, index, plaintext);
      return encrypted(built, index);
    },
  },
  next_message_box_index: {
    answer(body) {
      if (!body.message_box_index) refuse();
      return { next_message_box_index: nextIndex(body.message_box_index), error_code: ThinCode.Success };
    },
  },
  get_message_box_index_counter: {
    answer(body) {
      if (!body.message_box_index) refuse();
      return { counter: indexCounter(body.message_box_index), error_code: ThinCode.Success };
    },
  },
};

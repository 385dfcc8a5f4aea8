/**
 * The Contact Voucher local requests (voucher_mint, voucher_induct, voucher_open,
 * voucher_derive_stream; kp:client/thin/thin_messages.go, the daemon's client/voucher.go): argument
 * checks and reply decoding. The daemon answers each one itself, with fresh randomness of its own;
 * codes 28-30 become VoucherHashMismatchError, VoucherSignatureInvalidError and
 * VoucherSealOpenFailedError, and anything else it refuses is a DaemonError with code 3.
 */
import { SIZES } from '../wire/index.js';
import { bytesArg, textArg } from './args.js';
import { type LocalCall, localCall, localRequest, required } from './local.js';
import type {
  VoucherInductResult,
  VoucherMintResult,
  VoucherOpenResult,
  VoucherStreamResult,
} from './voucherTypes.js';

/** A voucher is BLAKE2b-256 of its payload. */
export const VOUCHER_SIZE = SIZES.hash;
/** A CTIDH1024-X25519 private key: 130 + 32 bytes. */
export const VOUCHER_SECRET_KEY_SIZE = 162;

const MINT = localRequest(
  'voucher_mint',
  'voucher_mint_reply',
  (r): VoucherMintResult => ({
    voucher: required(r.voucher, 'voucher_mint_reply.voucher'),
    voucherPayload: required(r.voucher_payload, 'voucher_mint_reply.voucher_payload'),
    voucherWriteCap: required(r.voucher_write_cap, 'voucher_mint_reply.voucher_write_cap'),
    voucherReadCap: required(r.voucher_read_cap, 'voucher_mint_reply.voucher_read_cap'),
    voucherSecretKey: required(r.voucher_secret_key, 'voucher_mint_reply.voucher_secret_key'),
    voucherPublicKey: required(r.voucher_public_key, 'voucher_mint_reply.voucher_public_key'),
  }),
);
const INDUCT = localRequest(
  'voucher_induct',
  'voucher_induct_reply',
  (r): VoucherInductResult => ({
    displayName: r.display_name ?? '',
    mutatedMessageReadCap: required(
      r.mutated_message_read_cap,
      'voucher_induct_reply.mutated_message_read_cap',
    ),
    sealedReply: required(r.sealed_reply, 'voucher_induct_reply.sealed_reply'),
    voucherWriteCap: required(r.voucher_write_cap, 'voucher_induct_reply.voucher_write_cap'),
    voucherReadCap: required(r.voucher_read_cap, 'voucher_induct_reply.voucher_read_cap'),
    salt: required(r.salt, 'voucher_induct_reply.salt'),
  }),
);
const OPEN = localRequest(
  'voucher_open',
  'voucher_open_reply',
  (r): VoucherOpenResult => ({
    // Go sends a nil WhoReply as null when the inductor sealed none.
    whoReply: r.who_reply ?? new Uint8Array(0),
    salt: required(r.salt, 'voucher_open_reply.salt'),
    mutatedMessageWriteCap: required(
      r.mutated_message_write_cap,
      'voucher_open_reply.mutated_message_write_cap',
    ),
  }),
);
const DERIVE_STREAM = localRequest(
  'voucher_derive_stream',
  'voucher_derive_stream_reply',
  (r): VoucherStreamResult => ({
    voucherWriteCap: required(r.voucher_write_cap, 'voucher_derive_stream_reply.voucher_write_cap'),
    voucherReadCap: required(r.voucher_read_cap, 'voucher_derive_stream_reply.voucher_read_cap'),
  }),
);

/** The joiner mints a voucher from its MessageStream write cap and a display name. */
export function voucherMint(messageWriteCap: Uint8Array, displayName: string): LocalCall<VoucherMintResult> {
  return localCall<'voucher_mint', VoucherMintResult>(MINT, {
    message_write_cap: bytesArg(messageWriteCap, 'messageWriteCap', SIZES.writeCap),
    display_name: textArg(displayName, 'displayName'),
  });
}

/** The inductor checks a published voucher payload and seals `whoReply` to the joiner. */
export function voucherInduct(
  voucher: Uint8Array,
  voucherPayload: Uint8Array,
  whoReply: Uint8Array,
): LocalCall<VoucherInductResult> {
  return localCall<'voucher_induct', VoucherInductResult>(INDUCT, {
    voucher: bytesArg(voucher, 'voucher', VOUCHER_SIZE),
    voucher_payload: bytesArg(voucherPayload, 'voucherPayload'),
    who_reply: bytesArg(whoReply, 'whoReply'),
  });
}

/** The joiner opens the inductor's sealed reply and mutates its write cap by the salt inside. */
export function voucherOpen(
  voucherSecretKey: Uint8Array,
  sealedReply: Uint8Array,
  messageWriteCap: Uint8Array,
): LocalCall<VoucherOpenResult> {
  return localCall<'voucher_open', VoucherOpenResult>(OPEN, {
    voucher_secret_key: bytesArg(voucherSecretKey, 'voucherSecretKey', VOUCHER_SECRET_KEY_SIZE),
    sealed_reply: bytesArg(sealedReply, 'sealedReply'),
    message_write_cap: bytesArg(messageWriteCap, 'messageWriteCap', SIZES.writeCap),
  });
}

/** The VoucherStream caps of a voucher (the inductor reads box 0 with them). */
export function voucherDeriveStream(voucher: Uint8Array): LocalCall<VoucherStreamResult> {
  return localCall<'voucher_derive_stream', VoucherStreamResult>(DERIVE_STREAM, {
    voucher: bytesArg(voucher, 'voucher', VOUCHER_SIZE),
  });
}

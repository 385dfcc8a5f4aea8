/**
 * Contact Voucher local requests (vouchers.ts does the crypto): a VoucherError answers with its own
 * code; anything else with InvalidRequest, as Go's default branch does.
 */
import { ThinCode } from '../../wire/errorCodes.js';
import { type LocalHandlers, RequestRefused } from './localHandler.js';
import {
  deriveVoucherStream,
  VoucherError,
  voucherInduct,
  voucherMint,
  voucherOpenReply,
} from './vouchers.js';

/** Runs a voucher operation, turning its VoucherError into a refusal with the same code. */
function voucher<T>(op: () => T): T {
  try {
    return op();
  } catch (err) {
    if (err instanceof VoucherError) throw new RequestRefused(err.code);
    throw err;
  }
}

export const VOUCHER_REQUESTS: Pick<
  LocalHandlers,
  'voucher_mint' | 'voucher_induct' | 'voucher_open' | 'voucher_derive_stream'
> = {
  voucher_mint: {
    ctidhOps: 1, // the VoucherKeypair
    failure: ThinCode.InvalidRequest,
    answer(body, { rng }) {
      const r = voucher(() => voucherMint(rng, body.message_write_cap, body.display_name ?? ''));
      return {
        voucher: r.voucher,
        voucher_payload: r.voucherPayload,
        voucher_write_cap: r.voucherWriteCap,
        voucher_read_cap: r.voucherReadCap,
        voucher_secret_key: r.voucherSecretKey,
        voucher_public_key: r.voucherPublicKey,
        error_code: ThinCode.Success,
      };
    },
  },
  voucher_induct: {
    ctidhOps: 2, // the seal's ephemeral key pair and its DH
    failure: ThinCode.InvalidRequest,
    answer(body, { rng }) {
      const r = voucher(() => voucherInduct(rng, body.voucher, body.voucher_payload, body.who_reply));
      return {
        display_name: r.displayName,
        mutated_message_read_cap: r.mutatedMessageReadCap,
        sealed_reply: r.sealedReply,
        voucher_write_cap: r.voucherWriteCap,
        voucher_read_cap: r.voucherReadCap,
        salt: r.salt,
        error_code: ThinCode.Success,
      };
    },
  },
  voucher_open: {
    ctidhOps: 1, // the seal's DH
    failure: ThinCode.InvalidRequest,
    answer(body) {
      const r = voucher(() =>
        voucherOpenReply(body.voucher_secret_key, body.sealed_reply, body.message_write_cap),
      );
      return {
        who_reply: r.whoReply,
        salt: r.salt,
        mutated_message_write_cap: r.mutatedMessageWriteCap,
        error_code: ThinCode.Success,
      };
    },
  },
  voucher_derive_stream: {
    failure: ThinCode.InvalidRequest,
    answer(body) {
      const r = voucher(() => deriveVoucherStream(body.voucher));
      return {
        voucher_write_cap: r.voucherWriteCap,
        voucher_read_cap: r.voucherReadCap,
        error_code: ThinCode.Success,
      };
    },
  },
};

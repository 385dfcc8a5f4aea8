/**
 * ThinClient's contact-voucher requests (all local): minting a voucher, inducting it, opening the
 * reply, and deriving its stream caps.
 */
import type { CallOptions } from '../clientOptions.js';
import { vouchers } from '../protocol/index.js';
import type {
  VoucherInductResult,
  VoucherMintResult,
  VoucherOpenResult,
  VoucherStreamResult,
} from '../protocol/voucherTypes.js';
import { TransferClient } from './transfers.js';

/** Contact vouchers: how a joiner and an inductor exchange channel caps. */
export abstract class VoucherClient extends TransferClient {
  /**
   * Mints a voucher from the joiner's MessageStream write cap (local). Keep `voucherSecretKey` secret.
   *
   * @throws InvalidArgumentError when `messageWriteCap` has the wrong length or `displayName` is not a
   * string.
   * @example
   * ```ts
   * const m = await client.voucherMint(messageWriteCap, 'alice');
   * // publish m.voucherPayload under m.voucherWriteCap; hand m.voucher to the inductor
   * ```
   */
  voucherMint(
    messageWriteCap: Uint8Array,
    displayName: string,
    options: CallOptions = {},
  ): Promise<VoucherMintResult> {
    return this.calls.local(() => vouchers.voucherMint(messageWriteCap, displayName), options);
  }

  /**
   * Checks a published voucher payload against its voucher and seals `whoReply` to the joiner (local).
   *
   * @throws VoucherHashMismatchError when `voucherPayload` does not hash to `voucher`.
   * @throws VoucherSignatureInvalidError when the payload's signature does not verify.
   */
  voucherInduct(
    voucher: Uint8Array,
    voucherPayload: Uint8Array,
    whoReply: Uint8Array,
    options: CallOptions = {},
  ): Promise<VoucherInductResult> {
    return this.calls.local(() => vouchers.voucherInduct(voucher, voucherPayload, whoReply), options);
  }

  /**
   * Opens the inductor's sealed reply and mutates the joiner's write cap by its salt (local).
   *
   * @throws VoucherSealOpenFailedError when `sealedReply` cannot be opened with `voucherSecretKey`.
   */
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

  /**
   * The VoucherStream caps of a voucher (local).
   *
   * @throws InvalidArgumentError when `voucher` has the wrong length.
   */
  voucherDeriveStream(voucher: Uint8Array, options: CallOptions = {}): Promise<VoucherStreamResult> {
    return this.calls.local(() => vouchers.voucherDeriveStream(voucher), options);
  }
}

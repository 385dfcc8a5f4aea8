/**
 * The typed results of the Contact Voucher requests: the camelCase forms of the reference
 * clients' voucher result types. Every field is opaque bytes the daemon produced; the client
 * does no voucher cryptography.
 */

/** voucherMint: what the joiner hands out, publishes and keeps. */
export interface VoucherMintResult {
  /** The 32-byte token to hand to the inductor out of band. */
  voucher: Uint8Array;
  /** To publish in box 0 of the VoucherStream. */
  voucherPayload: Uint8Array;
  /** The VoucherStream's write cap (168 bytes). */
  voucherWriteCap: Uint8Array;
  /** The VoucherStream's read cap (136 bytes). */
  voucherReadCap: Uint8Array;
  /** Keep it (secret) to open the inductor's sealed reply later. Redacted from inspection. */
  voucherSecretKey: Uint8Array;
  /** The public half of `voucherSecretKey`. */
  voucherPublicKey: Uint8Array;
}

/** voucherInduct: what the inductor learns and what it writes back. */
export interface VoucherInductResult {
  /** The joiner's chosen display name, as signed in the payload. */
  displayName: string;
  /** The joiner's salt-mutated read cap: the live read cap to hand the group. */
  mutatedMessageReadCap: Uint8Array;
  /** To write in box 1 of the VoucherStream. */
  sealedReply: Uint8Array;
  /** The VoucherStream's write cap (168 bytes): write `sealedReply` with it. */
  voucherWriteCap: Uint8Array;
  /** The VoucherStream's read cap (136 bytes). */
  voucherReadCap: Uint8Array;
  /** The salt the joiner's caps were mutated by. */
  salt: Uint8Array;
}

/** voucherOpen: what the joiner learns from the sealed reply. */
export interface VoucherOpenResult {
  /** The inductor's opaque blob; empty when it sent none. */
  whoReply: Uint8Array;
  /** The salt the inductor chose; `mutatedMessageWriteCap` is mutated by it. */
  salt: Uint8Array;
  /** The joiner's salt-mutated write cap: it writes the boxes the mutated read cap reads. */
  mutatedMessageWriteCap: Uint8Array;
}

/** voucherDeriveStream: the VoucherStream (rendezvous) caps derived from a voucher. */
export interface VoucherStreamResult {
  /** The VoucherStream's write cap (168 bytes). */
  voucherWriteCap: Uint8Array;
  /** The VoucherStream's read cap (136 bytes). */
  voucherReadCap: Uint8Array;
}

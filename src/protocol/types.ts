/** The typed results of the daemon's requests, as the public API returns them. */

export interface KeypairResult {
  writeCap: Uint8Array;
  readCap: Uint8Array;
  firstMessageIndex: Uint8Array;
}

export interface EncryptResult {
  messageCiphertext: Uint8Array;
  envelopeDescriptor: Uint8Array;
  envelopeHash: Uint8Array;
  nextMessageBoxIndex: Uint8Array;
}

export interface StartResendingParams {
  /** Set for a read (136 bytes). Exactly one of readCap and writeCap. */
  readCap?: Uint8Array | null;
  /** Set for a write (168 bytes). */
  writeCap?: Uint8Array | null;
  /** The index of the box being read (104 bytes); required for reads to decrypt. */
  messageBoxIndex?: Uint8Array | null;
  /** Accepted and ignored by the daemon. */
  replyIndex?: number | null;
  envelopeDescriptor: Uint8Array;
  messageCiphertext: Uint8Array;
  envelopeHash: Uint8Array;
  /** Reads: answer BoxIDNotFound at once instead of retrying. */
  noRetryOnBoxIdNotFound?: boolean;
  /** Writes: report BoxAlreadyExists instead of treating it as success. */
  noIdempotentBoxAlreadyExists?: boolean;
}

export interface StartResendingResult {
  /** The box's plaintext for a read; empty for a write. */
  plaintext: Uint8Array;
  courierIdentityHash: Uint8Array | null;
  courierQueueId: Uint8Array | null;
}

export interface DestinationPayload {
  payload: Uint8Array;
  writeCap: Uint8Array;
  startIndex: Uint8Array;
}

export interface CourierEnvelopesResult {
  envelopes: Uint8Array[];
  nextDestIndex: Uint8Array;
}

export interface MultiPayloadEnvelopesResult {
  envelopes: Uint8Array[];
  /** Encoder state to pass to the next call; empty after `isLast`. Persist it for crash recovery. */
  buffer: Uint8Array;
  /** One next index per destination, in request order. */
  nextDestIndices: Uint8Array[];
}

export interface TombstoneRangeEnvelopesResult {
  envelopes: Uint8Array[];
  buffer: Uint8Array;
  nextDestIndex: Uint8Array;
}

export interface TombstoneEnvelope {
  envelopeDescriptor: Uint8Array;
  messageCiphertext: Uint8Array;
  envelopeHash: Uint8Array;
  boxIndex: Uint8Array;
}

export interface TombstoneRangeResult {
  envelopes: TombstoneEnvelope[];
  /** The index after the last tombstoned box. */
  next: Uint8Array;
}

export interface DirectoryAuthority {
  identifier: string;
  pkiSignatureScheme: string;
  wireKemScheme: string;
  addresses: string[];
  identityPublicKeyPem: string;
  linkPublicKeyPem: string;
  identityKeyHash: Uint8Array;
}

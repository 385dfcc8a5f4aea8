/** The typed results of the daemon's requests, as the public API returns them. */

/** What `newKeypair` returns: a new channel's capabilities. */
export interface KeypairResult {
  /** The channel's write capability (168 bytes). Secret: whoever holds it can write the channel. */
  writeCap: Uint8Array;
  /** The channel's read capability (136 bytes), to share with readers. */
  readCap: Uint8Array;
  /** The index of the channel's first box (104 bytes). */
  firstMessageIndex: Uint8Array;
}

/** What `encryptWrite` and `encryptRead` return: an envelope for `startResendingEncryptedMessage`. */
export interface EncryptResult {
  /** The encrypted courier query. */
  messageCiphertext: Uint8Array;
  /** What the daemon needs to decrypt the reply (keep it with the envelope). */
  envelopeDescriptor: Uint8Array;
  /**
   * The envelope's hash (32 bytes): it identifies the operation, e.g. for `cancelResendingEncryptedMessage`.
   */
  envelopeHash: Uint8Array;
  /** The index of the box after this one. */
  nextMessageBoxIndex: Uint8Array;
}

/** The envelope `startResendingEncryptedMessage` sends: an EncryptResult plus the cap it was made with. */
export interface StartResendingParams {
  /** Set for a read (136 bytes). Exactly one of readCap and writeCap. */
  readCap?: Uint8Array | null;
  /** Set for a write (168 bytes). */
  writeCap?: Uint8Array | null;
  /** The index of the box being read (104 bytes); required for reads to decrypt. */
  messageBoxIndex?: Uint8Array | null;
  /** Accepted and ignored by the daemon. */
  replyIndex?: number | null;
  /** From the EncryptResult. */
  envelopeDescriptor: Uint8Array;
  /** From the EncryptResult. */
  messageCiphertext: Uint8Array;
  /** From the EncryptResult; cancels the operation with `cancelResendingEncryptedMessage`. */
  envelopeHash: Uint8Array;
  /** Reads: answer BoxIDNotFound at once instead of retrying. */
  noRetryOnBoxIdNotFound?: boolean;
  /** Writes: report BoxAlreadyExists instead of treating it as success. */
  noIdempotentBoxAlreadyExists?: boolean;
}

/** The outcome of a successful `startResendingEncryptedMessage` or `startResendingCopyCommand`. */
export interface StartResendingResult {
  /** The box's plaintext for a read; empty for a write. */
  plaintext: Uint8Array;
  /** The courier that served the operation (32 bytes), when the daemon says. */
  courierIdentityHash: Uint8Array | null;
  /** That courier's queue ID, when the daemon says. */
  courierQueueId: Uint8Array | null;
}

/** One destination of `createCourierEnvelopesFromMultiPayload`. */
export interface DestinationPayload {
  /** The bytes to write to the destination channel. */
  payload: Uint8Array;
  /** The destination channel's write cap (168 bytes). */
  writeCap: Uint8Array;
  /** The destination box to start at (104 bytes). */
  startIndex: Uint8Array;
}

/** What `createCourierEnvelopesFromPayload` returns. */
export interface CourierEnvelopesResult {
  /** The copy-stream elements, in order: write each to a box of the temporary channel. */
  envelopes: Uint8Array[];
  /** The destination index after the last box the payload will fill. */
  nextDestIndex: Uint8Array;
}

/** What `createCourierEnvelopesFromMultiPayload` returns. */
export interface MultiPayloadEnvelopesResult {
  /** The copy-stream elements, in order: write each to a box of the temporary channel. */
  envelopes: Uint8Array[];
  /** Encoder state to pass to the next call; empty after `isLast`. Persist it for crash recovery. */
  buffer: Uint8Array;
  /** One next index per destination, in request order. */
  nextDestIndices: Uint8Array[];
}

/** What `createCourierEnvelopesFromTombstoneRange` returns. */
export interface TombstoneRangeEnvelopesResult {
  /** The copy-stream elements, in order: write each to a box of the temporary channel. */
  envelopes: Uint8Array[];
  /** Encoder state to pass to the next call; empty after `isLast`. */
  buffer: Uint8Array;
  /** The destination index after the last tombstoned box. */
  nextDestIndex: Uint8Array;
}

/** One box's tombstone, from `tombstoneRange`. */
export interface TombstoneEnvelope {
  /** As in EncryptResult. */
  envelopeDescriptor: Uint8Array;
  /** As in EncryptResult. */
  messageCiphertext: Uint8Array;
  /** As in EncryptResult. */
  envelopeHash: Uint8Array;
  /** The index of the box this tombstones. */
  boxIndex: Uint8Array;
}

/** What `tombstoneRange` returns. */
export interface TombstoneRangeResult {
  /** One envelope per box, in index order. */
  envelopes: TombstoneEnvelope[];
  /** The index after the last tombstoned box. */
  next: Uint8Array;
}

/** A directory authority the daemon is configured with (`getDirectoryAuthorities`). */
export interface DirectoryAuthority {
  /** The authority's name. */
  identifier: string;
  /** The scheme it signs PKI documents with (e.g. `Falcon-padded-512-Ed25519`). */
  pkiSignatureScheme: string;
  /** The KEM of its wire protocol (e.g. `xwing`). */
  wireKemScheme: string;
  /** Where it listens (e.g. `tcp://127.0.0.1:30001`). */
  addresses: string[];
  /** Its identity (signing) public key, PEM-encoded: a trust root for `verifyPkiDocument`. */
  identityPublicKeyPem: string;
  /** Its link (wire) public key, PEM-encoded. */
  linkPublicKeyPem: string;
  /** BLAKE2b-256 of its identity public key. */
  identityKeyHash: Uint8Array;
}

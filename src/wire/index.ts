/**
 * The thin-client wire: 4-byte big-endian length-prefixed frames (frame.ts), each one CBOR map
 * (codec.ts) with one meaningful top-level key (messages.ts, schema.ts).
 *
 * What a bad frame from the daemon becomes (the client's transport relies on it, and test/fuzz
 * checks it on mutated kpclientd frames):
 * - a length prefix of 0 or over 40 MiB, CBOR that does not decode, trailing bytes, nesting deeper
 *   than 32, or a known message whose fields it cannot read: a ProtocolError (FrameDecoder.feed
 *   returns it, decodeResponse throws it); the client then reports a `protocolError` event, drops
 *   the connection and redials, and re-sends its local requests;
 * - a well-formed message with a key this library does not know: `{ key: 'unknown', raw }`, which
 *   the client delivers as an `unknown` event and otherwise ignores;
 * - a frame begun and never finished: buffered (never more than its own bytes so far) until the
 *   client's `partialFrameTimeoutMs`, then a ProtocolError as above.
 * Nothing else is thrown.
 */
export { decodeCbor, encodeCbor, toU64, u64ForWire } from './codec.js';
export {
  errorForCopyCommandReply,
  errorForEncryptedMessageCode,
  errorForThinCode,
  ReplicaCode,
  replicaCodeString,
  ThinCode,
  thinCodeString,
} from './errorCodes.js';
export { encodeFrame, FrameDecoder, MAX_FRAME_SIZE } from './frame.js';
export {
  carriesQueryId,
  type DecodedRequest,
  type DecodedResponse,
  type DecodeOptions,
  decodeRequest,
  decodeResponse,
  type EncodeStyle,
  encodeRequest,
  encodeResponse,
} from './messages.js';
export * from './schema.js';

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

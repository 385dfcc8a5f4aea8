/**
 * The Sphinx and Pigeonhole geometries the devnet daemon announces, and every size derived from them
 * (katzenpost core/sphinx/geo, pigeonhole/geo/geometry_impl.go). The Pigeonhole geometry is derived from
 * the Sphinx one, as kpclientd does; the handshake maps carry exactly the Go field names, no more, no fewer.
 */

/** Sizes of the MKEM construction the real replicas use (CTIDH1024-X25519); our stand-in keeps them. */
export const MKEM_PUBKEY_SIZE = 160;
export const MKEM_PRIVKEY_SIZE = 162;
export const MKEM_DEK_SIZE = 60;
/** ChaCha20-Poly1305 nonce + tag. */
export const MKEM_AEAD_OVERHEAD = 28;
export const BOX_ID_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const HASH_SIZE = 32;
export const COPY_STREAM_ELEMENT_OVERHEAD = 5;

/** The Go `geo.Geometry` fields, in declaration order. */
export interface SphinxGeometry {
  PacketLength: number;
  NrHops: number;
  HeaderLength: number;
  RoutingInfoLength: number;
  PerHopRoutingInfoLength: number;
  SURBLength: number;
  SphinxPlaintextHeaderLength: number;
  PayloadTagLength: number;
  ForwardPayloadLength: number;
  UserForwardPayloadLength: number;
  NextNodeHopLength: number;
  SPRPKeyMaterialLength: number;
  NIKEName: string;
  KEMName: string;
}

/** The Go `pigeonholeGeo.Geometry` fields, in declaration order. */
export interface PigeonholeGeometry {
  MaxPlaintextPayloadLength: number;
  CourierQueryReadLength: number;
  CourierQueryWriteLength: number;
  CourierQueryReplyReadLength: number;
  CourierQueryReplyWriteLength: number;
  NIKEName: string;
  SignatureSchemeName: string;
}

/**
 * The docker testnet's Sphinx geometry: x25519, 3 mix layers, 5 hops, with SURB, UserForwardPayloadLength
 * 2000 (katzenpost core/genconfig/genconfig.go, docker/Makefile).
 */
export function dockerSphinxGeometry(): SphinxGeometry {
  const nrHops = 5;
  const perHop = 65 + 17;
  const routingInfo = perHop * nrHops;
  const header = 2 + 32 + routingInfo + 32;
  const surb = header + 32 + 64;
  const ufpl = 2000;
  const forward = ufpl + 2 + surb;
  return {
    PacketLength: header + 32 + forward,
    NrHops: nrHops,
    HeaderLength: header,
    RoutingInfoLength: routingInfo,
    PerHopRoutingInfoLength: perHop,
    SURBLength: surb,
    SphinxPlaintextHeaderLength: 2,
    PayloadTagLength: 32,
    ForwardPayloadLength: forward,
    UserForwardPayloadLength: ufpl,
    NextNodeHopLength: 65,
    SPRPKeyMaterialLength: 64,
    NIKEName: 'x25519',
    KEMName: '',
  };
}

/** Every size the devnet needs, derived once from the Sphinx geometry. */
export interface Sizes {
  sphinx: SphinxGeometry;
  pigeonhole: PigeonholeGeometry;
  userForwardPayloadLength: number;
  forwardPayloadLength: number;
  /** Max plaintext per box (1549 in docker). */
  maxPlaintext: number;
  /** BACAP padded plaintext: Max + 4. */
  paddedPlaintext: number;
  /** Stored box ciphertext: Max + 4 + 16 (1569). */
  boxCiphertext: number;
  /** MKEM plaintext of a query: padded ReplicaInnerMessage (1674). */
  innerPadded: number;
  /** MKEM envelope in a CourierEnvelope (1702). */
  mkemEnvelope: number;
  /** Trunnel CourierEnvelope (1999). */
  courierEnvelope: number;
  /** CourierQuery carrying an envelope (2000). */
  courierQuery: number;
  /** Padded reply inner message (1675). */
  replyPadded: number;
  /** Encrypted reply from a replica (1703). */
  envelopeReply: number;
  /** Chunk of user payload per destination box in the copy API (Max - 4). */
  copyChunk: number;
  /** Max envelope bytes per copy-stream element (Max - 5). */
  copyElementData: number;
}

const TRUNNEL_ENVELOPE_FIXED = 2 + MKEM_DEK_SIZE * 2 + 1 + 8 + 2 + 4;

export function deriveSizes(sphinx: SphinxGeometry = dockerSphinxGeometry()): Sizes {
  const ufpl = sphinx.UserForwardPayloadLength;
  const overhead =
    1 + (TRUNNEL_ENVELOPE_FIXED + MKEM_PUBKEY_SIZE) + MKEM_AEAD_OVERHEAD + 1 + (32 + 64 + 4) + 16 + 4 + 4;
  const max = ufpl - overhead;
  if (max <= 5) throw new RangeError(`UserForwardPayloadLength ${ufpl} is too small for Pigeonhole`);
  const boxCiphertext = max + 4 + 16;
  const innerWrite = 1 + (32 + 64 + 4) + boxCiphertext;
  const innerPadded = innerWrite + 4;
  const mkemEnvelope = innerPadded + MKEM_AEAD_OVERHEAD;
  const courierEnvelope = TRUNNEL_ENVELOPE_FIXED + MKEM_PUBKEY_SIZE + mkemEnvelope;
  const courierQuery = courierEnvelope + 1;
  const replyRead = 1 + 1 + 32 + 64 + 4 + boxCiphertext;
  const replyPadded = replyRead + 4;
  const envelopeReply = replyPadded + MKEM_AEAD_OVERHEAD;
  // The figure the Go geometry reports (pigeonhole/geo/geometry_impl.go; 25 bytes short of the real
  // courier_query_reply): 2 + (1 + 8 + 4) + AEAD reply.
  const reportedReply = 2 + (1 + 8 + 4) + envelopeReply;
  return {
    sphinx,
    pigeonhole: {
      MaxPlaintextPayloadLength: max,
      CourierQueryReadLength: courierQuery,
      CourierQueryWriteLength: courierQuery,
      CourierQueryReplyReadLength: reportedReply,
      CourierQueryReplyWriteLength: reportedReply,
      NIKEName: 'CTIDH1024-X25519',
      SignatureSchemeName: 'Ed25519',
    },
    userForwardPayloadLength: ufpl,
    forwardPayloadLength: sphinx.ForwardPayloadLength,
    maxPlaintext: max,
    paddedPlaintext: max + 4,
    boxCiphertext,
    innerPadded,
    mkemEnvelope,
    courierEnvelope,
    courierQuery,
    replyPadded,
    envelopeReply,
    copyChunk: max - 4,
    copyElementData: max - COPY_STREAM_ELEMENT_OVERHEAD,
  };
}

/** The handshake maps, keys in Go declaration order. */
export function geometryMaps(sizes: Sizes): {
  sphinx: Record<string, number | string>;
  pigeonhole: Record<string, number | string>;
} {
  return { sphinx: { ...sizes.sphinx }, pigeonhole: { ...sizes.pigeonhole } };
}

/**
 * The geometries as kpclientd announces them, written out by hand (not taken from the devnet): the
 * docker mixnet's Sphinx geometry, in Go's field order, and the Pigeonhole geometry kpclientd derives
 * from it.
 */

export const DOCKER_SPHINX_GEOMETRY = {
  PacketLength: 3082,
  NrHops: 5,
  HeaderLength: 476,
  RoutingInfoLength: 410,
  PerHopRoutingInfoLength: 82,
  SURBLength: 572,
  SphinxPlaintextHeaderLength: 2,
  PayloadTagLength: 32,
  ForwardPayloadLength: 2574,
  UserForwardPayloadLength: 2000,
  NextNodeHopLength: 65,
  SPRPKeyMaterialLength: 64,
  NIKEName: 'x25519',
  KEMName: '',
};

/** 1549 plaintext bytes per box. */
export const DOCKER_PIGEONHOLE_GEOMETRY = {
  MaxPlaintextPayloadLength: 1549,
  CourierQueryReadLength: 2000,
  CourierQueryWriteLength: 2000,
  CourierQueryReplyReadLength: 1718,
  CourierQueryReplyWriteLength: 1718,
  NIKEName: 'CTIDH1024-X25519',
  SignatureSchemeName: 'Ed25519',
};

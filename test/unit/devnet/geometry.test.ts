import { describe, expect, it } from 'vitest';
import { deriveSizes } from '../../../src/devnet/geometry.js';

describe('devnet geometry', () => {
  const sizes = deriveSizes();

  it('announces exactly the Go Sphinx geometry fields with the docker values', () => {
    expect(sizes.sphinx).toEqual({
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
    });
    expect(Object.keys(sizes.sphinx)).toEqual([
      'PacketLength',
      'NrHops',
      'HeaderLength',
      'RoutingInfoLength',
      'PerHopRoutingInfoLength',
      'SURBLength',
      'SphinxPlaintextHeaderLength',
      'PayloadTagLength',
      'ForwardPayloadLength',
      'UserForwardPayloadLength',
      'NextNodeHopLength',
      'SPRPKeyMaterialLength',
      'NIKEName',
      'KEMName',
    ]);
  });

  it('derives the Pigeonhole geometry from the Sphinx one as kpclientd does (1549 plaintext bytes per box)', () => {
    expect(sizes.pigeonhole).toEqual({
      MaxPlaintextPayloadLength: 1549,
      CourierQueryReadLength: 2000,
      CourierQueryWriteLength: 2000,
      CourierQueryReplyReadLength: 1718,
      CourierQueryReplyWriteLength: 1718,
      NIKEName: 'CTIDH1024-X25519',
      SignatureSchemeName: 'Ed25519',
    });
    expect(Object.keys(sizes.pigeonhole)).toEqual([
      'MaxPlaintextPayloadLength',
      'CourierQueryReadLength',
      'CourierQueryWriteLength',
      'CourierQueryReplyReadLength',
      'CourierQueryReplyWriteLength',
      'NIKEName',
      'SignatureSchemeName',
    ]);
  });

  it('has the intermediate sizes of daemon-semantics §3.1', () => {
    expect(sizes.boxCiphertext).toBe(1569);
    expect(sizes.innerPadded).toBe(1674);
    expect(sizes.mkemEnvelope).toBe(1702);
    expect(sizes.courierEnvelope).toBe(1999);
    expect(sizes.replyPadded).toBe(1675);
    expect(sizes.envelopeReply).toBe(1703);
    expect(sizes.copyChunk).toBe(1545);
    expect(sizes.copyElementData).toBe(1544);
  });
});

import { describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { deriveSizes } from '../../../src/devnet/geometry.js';
import {
  CopyStatus,
  encodeCourierEnvelope,
  encodeCourierQuery,
  encodeCourierQueryReply,
  encodeReplicaInnerMessage,
  encodeReplicaReplyInnerMessage,
  envelopeHash,
  ParseError,
  padPayload,
  parseCourierEnvelope,
  parseCourierQuery,
  parseCourierQueryReply,
  parseReplicaInnerMessage,
  parseReplicaReplyInnerMessage,
  ReplyType,
  unpadPayload,
} from '../../../src/devnet/pigeonhole/messages.js';

const sizes = deriveSizes();
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

function fullEnvelope() {
  return {
    intermediateReplicas: [3, 1] as [number, number],
    dek1: fill(60, 1),
    dek2: fill(60, 2),
    replyIndex: 0,
    epoch: 123456789n,
    senderPubkey: fill(160, 3),
    ciphertext: fill(sizes.mkemEnvelope, 4),
  };
}

describe('Pigeonhole trunnel messages', () => {
  it('pads with a big-endian length prefix and zeros, and unpads exactly', () => {
    const p = padPayload(Uint8Array.of(9, 8, 7), 12);
    expect([...p]).toEqual([0, 0, 0, 3, 9, 8, 7, 0, 0, 0, 0, 0]);
    expect([...unpadPayload(p)]).toEqual([9, 8, 7]);
    expect(() => padPayload(fill(9, 1), 12)).toThrow(RangeError);
    expect(() => unpadPayload(Uint8Array.of(0, 0, 1, 0, 5))).toThrow(ParseError);
  });

  it('gives a write CourierEnvelope 1999 bytes and its CourierQuery 2000 (= UserForwardPayloadLength)', () => {
    const env = fullEnvelope();
    const bytes = encodeCourierEnvelope(env);
    expect(bytes.length).toBe(sizes.courierEnvelope);
    expect(encodeCourierQuery({ kind: 'envelope', envelope: env }).length).toBe(2000);
    expect(parseCourierEnvelope(bytes)).toEqual(env);
    const q = parseCourierQuery(encodeCourierQuery({ kind: 'envelope', envelope: env }));
    expect(q).toEqual({ kind: 'envelope', envelope: env });
  });

  it('hashes an envelope as BLAKE2b-256(sender_pubkey ‖ ciphertext) only', () => {
    const env = fullEnvelope();
    const joined = new Uint8Array(160 + env.ciphertext.length);
    joined.set(env.senderPubkey);
    joined.set(env.ciphertext, 160);
    expect(envelopeHash(env)).toEqual(blake2b256(joined));
    const otherDek = { ...env, dek1: fill(60, 9) };
    expect(envelopeHash(otherDek)).toEqual(envelopeHash(env));
  });

  it('encodes a copy command as 173 bytes for a 168-byte WriteCap', () => {
    const q = encodeCourierQuery({ kind: 'copy', writeCap: fill(168, 5) });
    expect(q.length).toBe(173);
    expect(parseCourierQuery(q)).toEqual({ kind: 'copy', writeCap: fill(168, 5) });
  });

  it('sizes courier replies as the real ones: 1743 with a replica payload, 40 for an ACK, 11 for a copy status', () => {
    const payload = encodeCourierQueryReply({
      kind: 'envelope',
      reply: {
        envelopeHash: fill(32, 1),
        replyIndex: 1,
        replyType: ReplyType.Payload,
        payload: fill(1703, 7),
        errorCode: 0,
      },
    });
    expect(payload.length).toBe(1743);
    const ack = encodeCourierQueryReply({
      kind: 'envelope',
      reply: {
        envelopeHash: fill(32, 1),
        replyIndex: 0,
        replyType: ReplyType.Ack,
        payload: new Uint8Array(0),
        errorCode: 0,
      },
    });
    expect(ack.length).toBe(40);
    const copy = encodeCourierQueryReply({
      kind: 'copy',
      reply: { status: CopyStatus.Failed, errorCode: 10, failedEnvelopeIndex: 3n },
    });
    expect(copy.length).toBe(11);
    // Trailing zero padding (the SURB payload is padded) is ignored.
    const padded = new Uint8Array(2574);
    padded.set(copy);
    expect(parseCourierQueryReply(padded)).toEqual({
      kind: 'copy',
      reply: { status: 2, errorCode: 10, failedEnvelopeIndex: 3n },
    });
    expect(parseCourierQueryReply(payload).kind).toBe('envelope');
  });

  it('round-trips replica inner messages, and a full write fills the padded MKEM plaintext exactly', () => {
    const write = {
      kind: 'write' as const,
      boxId: fill(32, 1),
      signature: fill(64, 2),
      payload: fill(sizes.boxCiphertext, 3),
    };
    const enc = encodeReplicaInnerMessage(write);
    expect(enc.length + 4).toBe(sizes.innerPadded);
    expect(parseReplicaInnerMessage(enc)).toEqual(write);
    const read = { kind: 'read' as const, boxId: fill(32, 6) };
    expect(parseReplicaInnerMessage(encodeReplicaInnerMessage(read))).toEqual(read);
    const reply = {
      kind: 'read' as const,
      errorCode: 0,
      boxId: fill(32, 1),
      signature: fill(64, 2),
      payload: fill(sizes.boxCiphertext, 3),
    };
    const r = encodeReplicaReplyInnerMessage(reply);
    expect(r.length + 4).toBe(sizes.replyPadded);
    expect(parseReplicaReplyInnerMessage(r)).toEqual(reply);
    expect(
      parseReplicaReplyInnerMessage(encodeReplicaReplyInnerMessage({ kind: 'write', errorCode: 10 })),
    ).toEqual({
      kind: 'write',
      errorCode: 10,
    });
  });

  it('rejects truncated or unknown messages with ParseError', () => {
    expect(() => parseCourierQuery(Uint8Array.of(7))).toThrow(ParseError);
    expect(() => parseCourierQuery(Uint8Array.of(0, 1, 2))).toThrow(ParseError);
    expect(() => parseCourierEnvelope(new Uint8Array(10))).toThrow(ParseError);
    expect(() => parseCourierEnvelope(new Uint8Array([...encodeCourierEnvelope(fullEnvelope()), 0]))).toThrow(
      ParseError,
    );
    expect(() => parseReplicaInnerMessage(Uint8Array.of(2))).toThrow(ParseError);
    expect(() => parseCourierQueryReply(new Uint8Array(0))).toThrow(ParseError);
  });
});

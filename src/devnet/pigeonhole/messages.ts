/**
 * The Pigeonhole messages that travel between the daemon, couriers and replicas, with the trunnel layout
 * of kp:pigeonhole/pigeonhole_messages.trunnel (all integers big-endian), so every message has its real
 * size. Our own encoder and parser, written from the schema.
 */
import { blake2b256 } from '../../crypto/hash.js';
import { joinBytes } from '../bytes.js';
import { BOX_ID_SIZE, HASH_SIZE, MKEM_DEK_SIZE, SIGNATURE_SIZE } from '../geometry.js';

export class ParseError extends Error {
  override readonly name = 'ParseError';
}

class Reader {
  private off = 0;
  constructor(private readonly buf: Uint8Array) {}
  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }
  u16(): number {
    this.need(2);
    const v = (this.buf[this.off]! << 8) | this.buf[this.off + 1]!;
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.off, 4).getUint32(0, false);
    this.off += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.off, 8).getBigUint64(0, false);
    this.off += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  get remaining(): number {
    return this.buf.length - this.off;
  }
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new ParseError('data too short');
  }
}

class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  u8(v: number): this {
    return this.raw(Uint8Array.of(v & 0xff));
  }
  u16(v: number): this {
    return this.raw(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, false);
    return this.raw(b);
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), false);
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  fixed(b: Uint8Array, n: number): this {
    if (b.length !== n) throw new RangeError(`expected ${n} bytes, got ${b.length}`);
    return this.raw(b);
  }
  done(): Uint8Array {
    return joinBytes(this.parts);
  }
}

// ---- padding (kp:pigeonhole/helpers.go) --------------------------------------------------------------

/** `CreatePaddedPayload`: BE u32 length ‖ message ‖ zeros, `targetSize` bytes in total. */
export function padPayload(message: Uint8Array, targetSize: number): Uint8Array {
  if (message.length > targetSize - 4) {
    throw new RangeError(`message of ${message.length} bytes does not fit in ${targetSize - 4}`);
  }
  const out = new Uint8Array(targetSize);
  new DataView(out.buffer).setUint32(0, message.length, false);
  out.set(message, 4);
  return out;
}

/** `ExtractMessageFromPaddedPayload`. */
export function unpadPayload(padded: Uint8Array): Uint8Array {
  if (padded.length < 4) throw new ParseError('padded payload too short');
  const n = new DataView(padded.buffer, padded.byteOffset, 4).getUint32(0, false);
  if (n > padded.length - 4) throw new ParseError(`invalid padded length ${n}`);
  return padded.slice(4, 4 + n);
}

// ---- CourierEnvelope ---------------------------------------------------------------------------------

export interface CourierEnvelope {
  intermediateReplicas: [number, number];
  dek1: Uint8Array;
  dek2: Uint8Array;
  replyIndex: number;
  epoch: bigint;
  senderPubkey: Uint8Array;
  ciphertext: Uint8Array;
}

export function encodeCourierEnvelope(e: CourierEnvelope): Uint8Array {
  return new Writer()
    .u8(e.intermediateReplicas[0])
    .u8(e.intermediateReplicas[1])
    .fixed(e.dek1, MKEM_DEK_SIZE)
    .fixed(e.dek2, MKEM_DEK_SIZE)
    .u8(e.replyIndex)
    .u64(e.epoch)
    .u16(e.senderPubkey.length)
    .raw(e.senderPubkey)
    .u32(e.ciphertext.length)
    .raw(e.ciphertext)
    .done();
}

function readCourierEnvelope(r: Reader): CourierEnvelope {
  const a = r.u8();
  const b = r.u8();
  const dek1 = r.bytes(MKEM_DEK_SIZE);
  const dek2 = r.bytes(MKEM_DEK_SIZE);
  const replyIndex = r.u8();
  const epoch = r.u64();
  const senderPubkey = r.bytes(r.u16());
  const ciphertext = r.bytes(r.u32());
  return { intermediateReplicas: [a, b], dek1, dek2, replyIndex, epoch, senderPubkey, ciphertext };
}

/** Parses exactly one CourierEnvelope; trailing bytes are an error (as in the copy-stream decoder). */
export function parseCourierEnvelope(bytes: Uint8Array): CourierEnvelope {
  const r = new Reader(bytes);
  const e = readCourierEnvelope(r);
  if (r.remaining !== 0) throw new ParseError(`envelope has ${r.remaining} trailing bytes`);
  return e;
}

/** EnvelopeHash = BLAKE2b-256(SenderPubkey ‖ Ciphertext) (kp:pigeonhole/helpers.go). */
export function envelopeHash(e: Pick<CourierEnvelope, 'senderPubkey' | 'ciphertext'>): Uint8Array {
  const m = new Uint8Array(e.senderPubkey.length + e.ciphertext.length);
  m.set(e.senderPubkey);
  m.set(e.ciphertext, e.senderPubkey.length);
  return blake2b256(m);
}

// ---- CourierQuery ------------------------------------------------------------------------------------

export type CourierQuery =
  | { kind: 'envelope'; envelope: CourierEnvelope }
  | { kind: 'copy'; writeCap: Uint8Array };

export function encodeCourierQuery(q: CourierQuery): Uint8Array {
  if (q.kind === 'envelope') return new Writer().u8(0).raw(encodeCourierEnvelope(q.envelope)).done();
  return new Writer().u8(1).u32(q.writeCap.length).raw(q.writeCap).done();
}

/** Parses a CourierQuery; bytes after it (zero padding of a legacy payload) are ignored. */
export function parseCourierQuery(bytes: Uint8Array): CourierQuery {
  const r = new Reader(bytes);
  const t = r.u8();
  if (t === 0) return { kind: 'envelope', envelope: readCourierEnvelope(r) };
  if (t === 1) return { kind: 'copy', writeCap: r.bytes(r.u32()) };
  throw new ParseError(`unknown query_type ${t}`);
}

// ---- CourierQueryReply -------------------------------------------------------------------------------

export const ReplyType = { Ack: 0, Payload: 1 } as const;
export const CopyStatus = { Succeeded: 0, InProgress: 1, Failed: 2 } as const;
/** Courier EnvelopeError codes (kp:pigeonhole/errors.go), before the daemon remaps them. */
export const EnvelopeError = {
  Success: 0,
  InvalidEnvelope: 1,
  CacheCorruption: 2,
  Propagation: 3,
  InvalidEpoch: 4,
};

export interface CourierEnvelopeReply {
  envelopeHash: Uint8Array;
  replyIndex: number;
  replyType: number;
  payload: Uint8Array;
  errorCode: number;
}

export interface CopyCommandReply {
  status: number;
  errorCode: number;
  failedEnvelopeIndex: bigint;
}

export type CourierQueryReply =
  | { kind: 'envelope'; reply: CourierEnvelopeReply }
  | { kind: 'copy'; reply: CopyCommandReply };

export function encodeCourierQueryReply(q: CourierQueryReply): Uint8Array {
  if (q.kind === 'envelope') {
    const e = q.reply;
    return new Writer()
      .u8(0)
      .fixed(e.envelopeHash, HASH_SIZE)
      .u8(e.replyIndex)
      .u8(e.replyType)
      .u32(e.payload.length)
      .raw(e.payload)
      .u8(e.errorCode)
      .done();
  }
  const c = q.reply;
  return new Writer().u8(1).u8(c.status).u8(c.errorCode).u64(c.failedEnvelopeIndex).done();
}

export function parseCourierQueryReply(bytes: Uint8Array): CourierQueryReply {
  const r = new Reader(bytes);
  const t = r.u8();
  if (t === 0) {
    const envelopeHash = r.bytes(HASH_SIZE);
    const replyIndex = r.u8();
    const replyType = r.u8();
    if (replyType > 1) throw new ParseError(`bad reply_type ${replyType}`);
    const payload = r.bytes(r.u32());
    const errorCode = r.u8();
    return { kind: 'envelope', reply: { envelopeHash, replyIndex, replyType, payload, errorCode } };
  }
  if (t === 1) {
    return { kind: 'copy', reply: { status: r.u8(), errorCode: r.u8(), failedEnvelopeIndex: r.u64() } };
  }
  throw new ParseError(`unknown reply_type ${t}`);
}

// ---- Replica inner messages --------------------------------------------------------------------------

export interface ReplicaWrite {
  boxId: Uint8Array;
  signature: Uint8Array;
  payload: Uint8Array;
}

/** A box as both inner messages carry it: box ID, signature, then the length-prefixed payload. */
function writeSignedBox(w: Writer, m: ReplicaWrite): Writer {
  return w
    .fixed(m.boxId, BOX_ID_SIZE)
    .fixed(m.signature, SIGNATURE_SIZE)
    .u32(m.payload.length)
    .raw(m.payload);
}

function readSignedBox(r: Reader): ReplicaWrite {
  const boxId = r.bytes(BOX_ID_SIZE);
  const signature = r.bytes(SIGNATURE_SIZE);
  return { boxId, signature, payload: r.bytes(r.u32()) };
}

export type ReplicaInnerMessage = { kind: 'read'; boxId: Uint8Array } | ({ kind: 'write' } & ReplicaWrite);

export function encodeReplicaInnerMessage(m: ReplicaInnerMessage): Uint8Array {
  if (m.kind === 'read') return new Writer().u8(0).fixed(m.boxId, BOX_ID_SIZE).done();
  return writeSignedBox(new Writer().u8(1), m).done();
}

export function parseReplicaInnerMessage(bytes: Uint8Array): ReplicaInnerMessage {
  const r = new Reader(bytes);
  const t = r.u8();
  if (t === 0) return { kind: 'read', boxId: r.bytes(BOX_ID_SIZE) };
  if (t === 1) return { kind: 'write', ...readSignedBox(r) };
  throw new ParseError(`unknown message_type ${t}`);
}

export interface ReplicaReadReply {
  errorCode: number;
  boxId: Uint8Array;
  signature: Uint8Array;
  payload: Uint8Array;
}

export type ReplicaReplyInnerMessage =
  | ({ kind: 'read' } & ReplicaReadReply)
  | { kind: 'write'; errorCode: number };

export function encodeReplicaReplyInnerMessage(m: ReplicaReplyInnerMessage): Uint8Array {
  if (m.kind === 'write') return new Writer().u8(1).u8(m.errorCode).done();
  return writeSignedBox(new Writer().u8(0).u8(m.errorCode), m).done();
}

export function parseReplicaReplyInnerMessage(bytes: Uint8Array): ReplicaReplyInnerMessage {
  const r = new Reader(bytes);
  const t = r.u8();
  if (t === 1) return { kind: 'write', errorCode: r.u8() };
  if (t === 0) {
    const errorCode = r.u8();
    return { kind: 'read', errorCode, ...readSignedBox(r) };
  }
  throw new ParseError(`unknown reply message_type ${t}`);
}

/**
 * The daemon's side of Pigeonhole envelopes (katzenpost client/pigeonhole.go, envelope_descriptor.go,
 * pigeonhole/copy_stream.go): building a CourierEnvelope for a replica inner message, the EnvelopeDescriptor
 * that lets the daemon open the reply later, and the copy-stream envelope builders.
 */
import { encryptForBox, signTombstone } from '../../crypto/bacap.js';
import { decodeCbor, encodeCbor, u64ForWire } from '../../wire/codec.js';
import type { Sizes } from '../geometry.js';
import { type Directory, intermediatesFor } from '../network/directory.js';
import {
  type CourierEnvelope,
  encodeCourierEnvelope,
  encodeCourierQuery,
  encodeReplicaInnerMessage,
  envelopeHash,
  padPayload,
  type ReplicaInnerMessage,
} from '../pigeonhole/messages.js';
import { encapsulate } from '../pigeonhole/mkem.js';
import type { Drbg } from '../rng.js';

export interface BuiltEnvelope {
  envelope: CourierEnvelope;
  /** The trunnel CourierEnvelope bytes. */
  bytes: Uint8Array;
  /** `message_ciphertext`: CourierQuery{type 0, envelope}. */
  messageCiphertext: Uint8Array;
  envelopeDescriptor: Uint8Array;
  envelopeHash: Uint8Array;
}

/** `buildCourierEnvelope`: MKEM-encrypts the padded inner message to two intermediates of the box. */
export function buildEnvelope(
  dir: Directory,
  sizes: Sizes,
  rng: Drbg,
  boxId: Uint8Array,
  inner: ReplicaInnerMessage,
): BuiltEnvelope {
  const [a, b] = intermediatesFor(dir, boxId, rng);
  const keyA = a.envelopeKeys.get(dir.replicaEpoch);
  const keyB = b.envelopeKeys.get(dir.replicaEpoch);
  if (!keyA || !keyB) throw new Error('no envelope key for the current replica epoch');
  const padded = padPayload(encodeReplicaInnerMessage(inner), sizes.innerPadded);
  const mkem = encapsulate(rng, [keyA, keyB], padded);
  const envelope: CourierEnvelope = {
    intermediateReplicas: [a.replicaId, b.replicaId],
    dek1: mkem.deks[0]!,
    dek2: mkem.deks[1]!,
    replyIndex: 0,
    epoch: dir.replicaEpoch,
    senderPubkey: mkem.publicKey,
    ciphertext: mkem.envelope,
  };
  return {
    envelope,
    bytes: encodeCourierEnvelope(envelope),
    messageCiphertext: encodeCourierQuery({ kind: 'envelope', envelope }),
    envelopeDescriptor: encodeDescriptor({
      epoch: dir.replicaEpoch,
      replicaNums: [a.replicaId, b.replicaId],
      envelopeKey: mkem.privateKey,
    }),
    envelopeHash: envelopeHash(envelope),
  };
}

/** A write envelope for one box: a tombstone for an empty plaintext, else the padded BACAP box. */
export function writeEnvelope(
  dir: Directory,
  sizes: Sizes,
  rng: Drbg,
  writeCap: Uint8Array,
  index: Uint8Array,
  plaintext: Uint8Array,
): BuiltEnvelope {
  if (plaintext.length === 0) {
    const t = signTombstone(writeCap, index);
    return buildEnvelope(dir, sizes, rng, t.boxId, {
      kind: 'write',
      boxId: t.boxId,
      signature: t.signature,
      payload: new Uint8Array(0),
    });
  }
  const box = encryptForBox(writeCap, index, padPayload(plaintext, sizes.paddedPlaintext));
  return buildEnvelope(dir, sizes, rng, box.boxId, {
    kind: 'write',
    boxId: box.boxId,
    signature: box.signature,
    payload: box.ciphertext,
  });
}

export interface EnvelopeDescriptor {
  /** Replica epoch. */
  epoch: bigint;
  replicaNums: [number, number];
  /** The MKEM ephemeral private key. */
  envelopeKey: Uint8Array;
}

/** CBOR with Go field names in declaration order: `{Epoch, ReplicaNums (2-byte bstr), EnvelopeKey}`. */
export function encodeDescriptor(d: EnvelopeDescriptor): Uint8Array {
  return encodeCbor({
    Epoch: u64ForWire(d.epoch),
    ReplicaNums: Uint8Array.from(d.replicaNums),
    EnvelopeKey: d.envelopeKey,
  });
}

/** Parses a descriptor a client handed back; throws on anything malformed. */
export function decodeDescriptor(bytes: Uint8Array): EnvelopeDescriptor {
  const v = decodeCbor(bytes) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null) throw new Error('descriptor is not a map');
  const epoch = v.Epoch;
  const nums = v.ReplicaNums;
  const key = v.EnvelopeKey;
  if (typeof epoch !== 'number' && typeof epoch !== 'bigint') throw new Error('descriptor Epoch');
  if (!(nums instanceof Uint8Array) || nums.length !== 2) throw new Error('descriptor ReplicaNums');
  if (!(key instanceof Uint8Array)) throw new Error('descriptor EnvelopeKey');
  return { epoch: BigInt(epoch), replicaNums: [nums[0]!, nums[1]!], envelopeKey: key };
}

/**
 * What the network's components may ask of a storage replica they reach through the context (couriers,
 * and replicas proxying or replicating to each other), and the messages they exchange. The Replica class
 * implements it; keeping it here lets the context name replicas without depending on their implementation.
 */

import type {
  ReplicaInnerMessage,
  ReplicaReadReply,
  ReplicaReplyInnerMessage,
  ReplicaWrite,
} from '../pigeonhole/messages.js';
import type { Directory } from './directory.js';

/** What a courier sends to one intermediate replica. */
export interface ReplicaMessage {
  senderPubkey: Uint8Array;
  dek: Uint8Array;
  ciphertext: Uint8Array;
}

/** `ReplicaMessageReply`: the outer code is visible to the courier; the body is encrypted for the client. */
export interface ReplicaMessageReply {
  replicaId: number;
  envelopeHash: Uint8Array;
  errorCode: number;
  /** Encrypted, padded ReplicaMessageReplyInnerMessage; empty on the bail-out paths. */
  envelopeReply: Uint8Array;
}

export interface ReplicaPeer {
  readonly replicaId: number;
  /** A courier's envelope: decapsulate, serve or proxy, and encrypt the reply for the client. */
  handleMessage(msg: ReplicaMessage): Promise<ReplicaMessageReply>;
  /** A read or write for a box this replica shards (a proxied request). */
  serveLocal(inner: ReplicaInnerMessage, dir: Directory, replicate: boolean): ReplicaReplyInnerMessage;
  readLocal(boxId: Uint8Array): ReplicaReadReply;
  /** Applies a write; returns the replica error code (0 = success). */
  writeLocal(w: ReplicaWrite): number;
  /** Whether the replica already stores this box (or a tombstone in its place). */
  holds(boxId: Uint8Array, box: { payload: Uint8Array; signature: Uint8Array }): boolean;
}

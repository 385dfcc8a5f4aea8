/**
 * What a PKI document tells its readers, as the devnet's components use it: the storage replicas with
 * their envelope keys, the configured replica identity keys that drive sharding, and the service nodes
 * with their Kaetzchen. Built alongside each signed document from the same data, so the daemon, the
 * couriers and the replicas all act on exactly what the document says.
 */
import { blake2b256 } from '../../crypto/hash.js';
import type { Drbg } from '../rng.js';

export interface ReplicaInfo {
  replicaId: number;
  name: string;
  identityKey: Uint8Array;
  /** Replica epoch → 160-byte MKEM public key. */
  envelopeKeys: Map<bigint, Uint8Array>;
}

export interface ServiceInfo {
  name: string;
  identityKey: Uint8Array;
  /** BLAKE2b-256(identityKey): `destination_id_hash`, `courier_identity_hash`. */
  identityHash: Uint8Array;
  /** capability → endpoint (the recipient queue ID as text). */
  kaetzchen: Map<string, string>;
}

export interface Directory {
  epoch: bigint;
  /** `ConvertNormalToReplicaEpoch(epoch)`. */
  replicaEpoch: bigint;
  /** `StorageReplicas`: the replicas online in this epoch. */
  replicas: ReplicaInfo[];
  /** `ConfiguredReplicaIdentityKeys`: stable, drives sharding. */
  configuredReplicaKeys: Uint8Array[];
  services: ServiceInfo[];
  /** Rates, events per ms. */
  rates: { mu: number; lambdaP: number; lambdaL: number; lambdaR: number };
  /** `get_pki_document_reply.payload`. */
  signed: Uint8Array;
  /** Handshake copy of the stripped document (canonical CBOR). */
  stripped: Uint8Array;
  /** Broadcast copy of the stripped document (Go default CBOR). */
  strippedBroadcast: Uint8Array;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function replicaById(dir: Directory, id: number): ReplicaInfo | undefined {
  return dir.replicas.find((r) => r.replicaId === id);
}

/**
 * `GetShards`: the K = 2 configured identity keys with the smallest BLAKE2b-256(key ‖ boxID), smallest
 * first, mapped to the replicas online in the document (an offline shard is skipped).
 */
export function shardsFor(dir: Directory, boxId: Uint8Array): ReplicaInfo[] {
  const ranked = dir.configuredReplicaKeys
    .map((key) => {
      const m = new Uint8Array(key.length + boxId.length);
      m.set(key);
      m.set(boxId, key.length);
      return { key, h: blake2b256(m) };
    })
    .sort((a, b) => compare(a.h, b.h))
    .slice(0, 2);
  const out: ReplicaInfo[] = [];
  for (const { key } of ranked) {
    const r = dir.replicas.find((x) => compare(x.identityKey, key) === 0);
    if (r) out.push(r);
  }
  return out;
}

/**
 * `GetRandomIntermediateReplicas`: with 4 or more replicas, two random replicas that are not shards of the
 * box; with 3, the first online shard and one random other; with 2, both. Throws when it cannot choose.
 */
export function intermediatesFor(dir: Directory, boxId: Uint8Array, rng: Drbg): [ReplicaInfo, ReplicaInfo] {
  const n = dir.replicas.length;
  if (n < 2) throw new Error('not enough storage replicas');
  if (n === 2) return [dir.replicas[0]!, dir.replicas[1]!];
  const shards = shardsFor(dir, boxId);
  if (n === 3) {
    const first = shards[0];
    if (first) {
      const others = dir.replicas.filter((r) => r !== first);
      return [first, rng.pick(others)];
    }
    const a = rng.pick(dir.replicas);
    return [a, rng.pick(dir.replicas.filter((r) => r !== a))];
  }
  const candidates = dir.replicas.filter((r) => !shards.includes(r));
  if (candidates.length < 2) throw new Error('not enough non-shard replicas');
  const a = rng.pick(candidates);
  return [a, rng.pick(candidates.filter((r) => r !== a))];
}

/** `FindServices(capability, doc)`. */
export function findServices(dir: Directory, capability: string): { node: ServiceInfo; endpoint: string }[] {
  const out: { node: ServiceInfo; endpoint: string }[] = [];
  for (const node of dir.services) {
    const endpoint = node.kaetzchen.get(capability);
    if (endpoint !== undefined) out.push({ node, endpoint });
  }
  return out;
}

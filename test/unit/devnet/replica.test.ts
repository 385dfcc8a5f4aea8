import { describe, expect, it } from 'vitest';
import {
  encryptForBox,
  firstIndexOf,
  isValidBoxId,
  newWriteCapFromSeed,
  nextIndex,
  signTombstone,
} from '../../../src/crypto/bacap.js';
import { VirtualClock } from '../../../src/devnet/clock.js';
import { deriveSizes } from '../../../src/devnet/geometry.js';
import { shardsFor } from '../../../src/devnet/network/directory.js';
import { Network } from '../../../src/devnet/network/network.js';
import { padPayload } from '../../../src/devnet/pigeonhole/messages.js';
import { Drbg, seedBytes } from '../../../src/devnet/rng.js';
import { resolveTiming } from '../../../src/devnet/timing.js';
import { ReplicaCode } from '../../../src/wire/errorCodes.js';

const sizes = deriveSizes();

function network(clock = new VirtualClock(), replicationLagMs = 0) {
  return new Network({
    clock,
    rng: new Drbg(seedBytes('replica-test')),
    sizes,
    timing: resolveTiming('instant', 1),
    profile: 'instant',
    authorityScheme: 'Ed25519',
    authorityCount: 3,
    replicaCount: 5,
    serviceNodeCount: 3,
    lossProbability: 0,
    replicationLagMs,
    startEpoch: 1_000_000n,
    courierRedispatchLimit: Number.POSITIVE_INFINITY,
    fixStaleNegative: true,
    log: () => {},
  });
}

const writeCap = newWriteCapFromSeed(new Uint8Array(32).fill(3));
const index = firstIndexOf(writeCap);

function box(text: string, at = index) {
  const sealed = encryptForBox(
    writeCap,
    at,
    padPayload(new TextEncoder().encode(text), sizes.paddedPlaintext),
  );
  return { boxId: sealed.boxId, signature: sealed.signature, payload: sealed.ciphertext };
}

describe('storage replica', () => {
  it('stores a box once: an identical rewrite succeeds, different content is BoxAlreadyExists', () => {
    const net = network();
    const r = net.replicas[0]!;
    const a = box('first');
    expect(r.writeLocal(a)).toBe(ReplicaCode.Success);
    expect(r.writeLocal(a)).toBe(ReplicaCode.Success);
    const b = box('second');
    expect(r.writeLocal(b)).toBe(ReplicaCode.BoxAlreadyExists);
    expect(r.readLocal(a.boxId)).toMatchObject({ errorCode: 0, payload: a.payload, signature: a.signature });
    net.stop();
  });

  it('refuses a wrong payload size (5), a box ID that is not a curve point (2) and a bad signature (3)', () => {
    const net = network();
    const r = net.replicas[1]!;
    const a = box('x');
    expect(r.writeLocal({ ...a, payload: a.payload.subarray(1) })).toBe(ReplicaCode.InvalidPayload);
    const notAPoint = new Uint8Array(32);
    for (let y = 2; isValidBoxId(notAPoint) || y === 2; y++) notAPoint[0] = y;
    expect(r.writeLocal({ ...a, boxId: notAPoint })).toBe(ReplicaCode.InvalidBoxId);
    const badSig = a.signature.slice();
    badSig[0]! ^= 1;
    expect(r.writeLocal({ ...a, signature: badSig })).toBe(ReplicaCode.InvalidSignature);
    expect(r.size).toBe(0);
    net.stop();
  });

  it('reports BoxIDNotFound for a missing box, and a tombstone (11, with its signature) after a valid tombstone overwrites data', () => {
    const net = network();
    const r = net.replicas[2]!;
    const a = box('to be deleted');
    expect(r.readLocal(a.boxId).errorCode).toBe(ReplicaCode.BoxIdNotFound);
    expect(r.writeLocal(a)).toBe(0);
    const t = signTombstone(writeCap, index);
    const forged = t.signature.slice();
    forged[5]! ^= 1;
    expect(r.writeLocal({ boxId: t.boxId, signature: forged, payload: new Uint8Array(0) })).toBe(
      ReplicaCode.InvalidSignature,
    );
    expect(r.writeLocal({ boxId: t.boxId, signature: t.signature, payload: new Uint8Array(0) })).toBe(0);
    const read = r.readLocal(a.boxId);
    expect(read.errorCode).toBe(ReplicaCode.Tombstone);
    expect(read.signature).toEqual(t.signature);
    expect(read.payload.length).toBe(0);
    // A later write to the tombstoned box differs from the (empty) stored payload.
    expect(r.writeLocal(a)).toBe(ReplicaCode.BoxAlreadyExists);
    net.stop();
  });

  it('shards every box on the two replicas with the smallest BLAKE2b-256(identity key ‖ box ID)', () => {
    const net = network();
    const dir = net.directory();
    const ids = new Set<number>();
    let at = index;
    for (let i = 0; i < 20; i++) {
      const shards = shardsFor(dir, box('s', at).boxId);
      expect(shards.length).toBe(2);
      expect(shards[0]!.replicaId).not.toBe(shards[1]!.replicaId);
      for (const s of shards) ids.add(s.replicaId);
      at = nextIndex(at);
    }
    expect(ids.size).toBeGreaterThan(2);
    net.stop();
  });

  it('replicates a successful shard write to the other shard only after the replication lag', async () => {
    const clock = new VirtualClock();
    const net = network(clock, 5000);
    const a = box('replicated');
    const [first, second] = shardsFor(net.directory(), a.boxId).map((s) => net.replica(s.replicaId)!);
    first!.serveLocal({ kind: 'write', ...a }, net.directory(), true);
    await clock.advance(1000);
    expect(second!.readLocal(a.boxId).errorCode).toBe(ReplicaCode.BoxIdNotFound);
    await clock.advance(5000);
    expect(second!.readLocal(a.boxId).errorCode).toBe(ReplicaCode.Success);
    expect(net.stats.replications).toBe(1);
    net.stop();
  });
});

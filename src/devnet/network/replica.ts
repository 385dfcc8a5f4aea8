/**
 * A storage replica (katzenpost replica/handlers.go, state.go): decapsulates the courier's envelope with its
 * envelope key for the replica epoch window, serves reads and writes for the boxes it shards, proxies the
 * others to a random shard, replicates successful writes to the other shard after the replication lag, and
 * encrypts every reply (success or error) to the client's ephemeral key, padded to the read-reply size.
 * Storage rules: boxes are write-once (an identical rewrite succeeds, different content is
 * BoxAlreadyExists); a tombstone (empty payload, signature over the empty string) overwrites anything; the
 * box ID must be an Ed25519 point and the signature must verify under it; the payload must be exactly the
 * geometry's box ciphertext length.
 */
import { createPublicKey, verify } from 'node:crypto';
import { equalBytes } from '@noble/curves/utils.js';
import { isValidBoxId } from '../../crypto/bacap.js';
import { ReplicaCode } from '../../wire/errorCodes.js';
import { sleep } from '../clock.js';
import { SIGNATURE_SIZE } from '../geometry.js';
import {
  encodeReplicaReplyInnerMessage,
  envelopeHash,
  padPayload,
  parseReplicaInnerMessage,
  type ReplicaInnerMessage,
  type ReplicaReadReply,
  type ReplicaReplyInnerMessage,
  type ReplicaWrite,
  unpadPayload,
} from '../pigeonhole/messages.js';
import { decapsulate, envelopeReply, isValidPublicKey, type NikeKeypair } from '../pigeonhole/mkem.js';
import { type BoxStore, MemoryBoxStore } from './boxStore.js';
import type { NetworkContext } from './context.js';
import { ctidhWork } from './cpu.js';
import { type Directory, shardsFor } from './directory.js';
import type { ReplicaMessage, ReplicaMessageReply, ReplicaPeer } from './replicaPeer.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const EMPTY = new Uint8Array(0);
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Ed25519 verification with the box ID as public key, as the replica does (Go's `ed25519.Verify`). Done by
 * OpenSSL here, independently of the client-side BACAP code that made the signature.
 */
function verifyBox(boxId: Uint8Array, payload: Uint8Array, signature: Uint8Array): boolean {
  if (boxId.length !== 32 || signature.length !== SIGNATURE_SIZE) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, boxId]), format: 'der', type: 'spki' });
    return verify(null, payload, key, signature);
  } catch {
    return false;
  }
}

export class Replica implements ReplicaPeer {
  constructor(
    readonly replicaId: number,
    readonly name: string,
    readonly identityKey: Uint8Array,
    private readonly net: NetworkContext,
    private readonly boxes: BoxStore = new MemoryBoxStore(),
  ) {}

  /** Envelope key pair for a replica epoch (derived from the network seed). */
  keypair(replicaEpoch: bigint): NikeKeypair {
    return this.net.replicaKeypair(this.replicaId, replicaEpoch);
  }

  /** Number of boxes held (tombstones included). */
  get size(): number {
    return this.boxes.size;
  }

  /** The stored box, for tests and diagnostics. */
  peek(boxId: Uint8Array): { payload: Uint8Array; signature: Uint8Array } | undefined {
    const b = this.boxes.get(hex(boxId));
    return b && { payload: b.payload.slice(), signature: b.signature.slice() };
  }

  /** Test hook: store bytes without any check (to model a misbehaving replica). */
  unsafeStore(boxId: Uint8Array, payload: Uint8Array, signature: Uint8Array): void {
    this.boxes.set(hex(boxId), { payload: payload.slice(), signature: signature.slice() });
  }

  /**
   * Hands every box this replica holds to the other shards that should hold it too, as the replication
   * that was under way when the network stopped would have. Tombstones win and boxes are write-once, so
   * the order does not matter. Returns how many writes changed another replica.
   */
  repairReplication(): number {
    const dir = this.net.directory();
    let repaired = 0;
    for (const [key, box] of this.boxes.entries()) {
      const boxId = Uint8Array.from(Buffer.from(key, 'hex'));
      for (const s of shardsFor(dir, boxId)) {
        if (s.replicaId === this.replicaId) continue;
        const peer = this.net.replica(s.replicaId);
        if (!peer || peer.holds(boxId, box)) continue;
        if (peer.writeLocal({ boxId, signature: box.signature, payload: box.payload }) === 0) repaired++;
      }
    }
    return repaired;
  }

  /** Whether this replica stores exactly `box` (or a tombstone, which no write replaces) under `boxId`. */
  holds(boxId: Uint8Array, box: { payload: Uint8Array; signature: Uint8Array }): boolean {
    const mine = this.boxes.get(hex(boxId));
    if (!mine) return false;
    return mine.payload.length === 0 || (equalBytes(mine.payload, box.payload) && box.payload.length > 0);
  }

  /** Handles a courier's ReplicaMessage. Never throws. */
  async handleMessage(msg: ReplicaMessage): Promise<ReplicaMessageReply> {
    const hash = envelopeHash({ senderPubkey: msg.senderPubkey, ciphertext: msg.ciphertext });
    try {
      return await this.handle(msg, hash);
    } catch (err) {
      this.net.log(`replica ${this.name}: internal error ${(err as Error).message}`);
      return { replicaId: 0, envelopeHash: hash, errorCode: ReplicaCode.InternalError, envelopeReply: EMPTY };
    }
  }

  private async handle(msg: ReplicaMessage, hash: Uint8Array): Promise<ReplicaMessageReply> {
    const bail = (code: number, id = 0): ReplicaMessageReply => ({
      replicaId: id,
      envelopeHash: hash,
      errorCode: code,
      envelopeReply: EMPTY,
    });
    await this.work(1);
    if (!isValidPublicKey(msg.senderPubkey)) return bail(ReplicaCode.InternalError);
    const dir = this.net.directory();
    let keypair: NikeKeypair | undefined;
    let plain: Uint8Array | null = null;
    for (const e of [dir.replicaEpoch - 1n, dir.replicaEpoch, dir.replicaEpoch + 1n]) {
      if (e < 0n) continue;
      const kp = this.keypair(e);
      plain = decapsulate(kp.privateKey, msg.senderPubkey, msg.dek, msg.ciphertext);
      if (plain) {
        keypair = kp;
        break;
      }
    }
    if (!plain || !keypair) return bail(ReplicaCode.InvalidEpoch);
    let inner: ReplicaInnerMessage;
    try {
      inner = parseReplicaInnerMessage(unpadPayload(plain));
    } catch {
      return bail(ReplicaCode.InvalidPayload);
    }

    const shards = shardsFor(dir, inner.boxId);
    if (shards.length === 0) return bail(ReplicaCode.InternalError);
    const isShard = shards.some((s) => s.replicaId === this.replicaId);
    let reply: ReplicaReplyInnerMessage;
    if (isShard) {
      reply = this.serveLocal(inner, dir, true);
    } else {
      const proxied = await this.proxy(inner, shards);
      if (!proxied) return bail(ReplicaCode.ReplicationFailed, this.replicaId);
      reply = proxied;
    }
    const padded = padPayload(encodeReplicaReplyInnerMessage(reply), this.net.sizes.replyPadded);
    await this.work(1);
    const sealed = envelopeReply(this.net.rng, keypair.privateKey, msg.senderPubkey, padded);
    await sleep(this.net.clock, this.net.rng.uniform(this.net.timing.replicaJitterMs));
    return {
      replicaId: this.replicaId,
      envelopeHash: hash,
      errorCode: reply.errorCode,
      envelopeReply: sealed,
    };
  }

  /** Proxies to a random shard, failing over to the other (only unreachable shards fail over). */
  private async proxy(
    inner: ReplicaInnerMessage,
    shards: ReturnType<typeof shardsFor>,
  ): Promise<ReplicaReplyInnerMessage | null> {
    const start = this.net.rng.int(shards.length);
    const order = [...shards.slice(start), ...shards.slice(0, start)];
    for (const s of order) {
      const target = this.net.replica(s.replicaId);
      if (!target) continue;
      await this.net.linkDelay();
      await this.work(2);
      const reply = target.serveLocal(inner, this.net.directory(), true);
      await this.work(2);
      await this.net.linkDelay();
      return reply;
    }
    return null;
  }

  /** A read or write served from local storage. Writes that succeed are replicated to the other shard. */
  serveLocal(inner: ReplicaInnerMessage, dir: Directory, replicate: boolean): ReplicaReplyInnerMessage {
    if (inner.kind === 'read') return { kind: 'read', ...this.readLocal(inner.boxId) };
    const code = this.writeLocal(inner);
    this.net.stats.writes++;
    if (code === ReplicaCode.Success && replicate) this.replicate(inner, dir);
    return { kind: 'write', errorCode: code };
  }

  /** Read path (replica/handlers.go): data, tombstone (11 with the signature) or BoxIDNotFound (1). */
  readLocal(boxId: Uint8Array): ReplicaReadReply {
    this.net.stats.reads++;
    const box = this.boxes.get(hex(boxId));
    if (!box) {
      return {
        errorCode: ReplicaCode.BoxIdNotFound,
        boxId: boxId.slice(),
        signature: new Uint8Array(SIGNATURE_SIZE),
        payload: EMPTY,
      };
    }
    if (box.payload.length === 0) {
      return {
        errorCode: ReplicaCode.Tombstone,
        boxId: boxId.slice(),
        signature: box.signature.slice(),
        payload: EMPTY,
      };
    }
    return {
      errorCode: ReplicaCode.Success,
      boxId: boxId.slice(),
      signature: box.signature.slice(),
      payload: box.payload.slice(),
    };
  }

  /** Write path (replica/handlers.go, state.go), checks in the real order. */
  writeLocal(w: ReplicaWrite): number {
    if (w.payload.length === 0) {
      if (!verifyBox(w.boxId, EMPTY, w.signature)) return ReplicaCode.InvalidSignature;
      this.boxes.set(hex(w.boxId), { payload: EMPTY, signature: w.signature.slice() });
      return ReplicaCode.Success;
    }
    if (w.payload.length !== this.net.sizes.boxCiphertext) return ReplicaCode.InvalidPayload;
    if (!isValidBoxId(w.boxId)) return ReplicaCode.InvalidBoxId;
    if (!verifyBox(w.boxId, w.payload, w.signature)) return ReplicaCode.InvalidSignature;
    const key = hex(w.boxId);
    const existing = this.boxes.get(key);
    if (existing) {
      return equalBytes(existing.payload, w.payload) && equalBytes(existing.signature, w.signature)
        ? ReplicaCode.Success
        : ReplicaCode.BoxAlreadyExists;
    }
    this.boxes.set(key, { payload: w.payload.slice(), signature: w.signature.slice() });
    return ReplicaCode.Success;
  }

  /** `DispatchReplication`: the other shards get the plain write after link pacing and the lag knob. */
  private replicate(w: ReplicaWrite, dir: Directory): void {
    for (const s of shardsFor(dir, w.boxId)) {
      if (s.replicaId === this.replicaId) continue;
      const peer = this.net.replica(s.replicaId);
      if (!peer) continue;
      const copy: ReplicaWrite = {
        boxId: w.boxId.slice(),
        signature: w.signature.slice(),
        payload: w.payload.slice(),
      };
      void (async () => {
        await this.net.linkDelay();
        await sleep(this.net.clock, this.net.replicationLagMs());
        peer.writeLocal(copy);
        this.net.stats.replications++;
      })().catch((err) =>
        this.net.log(`replica ${this.name}: replication failed: ${(err as Error).message}`),
      );
    }
  }

  /** Simulated CTIDH work: `ops` operations of the configured cost. */
  private work(ops: number): Promise<void> {
    return ctidhWork(this.net.clock, this.net.timing, ops);
  }
}

/**
 * A courier (katzenpost courier/server/plugin.go): the `courier` service on each service node.
 *
 * Envelopes: deduplicated by EnvelopeHash. A new envelope is answered with an ACK at once and dispatched
 * asynchronously to its two intermediate replicas; replica replies are filed in the slot of the replying
 * replica (a later reply replaces a cached error, never a success). Later copies of the same envelope are
 * answered from the cache (PAYLOAD when a servable reply exists, otherwise ACK) and may trigger a
 * re-dispatch when every cached reply is an error. Envelopes outside the replica-epoch window get an
 * InvalidEpoch error reply.
 *
 * Copy commands: deduplicated by BLAKE2b-256(WriteCap); processed in the background (read the temp
 * stream's boxes straight from their shards, BACAP-decrypt, decode the copy stream, write every
 * destination envelope through its intermediates; any non-success reply aborts, preferring
 * BoxAlreadyExists); polls answer InProgress, then the cached terminal result. Earlier destination writes
 * are not rolled back. The temp boxes are left in place, as they are in the real network (its temp-box
 * "tombstones" are encrypted empty payloads, which occupied boxes reject).
 */

import {
  BacapError,
  boxIdFor,
  decryptFromBox,
  firstIndexOf,
  nextIndex,
  writeCapToReadCap,
} from '../../crypto/bacap.js';
import { blake2b256 } from '../../crypto/hash.js';
import { ReplicaCode } from '../../wire/errorCodes.js';
import { sleep } from '../clock.js';
import { CopyStreamDecoder } from '../pigeonhole/copyStream.js';
import {
  type CopyCommandReply,
  CopyStatus,
  type CourierEnvelope,
  type CourierQuery,
  EnvelopeError,
  encodeCourierQueryReply,
  envelopeHash,
  parseCourierEnvelope,
  parseCourierQuery,
  type ReplicaReadReply,
  ReplyType,
  unpadPayload,
} from '../pigeonhole/messages.js';
import type { NetworkContext } from './context.js';
import { shardsFor } from './directory.js';
import type { ReplicaMessageReply } from './replicaPeer.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const EMPTY = new Uint8Array(0);
const MAX_COPY_BOXES = 1 << 16;
const MAX_COPY_ENVELOPES = 1 << 16;
const COPY_ATTEMPTS = 10;
/** Replica codes a copy read retries on the same shard (courier/server/copy_errors.go). */
const TEMPORARY = new Set<number>([1, 4, 6, 7, 9]);

interface CacheEntry {
  createdAt: number;
  intermediates: [number, number];
  replies: [ReplicaMessageReply | null, ReplicaMessageReply | null];
  redispatches: number;
  inFlight: boolean;
}

interface CopyState {
  inProgress: boolean;
  result?: CopyCommandReply;
  completedAt?: number;
}

export class Courier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly copies = new Map<string, CopyState>();

  constructor(
    readonly nodeName: string,
    private readonly net: NetworkContext,
  ) {}

  /** Handles one CourierQuery; returns the CourierQueryReply bytes, or null (unparsable query: no reply). */
  handleQuery(payload: Uint8Array): Uint8Array | null {
    this.net.stats.courierQueries++;
    let query: CourierQuery;
    try {
      query = parseCourierQuery(payload);
    } catch {
      return null;
    }
    if (query.kind === 'copy')
      return encodeCourierQueryReply({ kind: 'copy', reply: this.handleCopy(query.writeCap) });
    return this.handleEnvelope(query.envelope);
  }

  // ---- envelopes ---------------------------------------------------------------------------------------

  private handleEnvelope(env: CourierEnvelope): Uint8Array {
    const hash = envelopeHash(env);
    const current = this.net.directory().replicaEpoch;
    if (env.epoch + 1n < current || env.epoch > current + 1n) {
      return this.envelopeReply(hash, env.replyIndex, ReplyType.Ack, EMPTY, EnvelopeError.InvalidEpoch);
    }
    const key = hex(hash);
    const entry = this.cache.get(key);
    if (!entry) {
      this.prune();
      const fresh: CacheEntry = {
        createdAt: this.net.clock.now(),
        intermediates: [env.intermediateReplicas[0], env.intermediateReplicas[1]],
        replies: [null, null],
        redispatches: 0,
        inFlight: false,
      };
      this.cache.set(key, fresh);
      this.dispatch(key, fresh, env);
      return this.envelopeReply(hash, env.replyIndex, ReplyType.Ack, EMPTY, EnvelopeError.Success);
    }
    if (this.needsRedispatch(entry)) {
      entry.redispatches++;
      this.dispatch(key, entry, env);
    }
    return this.serveCached(entry, hash, env.replyIndex);
  }

  private prune(): void {
    const now = this.net.clock.now();
    for (const [k, e] of this.cache) {
      if (now - e.createdAt > this.net.timing.courierDedupTtlMs) this.cache.delete(k);
    }
  }

  private needsRedispatch(entry: CacheEntry): boolean {
    if (entry.redispatches >= this.net.courierRedispatchLimit()) return false;
    let any = false;
    for (const r of entry.replies) {
      if (!r) continue;
      if (r.errorCode === 0) return false;
      any = true;
    }
    if (any) return true;
    // No replies at all: re-dispatch once the entry is older than the grace (the dispatch died).
    return this.net.clock.now() - entry.createdAt > this.net.timing.courierRedispatchGraceMs;
  }

  /** Sends the envelope to both intermediates (one dispatch in flight per envelope). */
  private dispatch(key: string, entry: CacheEntry, env: CourierEnvelope): void {
    if (entry.inFlight) return;
    entry.inFlight = true;
    this.net.stats.courierDispatches++;
    const sends = [0, 1].map(async (i) => {
      const reply = await this.askIntermediate(env, i);
      if (reply) this.fileReply(key, reply);
    });
    void Promise.allSettled(sends).then(() => {
      entry.inFlight = false;
    });
  }

  /** Sends the envelope to its intermediate `slot` (0 or 1) over the paced link; null if it is unknown. */
  private async askIntermediate(env: CourierEnvelope, slot: number): Promise<ReplicaMessageReply | null> {
    const replica = this.net.replica(env.intermediateReplicas[slot]!);
    if (!replica) return null;
    await this.net.linkDelay();
    const reply = await replica.handleMessage({
      senderPubkey: env.senderPubkey,
      dek: slot === 0 ? env.dek1 : env.dek2,
      ciphertext: env.ciphertext,
    });
    await this.net.linkDelay();
    return reply;
  }

  private fileReply(key: string, reply: ReplicaMessageReply): void {
    const entry = this.cache.get(key);
    if (!entry) return;
    const slot = entry.intermediates.indexOf(reply.replicaId);
    if (slot < 0) return;
    const existing = entry.replies[slot];
    if (existing?.errorCode !== 0) entry.replies[slot] = reply;
  }

  /** The courier's `handleOldMessage`, with the stale-negative fix when enabled. */
  private serveCached(entry: CacheEntry, hash: Uint8Array, replyIndex: number): Uint8Array {
    if (replyIndex > 1) {
      return this.envelopeReply(hash, 0, ReplyType.Ack, EMPTY, EnvelopeError.InvalidEnvelope);
    }
    let index = replyIndex;
    let payload: Uint8Array = EMPTY;
    const asked = entry.replies[index];
    const other = entry.replies[index ^ 1];
    if (asked) {
      payload = asked.envelopeReply;
      if (payload.length === 0 && other && other.envelopeReply.length > 0) {
        index ^= 1;
        payload = other.envelopeReply;
      } else if (
        this.net.fixStaleNegative() &&
        asked.errorCode === ReplicaCode.BoxIdNotFound &&
        other &&
        other.errorCode === 0 &&
        other.envelopeReply.length > 0
      ) {
        index ^= 1;
        payload = other.envelopeReply;
      }
    } else if (other) {
      index ^= 1;
      payload = other.envelopeReply;
    }
    const type = payload.length > 0 ? ReplyType.Payload : ReplyType.Ack;
    return this.envelopeReply(hash, index, type, payload, EnvelopeError.Success);
  }

  private envelopeReply(
    hash: Uint8Array,
    replyIndex: number,
    replyType: number,
    payload: Uint8Array,
    errorCode: number,
  ): Uint8Array {
    return encodeCourierQueryReply({
      kind: 'envelope',
      reply: { envelopeHash: hash, replyIndex, replyType, payload, errorCode },
    });
  }

  // ---- copy commands -----------------------------------------------------------------------------------

  private handleCopy(writeCap: Uint8Array): CopyCommandReply {
    const key = hex(blake2b256(writeCap));
    const now = this.net.clock.now();
    const state = this.copies.get(key);
    if (state) {
      if (state.inProgress) return inProgress();
      if (state.result && now - (state.completedAt ?? 0) < this.net.timing.copyDedupTtlMs)
        return state.result;
      this.copies.delete(key);
    }
    for (const [k, s] of this.copies) {
      if (!s.inProgress && now - (s.completedAt ?? 0) >= this.net.timing.copyDedupTtlMs)
        this.copies.delete(k);
    }
    const fresh: CopyState = { inProgress: true };
    this.copies.set(key, fresh);
    this.net.stats.copiesStarted++;
    void this.processCopy(writeCap)
      .catch(() => failed(0, 0n))
      .then((result) => {
        fresh.inProgress = false;
        fresh.result = result;
        fresh.completedAt = this.net.clock.now();
        this.net.stats.copiesFinished++;
      });
    return inProgress();
  }

  private async processCopy(writeCap: Uint8Array): Promise<CopyCommandReply> {
    let readCap: Uint8Array;
    let index: Uint8Array;
    try {
      readCap = writeCapToReadCap(writeCap);
      index = firstIndexOf(writeCap);
    } catch {
      return failed(0, 0n);
    }
    const sizes = this.net.sizes;
    const decoder = new CopyStreamDecoder(sizes.maxPlaintext, sizes.courierQuery);
    let processed = 0n;
    let boxes = 0;
    while (!decoder.sawFinal) {
      if (boxes >= MAX_COPY_BOXES || processed >= BigInt(MAX_COPY_ENVELOPES))
        return failed(0, processed + 1n);
      const boxId = boxIdFor(readCap, index);
      boxes++;
      const read = await this.readFromShards(boxId);
      if (!read.reply) return failed(read.code, processed + 1n);
      let element: Uint8Array;
      try {
        const padded = decryptFromBox(readCap, index, {
          ciphertext: read.reply.payload,
          signature: read.reply.signature,
          boxId,
        });
        element = unpadPayload(padded);
      } catch (err) {
        if (!(err instanceof BacapError)) this.net.log(`courier ${this.nodeName}: copy read: ${String(err)}`);
        return failed(0, processed + 1n);
      }
      decoder.addBoxData(element);
      let envelopes: Uint8Array[];
      try {
        envelopes = decoder.decodeEnvelopes();
      } catch {
        return failed(0, processed + 1n);
      }
      for (const bytes of envelopes) {
        let env: CourierEnvelope;
        try {
          env = parseCourierEnvelope(bytes);
        } catch {
          return failed(0, processed + 1n);
        }
        const outcome = await this.dispatchCopyEnvelope(env);
        if (!outcome.ok) return failed(outcome.code, processed + 1n);
        processed++;
      }
      index = nextIndex(index);
    }
    return { status: CopyStatus.Succeeded, errorCode: 0, failedEnvelopeIndex: 0n };
  }

  /** Reads one temp box directly from its shards: retries temporary codes, fails over on the others. */
  private async readFromShards(boxId: Uint8Array): Promise<{ reply?: ReplicaReadReply; code: number }> {
    const shards = shardsFor(this.net.directory(), boxId);
    let last = 0;
    for (const shard of shards) {
      const replica = this.net.replica(shard.replicaId);
      if (!replica) continue;
      for (let attempt = 0; attempt < COPY_ATTEMPTS; attempt++) {
        if (attempt > 0) await sleep(this.net.clock, this.backoff(attempt - 1));
        await this.net.linkDelay();
        const reply = replica.readLocal(boxId);
        await this.net.linkDelay();
        if (reply.errorCode === ReplicaCode.Success) return { reply, code: 0 };
        last = reply.errorCode;
        if (!TEMPORARY.has(reply.errorCode)) break;
      }
    }
    return { code: last };
  }

  /** Writes one destination envelope through its own intermediates. */
  private async dispatchCopyEnvelope(env: CourierEnvelope): Promise<{ ok: boolean; code: number }> {
    for (let attempt = 0; attempt < COPY_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(this.net.clock, this.backoff(attempt - 1));
      const replies = (await Promise.all([0, 1].map((i) => this.askIntermediate(env, i)))).filter(
        (r): r is ReplicaMessageReply => r !== null,
      );
      if (replies.some((r) => r.errorCode === ReplicaCode.Success)) return { ok: true, code: 0 };
      if (replies.length > 0) {
        const exists = replies.find((r) => r.errorCode === ReplicaCode.BoxAlreadyExists);
        return { ok: false, code: (exists ?? replies[0]!).errorCode };
      }
    }
    return { ok: false, code: 0 };
  }

  private backoff(k: number): number {
    const t = this.net.timing;
    return Math.min(t.copyBackoffBaseMs * 2 ** k, t.copyBackoffMaxMs);
  }
}

function inProgress(): CopyCommandReply {
  return { status: CopyStatus.InProgress, errorCode: 0, failedEnvelopeIndex: 0n };
}

function failed(code: number, index: bigint): CopyCommandReply {
  return { status: CopyStatus.Failed, errorCode: code, failedEnvelopeIndex: index };
}

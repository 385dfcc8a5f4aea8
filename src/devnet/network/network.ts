/**
 * The simulated network behind the devnet daemon: directory authorities signing one PKI document per
 * epoch, service nodes offering `echo` (+echo) and `courier` (courier) — and advertising, as a real service
 * node does, `http` (+http) and `testdest` (+testdest), which never answer here — the storage replicas, and
 * the mixnet itself reduced to what a client can observe of it: per-hop delays, per-leg loss, and SURB
 * replies.
 *
 * Sphinx is not simulated: a packet is the CourierQuery or user payload plus a reply callback standing in
 * for the SURB. Its timing is: the service sees it after the sum of the forward hop delays
 * (NrHops of them), the reply arrives after the reverse hop delays (NrHops - 2); ReplyETA is the sum.
 */

import { blake2b256, hkdfBlake2b512 } from '../../crypto/hash.js';
import { type Clock, sleep } from '../clock.js';
import type { Sizes } from '../geometry.js';
import { type NikeKeypair, nikeKeypair } from '../pigeonhole/mkem.js';
import {
  createAuthoritySet,
  DEFAULT_SERVICE_KAETZCHEN,
  DEVNET_KEY_SIZES,
  type DevnetAuthority,
} from '../pki/index.js';
import type { Drbg } from '../rng.js';
import type { TimingProfile } from '../timing.js';
import type { BoxStore } from './boxStore.js';
import { emptyStats, type NetworkContext, type NetworkStats } from './context.js';
import { Courier } from './courier.js';
import type { Directory, ServiceInfo } from './directory.js';
import { currentWallEpoch, EpochDirectories } from './epochs.js';
import { Replica } from './replica.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface NetworkOptions {
  clock: Clock;
  /** The root randomness; the network takes labelled child streams from it. */
  rng: Drbg;
  sizes: Sizes;
  timing: { nominal: TimingProfile; warped: TimingProfile };
  profile: 'instant' | 'docker';
  authorityScheme: string;
  authorityCount: number;
  replicaCount: number;
  serviceNodeCount: number;
  lossProbability: number;
  replicationLagMs: number;
  startEpoch?: bigint;
  /**
   * How long this network has already run (a network reopened from a state directory): epochs continue
   * from `startEpoch` as if it had never stopped. Default 0.
   */
  elapsedMs?: number;
  /**
   * Which start of the network this is (0 for a fresh one): the per-run randomness (routing choices,
   * delays, reply keys) is drawn afresh on every run, while keys stay those of the seed. Default 0.
   */
  run?: number;
  /** Where replica `replicaId` keeps its boxes. Default: in memory. */
  boxStore?: (replicaId: number) => BoxStore;
  courierRedispatchLimit: number;
  fixStaleNegative: boolean;
  log: (line: string) => void;
}

/** A packet handed to the mixnet by the daemon. */
export interface Packet {
  destinationIdHash: Uint8Array;
  recipientQueueId: Uint8Array;
  payload: Uint8Array;
  /** The SURB: called with the reply payload (padded to ForwardPayloadLength) if one comes back. */
  onReply?: (payload: Uint8Array) => void;
}

export class UnknownDestinationError extends Error {
  override readonly name = 'UnknownDestinationError';
}

interface ServiceNode {
  info: ServiceInfo;
  courier: Courier;
}

export class Network implements NetworkContext {
  readonly clock: Clock;
  readonly timing: TimingProfile;
  readonly nominal: TimingProfile;
  readonly rng: Drbg;
  readonly sizes: Sizes;
  readonly stats: NetworkStats = emptyStats();
  readonly authorities: DevnetAuthority[];
  readonly replicas: Replica[] = [];
  readonly serviceNodes: ServiceNode[] = [];
  readonly startEpoch: bigint;

  private readonly keySeed: Uint8Array;
  private readonly delayRng: Drbg;
  private readonly replicaKeys = new Map<string, NikeKeypair>();
  private readonly epochs: EpochDirectories;
  private stopped = false;
  private loss: number;
  private lag: number;
  private readonly options: NetworkOptions;

  constructor(options: NetworkOptions) {
    this.options = options;
    this.clock = options.clock;
    this.timing = options.timing.warped;
    this.nominal = options.timing.nominal;
    this.sizes = options.sizes;
    const run = options.run ?? 0;
    this.rng = options.rng.fork(run === 0 ? 'network' : `network/${run}`);
    this.delayRng = options.rng.fork(run === 0 ? 'mixnet' : `mixnet/${run}`);
    this.keySeed = options.rng.fork('keys').bytes(32);
    this.loss = checkProbability(options.lossProbability);
    this.lag = checkNonNegative(options.replicationLagMs, 'replicationLagMs');
    this.authorities = createAuthoritySet({
      count: options.authorityCount,
      scheme: options.authorityScheme,
      seed: this.derive('authorities', 32),
    });
    const identitySize = DEVNET_KEY_SIZES.identity[this.authorities[0]!.scheme];
    for (let i = 0; i < options.replicaCount; i++) {
      const identity = this.derive(`replica/${i}/identity`, identitySize);
      this.replicas.push(new Replica(i, `replica${i + 1}`, identity, this, options.boxStore?.(i)));
    }
    for (let i = 0; i < options.serviceNodeCount; i++) {
      const name = `servicenode${i + 1}`;
      const identityKey = this.derive(`service/${i}/identity`, identitySize);
      this.serviceNodes.push({
        info: {
          name,
          identityKey,
          identityHash: blake2b256(identityKey),
          // echo, http, courier, testdest: the real service node's set (only echo and courier answer).
          kaetzchen: new Map(
            Object.entries(DEFAULT_SERVICE_KAETZCHEN).map(([cap, params]) => [cap, String(params.endpoint)]),
          ),
        },
        courier: new Courier(name, this),
      });
    }
    this.epochs = new EpochDirectories({
      clock: this.clock,
      timing: this.timing,
      nominalEpochMs: this.nominal.epochMs,
      sphinx: options.sizes.sphinx,
      startEpoch: options.startEpoch ?? currentWallEpoch(this.nominal.epochMs),
      elapsedMs: checkNonNegative(options.elapsedMs ?? 0, 'elapsedMs'),
      documentSeed: this.derive('documents', 32),
      nodes: {
        authorities: this.authorities,
        replicas: () => this.replicas,
        services: () => this.serviceNodes.map((s) => s.info),
        replicaKeypair: (replicaId, replicaEpoch) => this.replicaKeypair(replicaId, replicaEpoch),
      },
      log: (line) => this.log(line),
    });
    this.startEpoch = this.epochs.startEpoch;
  }

  // ---- NetworkContext ----------------------------------------------------------------------------------

  directory(): Directory {
    return this.epochs.directoryFor(this.epochs.currentEpoch());
  }

  replica(id: number): Replica | undefined {
    return this.replicas.find((r) => r.replicaId === id);
  }

  replicaKeypair(replicaId: number, replicaEpoch: bigint): NikeKeypair {
    const key = `${replicaId}/${replicaEpoch}`;
    let kp = this.replicaKeys.get(key);
    if (!kp) {
      kp = nikeKeypair(this.derive(`replica/${replicaId}/envelope/${replicaEpoch}`, 32));
      this.replicaKeys.set(key, kp);
    }
    return kp;
  }

  replicationLagMs(): number {
    return this.lag / this.warp;
  }

  linkDelay(): Promise<void> {
    const ms = this.rng.exp(this.timing.linkMeanMs);
    return ms > 0 ? sleep(this.clock, ms) : Promise.resolve();
  }

  courierRedispatchLimit(): number {
    return this.options.courierRedispatchLimit;
  }

  fixStaleNegative(): boolean {
    return this.options.fixStaleNegative;
  }

  log(line: string): void {
    this.options.log(line);
  }

  // ---- knobs -------------------------------------------------------------------------------------------

  setLossProbability(p: number): void {
    this.loss = checkProbability(p);
  }

  get lossProbability(): number {
    return this.loss;
  }

  /** Replication lag in simulated ms (divided by timeWarp when applied). */
  setReplicationLagMs(ms: number): void {
    this.lag = checkNonNegative(ms, 'replicationLagMs');
  }

  private get warp(): number {
    return this.nominal.epochMs / this.timing.epochMs;
  }

  // ---- epochs and documents (epochs.ts) ----------------------------------------------------------------

  currentEpoch(): bigint {
    return this.epochs.currentEpoch();
  }

  /** `ConvertNormalToReplicaEpoch`: epoch × Period / one week (with the nominal Period). */
  replicaEpochOf(epoch: bigint): bigint {
    return this.epochs.replicaEpochOf(epoch);
  }

  /** The document of `epoch` if the network has published it (epochs from the start to now). */
  publishedDirectory(epoch: bigint): Directory | undefined {
    return this.epochs.publishedDirectory(epoch);
  }

  /** Calls `fn` with each new epoch's directory. Returns an unsubscribe function. */
  onNewEpoch(fn: (dir: Directory) => void): () => void {
    return this.epochs.onNewEpoch(fn);
  }

  // ---- the mixnet --------------------------------------------------------------------------------------

  /**
   * Sends a packet to a service. Returns the packet's ReplyETA (sum of the sampled hop delays).
   * @throws UnknownDestinationError when no service node has that identity hash (a compose failure).
   */
  send(packet: Packet): { rttMs: number } {
    const dir = this.directory();
    const node = this.serviceNodes.find(
      (s) => dir.services.includes(s.info) && eq(s.info.identityHash, packet.destinationIdHash),
    );
    if (!node) throw new UnknownDestinationError('destination not found in the PKI document');
    this.stats.packetsSent++;
    const hops = this.sizes.sphinx.NrHops;
    const hop = () => this.delayRng.exp(this.timing.hopDelayMeanMs) + this.timing.hopFloorMs;
    let forward = 0;
    for (let i = 0; i < hops; i++) forward += hop();
    let reverse = 0;
    for (let i = 0; i < hops - 2; i++) reverse += hop();
    const lostForward = this.delayRng.chance(this.loss);
    const lostReply = this.delayRng.chance(this.loss);
    this.clock.setTimer(forward, () => {
      if (this.stopped) return;
      if (lostForward) {
        this.stats.packetsLost++;
        return;
      }
      const reply = this.deliver(node, packet.recipientQueueId, packet.payload, packet.onReply !== undefined);
      if (!reply || !packet.onReply) return;
      const onReply = packet.onReply;
      const padded = new Uint8Array(Math.max(this.sizes.forwardPayloadLength, reply.length));
      padded.set(reply);
      this.clock.setTimer(reverse, () => {
        if (this.stopped) return;
        if (lostReply) {
          this.stats.packetsLost++;
          return;
        }
        onReply(padded);
      });
    });
    return { rttMs: forward + reverse };
  }

  private deliver(
    node: ServiceNode,
    queueId: Uint8Array,
    payload: Uint8Array,
    withSurb: boolean,
  ): Uint8Array | null {
    try {
      const queue = dec.decode(queueId);
      if (queue === node.info.kaetzchen.get('courier')) return node.courier.handleQuery(payload);
      if (queue === node.info.kaetzchen.get('echo')) {
        if (!withSurb) return null;
        this.stats.echoes++;
        return payload.slice();
      }
      // Any other queue — the advertised but unimplemented `+http` and `+testdest` included — is delivered
      // and never answered: the SURB is not used, so the client sees message_sent_event and no reply, as
      // with a real service that does not answer (src/devnet/README.md).
      this.log(`service ${node.info.name}: no reply from queue ${JSON.stringify(queue)}`);
      return null;
    } catch (err) {
      this.log(`service ${node.info.name}: ${(err as Error).message}`);
      return null;
    }
  }

  /** Completes the replications a stopped network left undone (see Replica.repairReplication). */
  repairReplication(): number {
    let repaired = 0;
    for (const r of this.replicas) repaired += r.repairReplication();
    return repaired;
  }

  stop(): void {
    this.stopped = true;
    this.epochs.stop();
  }

  /** Bytes derived from the network seed (stable across daemon restarts). */
  private derive(label: string, length: number): Uint8Array {
    return hkdfBlake2b512(this.keySeed, undefined, enc.encode(`devnet/${label}`), length);
  }
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkProbability(p: number): number {
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
    throw new RangeError(`devnet: lossProbability must be in [0, 1), got ${p}`);
  }
  return p;
}

function checkNonNegative(v: number, name: string): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`devnet: ${name} must be a finite number ≥ 0, got ${v}`);
  }
  return v;
}

/**
 * The simulated network's epochs and the PKI document it publishes for each: the epoch the network's
 * clock is in, one signed document per epoch (built on first use and kept for the last few epochs), and
 * a timer that publishes the next one at each epoch boundary to whoever listens.
 */

import { blake2b256 } from '../../crypto/hash.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Sizes } from '../geometry.js';
import type { NikeKeypair } from '../pigeonhole/mkem.js';
import { buildSignedPkiDocument, cbor, type DevnetAuthority, encodeCbor } from '../pki/index.js';
import type { TimingProfile } from '../timing.js';
import type { Directory, ReplicaInfo, ServiceInfo } from './directory.js';
import { documentRates } from './documentRates.js';

/** 2017-06-01T00:00:00Z, the Katzenpost epoch origin. */
const EPOCH_ORIGIN_MS = Date.UTC(2017, 5, 1);
const WEEK_MS = 7 * 24 * 3600 * 1000;
const MIX_NAMES = ['mix1', 'mix2', 'mix3'];

/** What a document describes: the network's nodes and keys. */
export interface PublishedNodes {
  readonly authorities: DevnetAuthority[];
  replicas(): { replicaId: number; name: string; identityKey: Uint8Array }[];
  services(): ServiceInfo[];
  replicaKeypair(replicaId: number, replicaEpoch: bigint): NikeKeypair;
}

export interface EpochDirectoriesOptions {
  clock: Clock;
  /** Delays after `timeWarp`: epochs last `timing.epochMs`. */
  timing: TimingProfile;
  /** The nominal epoch length, which replica epochs are counted in. */
  nominalEpochMs: number;
  sphinx: Sizes['sphinx'];
  startEpoch: bigint;
  /** How long the network has already run (see NetworkOptions.elapsedMs). */
  elapsedMs: number;
  /** Seeds each document's signatures (stable across daemon restarts). */
  documentSeed: Uint8Array;
  nodes: PublishedNodes;
  log: (line: string) => void;
}

export class EpochDirectories {
  readonly startEpoch: bigint;

  private readonly options: EpochDirectoriesOptions;
  private readonly clock: Clock;
  private readonly docs = new Map<bigint, Directory>();
  private readonly listeners = new Set<(dir: Directory) => void>();
  private readonly t0: number;
  private readonly sphinxGeometryHash: Uint8Array;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(options: EpochDirectoriesOptions) {
    this.options = options;
    this.clock = options.clock;
    this.sphinxGeometryHash = blake2b256(
      encodeCbor(
        cbor.struct(
          Object.entries(options.sphinx).map(
            ([k, v]) => [k, typeof v === 'string' ? cbor.text(v) : cbor.uint(v)] as const,
          ),
        ),
        'canonical',
      ),
    );
    this.startEpoch = options.startEpoch;
    this.t0 = this.clock.now() - options.elapsedMs;
    this.directoryFor(this.startEpoch);
    this.armTimer();
  }

  currentEpoch(): bigint {
    const elapsed = Math.max(0, this.clock.now() - this.t0);
    return this.startEpoch + BigInt(Math.floor(elapsed / this.options.timing.epochMs));
  }

  /** `ConvertNormalToReplicaEpoch`: epoch × Period / one week (with the nominal Period). */
  replicaEpochOf(epoch: bigint): bigint {
    return (epoch * BigInt(Math.round(this.options.nominalEpochMs))) / BigInt(WEEK_MS);
  }

  /** The document of `epoch` if the network has published it (epochs from the start to now). */
  publishedDirectory(epoch: bigint): Directory | undefined {
    if (epoch < this.startEpoch || epoch > this.currentEpoch()) return undefined;
    return this.directoryFor(epoch);
  }

  /** Calls `fn` with each new epoch's directory. Returns an unsubscribe function. */
  onNewEpoch(fn: (dir: Directory) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimer(this.timer);
  }

  /** The document of `epoch`, built on first use. */
  directoryFor(epoch: bigint): Directory {
    const cached = this.docs.get(epoch);
    if (cached) return cached;
    const { nodes } = this.options;
    const replicaEpoch = this.replicaEpochOf(epoch);
    const replicas: ReplicaInfo[] = nodes.replicas().map((r) => {
      const keys = new Map<bigint, Uint8Array>();
      for (const e of [replicaEpoch - 1n, replicaEpoch, replicaEpoch + 1n]) {
        if (e >= 0n) keys.set(e, nodes.replicaKeypair(r.replicaId, e).publicKey);
      }
      return { replicaId: r.replicaId, name: r.name, identityKey: r.identityKey, envelopeKeys: keys };
    });
    const rates = documentRates(this.options.timing);
    const signed = buildSignedPkiDocument({
      epoch,
      genesisEpoch: this.startEpoch,
      mixes: MIX_NAMES.map((name) => [{ name }]),
      gateways: [{ name: 'gateway1' }],
      services: nodes.services().map((s) => ({
        name: s.name,
        identityKey: s.identityKey,
        kaetzchen: Object.fromEntries([...s.kaetzchen].map(([cap, ep]) => [cap, { endpoint: ep }])),
      })),
      replicas: replicas.map((r) => ({
        name: r.name,
        replicaId: r.replicaId,
        identityKey: r.identityKey,
        envelopeKeys: r.envelopeKeys,
      })),
      mu: rates.mu,
      lambdaP: rates.lambdaP,
      lambdaL: rates.lambdaL,
      lambdaM: rates.lambdaM,
      lambdaG: 0,
      lambdaR: rates.lambdaR,
      authorities: nodes.authorities,
      sphinxGeometryHash: this.sphinxGeometryHash,
      replicaEpoch,
      seed: this.options.documentSeed,
    });
    const dir: Directory = {
      epoch,
      replicaEpoch,
      replicas,
      configuredReplicaKeys: replicas.map((r) => r.identityKey),
      services: nodes.services(),
      rates: { mu: rates.mu, lambdaP: rates.lambdaP, lambdaL: rates.lambdaL, lambdaR: rates.lambdaR },
      signed: signed.signed,
      stripped: signed.stripped,
      strippedBroadcast: signed.strippedBroadcast,
    };
    this.docs.set(epoch, dir);
    return dir;
  }

  private armTimer(): void {
    if (this.stopped) return;
    const next = this.currentEpoch() + 1n;
    const at = this.t0 + Number(next - this.startEpoch) * this.options.timing.epochMs;
    this.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      if (this.stopped) return;
      const dir = this.directoryFor(this.currentEpoch());
      for (const old of this.docs.keys()) if (old < dir.epoch - 3n) this.docs.delete(old);
      for (const fn of this.listeners) {
        try {
          fn(dir);
        } catch (err) {
          this.options.log(`epoch listener failed: ${(err as Error).message}`);
        }
      }
      this.armTimer();
    });
  }
}

/** The Katzenpost epoch the wall clock is in, for epochs of `epochMs`. */
export function currentWallEpoch(epochMs: number): bigint {
  return BigInt(Math.floor((Date.now() - EPOCH_ORIGIN_MS) / epochMs));
}

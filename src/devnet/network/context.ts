/**
 * What the simulated network's components (replicas, couriers, echo) share: time, randomness, geometry,
 * the current directory and the fault knobs.
 */
import type { Clock } from '../clock.js';
import type { Sizes } from '../geometry.js';
import type { NikeKeypair } from '../pigeonhole/mkem.js';
import type { Drbg } from '../rng.js';
import type { TimingProfile } from '../timing.js';
import type { Directory } from './directory.js';
import type { ReplicaPeer } from './replicaPeer.js';

/** Counters for tests and diagnostics. */
export interface NetworkStats {
  /** Packets the daemon handed to the mixnet. */
  packetsSent: number;
  /** Packets (forward or reply legs) dropped by the loss knob or a disconnected gateway. */
  packetsLost: number;
  /** Courier queries handled. */
  courierQueries: number;
  /** Courier dispatches of an envelope to its intermediate replicas (first and repeated). */
  courierDispatches: number;
  /** Replica reads and writes served from local storage (proxied ones count once, at the shard). */
  reads: number;
  /** Replica writes served from local storage (as `reads`). */
  writes: number;
  /** Writes applied by replication to a second shard. */
  replications: number;
  /** Copy commands the couriers started and finished. */
  copiesStarted: number;
  /** Copy commands the couriers finished. */
  copiesFinished: number;
  /** Echo replies. */
  echoes: number;
}

export function emptyStats(): NetworkStats {
  return {
    packetsSent: 0,
    packetsLost: 0,
    courierQueries: 0,
    courierDispatches: 0,
    reads: 0,
    writes: 0,
    replications: 0,
    copiesStarted: 0,
    copiesFinished: 0,
    echoes: 0,
  };
}

export interface NetworkContext {
  readonly clock: Clock;
  /** Delays after `timeWarp`. */
  readonly timing: TimingProfile;
  readonly rng: Drbg;
  readonly sizes: Sizes;
  readonly stats: NetworkStats;
  directory(): Directory;
  replica(id: number): ReplicaPeer | undefined;
  replicaKeypair(replicaId: number, replicaEpoch: bigint): NikeKeypair;
  replicationLagMs(): number;
  /** One courier↔replica or replica↔replica link wait (Exp with mean 1/LambdaR). */
  linkDelay(): Promise<void>;
  /** Poll-triggered courier re-dispatch cap (Infinity = unbounded, as in v0.0.90). */
  courierRedispatchLimit(): number;
  /** Serve the other slot when the asked one holds an error and the other a success (staleNegative fixed). */
  fixStaleNegative(): boolean;
  log(line: string): void;
}

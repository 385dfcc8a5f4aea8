/**
 * The devnet's time model: every delay it uses, per profile. `docker` follows the docker testnet (katzenpost
 * docker/Makefile and genconfig rates, core/epochtime); `instant` has no mixing or send-slot delays at all,
 * only the few floors needed so that retries do not spin. Every number is divided by `timeWarp`.
 */

export type DevnetProfile = 'instant' | 'docker';

/** Every delay of the model, in milliseconds of simulated time (before `timeWarp`). */
export interface TimingProfile {
  /** Katzenpost epoch length (docker: the warped 2 min). */
  epochMs: number;
  /** Mean per-hop mixing delay, 1/Mu (docker 200 ms). Each hop waits Exp(mean) + `hopFloorMs`. 0 = none. */
  hopDelayMeanMs: number;
  /** Fixed part of every hop delay (1 ms in Katzenpost). */
  hopFloorMs: number;
  /**
   * Mean gap between the daemon's send slots, 1/LambdaP (docker 1000 ms). One mixnet request leaves per
   * slot, daemon-wide. 0 = a slot is available at once.
   */
  sendSlotMeanMs: number;
  /** Added to a packet's round-trip time before the ARQ retransmits it (docker 20 s). */
  arqSlopMs: number;
  /** Minimum wait before a follow-up poll after an ACK or a duplicate ACK. docker 0 (the send slot is the wait). */
  followUpFloorMs: number;
  /**
   * Minimum wait before re-polling a box that was not found (a read waiting for its write). docker 0; in
   * instant 50 ms, so that a reader waiting for a box does not keep a CPU core busy with re-dispatches.
   */
  notFoundRetryFloorMs: number;
  /** Re-arm delay for a retransmission while the app is disconnected or its resend queue is full (100 ms). */
  resendRearmMs: number;
  /** Retry delay after a packet could not be composed (1 s). */
  composeRetryMs: number;
  /** Copy-command poll interval while the courier reports InProgress (5 s). */
  copyPollMs: number;
  /** Legacy SURB reply retention slop per hop (500 ms; 9 hops for 3 layers). */
  legacySlopPerHopMs: number;
  /** Courier↔replica and replica↔replica link pacing, mean 1/LambdaR (docker 200 ms). */
  linkMeanMs: number;
  /** Replica reply jitter bound, U[0, 1/LambdaR] (docker 200 ms). */
  replicaJitterMs: number;
  /** Cost of one CTIDH operation (0 for fast runs; 660–2300 ms for realism). */
  ctidhMs: number;
  /**
   * Cores that CTIDH work shares, network-wide (replicas and daemon, network/cpu.ts): Infinity (the
   * default) runs it all at once; the project machine's real testnet has 2. Not a delay: never warped.
   */
  ctidhCores: number;
  /** Courier envelope dedup cache lifetime (5 min). */
  courierDedupTtlMs: number;
  /** Age after which a courier re-dispatches an envelope that got no replica reply at all (30 s). */
  courierRedispatchGraceMs: number;
  /** Courier copy result cache lifetime (30 min). */
  copyDedupTtlMs: number;
  /** Courier copy retry backoff: base doubling up to max (0.5 s → 10 s). */
  copyBackoffBaseMs: number;
  /** The cap of that backoff. */
  copyBackoffMaxMs: number;
  /**
   * How long a session outlives a dropped socket (kpclientd's default 10 min; the docker testnet configures
   * 30 s). `thin_close` ends it at once.
   */
  sessionGraceMs: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The delays of each timing profile, in simulated ms (before `timeWarp`). */
export const PROFILES: Record<DevnetProfile, TimingProfile> = {
  docker: {
    epochMs: 2 * MINUTE,
    hopDelayMeanMs: 200,
    hopFloorMs: 1,
    sendSlotMeanMs: 1000,
    arqSlopMs: 20 * SECOND,
    followUpFloorMs: 0,
    notFoundRetryFloorMs: 0,
    resendRearmMs: 100,
    composeRetryMs: SECOND,
    copyPollMs: 5 * SECOND,
    legacySlopPerHopMs: 500,
    linkMeanMs: 200,
    replicaJitterMs: 200,
    ctidhMs: 0,
    ctidhCores: Number.POSITIVE_INFINITY,
    courierDedupTtlMs: 5 * MINUTE,
    courierRedispatchGraceMs: 30 * SECOND,
    copyDedupTtlMs: 30 * MINUTE,
    copyBackoffBaseMs: 500,
    copyBackoffMaxMs: 10 * SECOND,
    sessionGraceMs: 10 * MINUTE,
  },
  instant: {
    epochMs: 2 * MINUTE,
    hopDelayMeanMs: 0,
    hopFloorMs: 0,
    sendSlotMeanMs: 0,
    arqSlopMs: 200,
    followUpFloorMs: 2,
    notFoundRetryFloorMs: 50,
    resendRearmMs: 100,
    composeRetryMs: SECOND,
    copyPollMs: 5,
    legacySlopPerHopMs: 500,
    linkMeanMs: 0,
    replicaJitterMs: 0,
    ctidhMs: 0,
    ctidhCores: Number.POSITIVE_INFINITY,
    courierDedupTtlMs: 5 * MINUTE,
    courierRedispatchGraceMs: 30 * SECOND,
    copyDedupTtlMs: 30 * MINUTE,
    copyBackoffBaseMs: 0,
    copyBackoffMaxMs: 0,
    sessionGraceMs: 10 * MINUTE,
  },
};

/** A profile with overrides applied and every delay divided by `timeWarp`. */
export function resolveTiming(
  profile: DevnetProfile,
  timeWarp: number,
  overrides: Partial<TimingProfile> = {},
): { nominal: TimingProfile; warped: TimingProfile } {
  const base = PROFILES[profile];
  if (!base) throw new RangeError(`devnet: unknown profile ${JSON.stringify(profile)}`);
  if (!(timeWarp > 0) || !Number.isFinite(timeWarp)) {
    throw new RangeError(`devnet: timeWarp must be a positive number, got ${timeWarp}`);
  }
  const nominal = { ...base } as TimingProfile;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in base)) throw new RangeError(`devnet: unknown timing key ${JSON.stringify(k)}`);
    if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`devnet: timing.${k} must be ≥ 0`);
    (nominal as unknown as Record<string, number>)[k] = v;
  }
  const warped = {} as TimingProfile;
  for (const [k, v] of Object.entries(nominal))
    (warped as unknown as Record<string, number>)[k] = k === 'ctidhCores' ? v : v / timeWarp;
  return { nominal, warped };
}

/**
 * The embedded Katzenpost network (`katzenpost-thin-client/devnet`): a kpclientd-compatible daemon on a
 * real socket, backed by an in-process simulated Pigeonhole network. Any thin client (this one, or the
 * reference Go, Python and Rust clients) can dial it. See src/devnet/README.md.
 *
 * ```ts
 * const net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', seed: 'demo' });
 * const client = await ThinClient.connect(net.thinClientConfig);
 * await net.restartDaemon();
 * await net.close(); // or `await using net = await startDevnet(...)`
 * ```
 */
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { type Clock, RealClock } from './clock.js';
import type { AuthorityInfo } from './daemon/authorities.js';
import { Connection } from './daemon/connection.js';
import { Daemon, type HandshakeStall } from './daemon/daemon.js';
import { ConnectionGuard, type ConnectionStats } from './daemon/guard.js';
import { type ConnectionLimits, resolveLimits } from './daemon/limits.js';
import { deriveSizes, type PigeonholeGeometry, type SphinxGeometry } from './geometry.js';
import { lifecycle } from './lifecycle.js';
import { listenOn, parseListen } from './listen.js';
import type { NetworkStats } from './network/context.js';
import { currentWallEpoch } from './network/epochs.js';
import { Network } from './network/network.js';
import { authorityTrustRoot } from './pki/index.js';
import { Drbg, seedBytes } from './rng.js';
import { DevnetState } from './state/stateDir.js';
import { type DevnetProfile, resolveTiming, type TimingProfile } from './timing.js';
import { normalizeOrigins } from './wsListener.js';

export { type Clock, RealClock, VirtualClock } from './clock.js';
export type { HandshakeStall } from './daemon/daemon.js';
export type { ConnectionStats, DropReason } from './daemon/guard.js';
export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './daemon/limits.js';
export type { NetworkStats as DevnetStats } from './network/context.js';
export { DevnetStateError } from './state/stateDir.js';
export { type DevnetProfile, PROFILES, type TimingProfile } from './timing.js';

/**
 * Behaviours of the real daemon and network that look unintended. Each defaults to what the devnet does
 * out of the box; see README.md for why.
 */
export interface DevnetQuirks {
  /**
   * A courier reply that reaches the daemon while the app's socket is down is dropped and its ARQ keeps
   * no timer (katzenpost client/pigeonhole.go, handlePigeonholeARQReply), so the blocked
   * start_resending_* never completes on that session. Default `true` (as kpclientd main does).
   * `false`: the daemon retransmits after the app is back instead.
   */
  dropRepliesWhileDisconnected?: boolean;
  /**
   * Courier re-dispatches per envelope triggered by client polls (katzenpost courier/server/plugin.go).
   * kpclientd main caps them at 5; v0.0.90 (the Python/Rust pin) had no cap. Default `Infinity`, so that
   * a read issued before the write lands keeps polling until the box appears.
   */
  courierRedispatchLimit?: number;
  /**
   * The courier (katzenpost courier/server/plugin.go, handleOldMessage) serves slot 0 even when it holds
   * an error (e.g. BoxIDNotFound from a lagging shard) while slot 1 holds a success, so a read can loop
   * for the dedup lifetime. Default `false`: when the asked slot holds BoxIDNotFound and the other a
   * success, the devnet serves the success.
   */
  staleNegative?: boolean;
  /**
   * kpclientd decrypts every Pigeonhole reply with a payload (a BoxIDNotFound too) on one goroutine for
   * the whole daemon, one CTIDH operation each (`ctidhCostMs`), so replies wait for each other. Default
   * `true` (as kpclientd v0.0.99). `false`: each reply pays its cost in parallel. No effect while
   * `ctidhCostMs` is 0.
   */
  serialReplyDecryption?: boolean;
}

/**
 * Options of `startDevnet`. Every knob is also described in src/devnet/README.md.
 */
export interface DevnetOptions {
  /**
   * Where the daemon listens: `tcp://host:port` (port 0 picks a free one), `unix:///absolute/path`,
   * `unix://@name` (Linux abstract socket), `ws://host:port` (a WebSocket listener like kpclientd's,
   * answering on any path), or a bare `host:port`. Default `tcp://127.0.0.1:0`.
   */
  listen?: string;
  /**
   * Origins (`scheme://host[:port]`) a WebSocket upgrade may come from. A request that carries an
   * Origin header not listed here is refused with HTTP 403; one without an Origin header (any
   * non-browser client) is accepted. Default: none, so no web page can connect.
   */
  allowedOrigins?: readonly string[];
  /**
   * `instant` (default): no mixing delays and no send-slot waits; for tests. `docker`: the docker
   * testnet's timings (per-hop Exp(200 ms) delays, Poisson send slots every 1 s on average, ARQ
   * retransmission after ReplyETA + 20 s, courier/replica link pacing, 5 s copy polls).
   */
  profile?: DevnetProfile;
  /** Divides every delay of the profile (docker at 20 runs twenty times faster). Default 1. */
  timeWarp?: number;
  /** Makes the network reproducible: keys, tokens, AppIDs, routing choices, delays and losses. */
  seed?: Uint8Array | string | number | bigint;
  /**
   * The clock every delay is scheduled on. Default: the wall clock. Pass a `VirtualClock` to step time
   * explicitly in tests (zero-delay work still runs by itself).
   */
  clock?: Clock;
  /** Probability that a mixnet leg (request or SURB reply) is lost, in [0, 1). The ARQ retransmits. Default 0. */
  lossProbability?: number;
  /** Delay before the second shard receives a replicated write, in simulated ms (divided by timeWarp). Default 0. */
  replicationLagMs?: number;
  /** How long a session survives a dropped socket, in simulated ms. Default 10 min (kpclientd's default). */
  sessionGracePeriodMs?: number;
  /** Directory authorities' signature scheme. Default `Falcon-padded-512-Ed25519`; `Ed25519` is faster. */
  authorityScheme?: 'Falcon-padded-512-Ed25519' | 'Ed25519';
  /** Number of directory authorities. Default 3. */
  authorityCount?: number;
  /** Number of storage replicas (IDs 0..n-1). Default 5; at least 2. */
  replicaCount?: number;
  /**
   * Number of service nodes, each offering `echo` (+echo) and `courier`, and advertising `http` (+http) and
   * `testdest` (+testdest) as a real service node does (those two never answer). Default 3.
   */
  serviceNodeCount?: number;
  /** Cost of one CTIDH operation in simulated ms (client encrypt = 3, replica hops 1–2 each). Default 0. */
  ctidhCostMs?: number;
  /** Whether the daemon starts connected to the (simulated) mixnet gateway. Default true. */
  mixnetConnected?: boolean;
  /** The first epoch. Default: the current Katzenpost epoch for the profile's epoch length. */
  startEpoch?: bigint;
  /** Overrides of individual profile delays (simulated ms, before timeWarp). */
  timing?: Partial<TimingProfile>;
  /** See `DevnetQuirks`. */
  quirks?: DevnetQuirks;
  /**
   * Bounds on what thin-client sockets may cost (connection limit, handshake and partial-frame
   * timeouts, buffer budgets, slow readers); see `ConnectionLimits` for each default. The clock is
   * the devnet's `clock`.
   */
  limits?: Partial<ConnectionLimits>;
  /** Diagnostics sink; silent by default. */
  log?: (line: string) => void;
  /**
   * A state directory (created 0700): the network's seed, epochs and every replica's boxes are kept there,
   * so that a devnet killed (even with SIGKILL) and started again with the same `state` is the same
   * network, holding every box written before, behind a new daemon with a new instance token. A `seed`
   * must match the directory's; without one the directory's is used (a fresh directory gets a random
   * one). Default: everything in memory.
   */
  state?: string;
}

/** One directory authority of the devnet: its entry in the trust root for `verifyPkiDocument`. */
export interface DevnetAuthority {
  /** The authority's name. */
  name: string;
  /** Its signature scheme (`Falcon-padded-512-Ed25519` or `Ed25519`). */
  scheme: string;
  /** Its identity public key. */
  publicKey: Uint8Array;
}

/** A running devnet. */
export interface Devnet {
  /** A Config that ThinClient.connect (and `configToToml`) accepts. */
  readonly thinClientConfig: Config;
  /** Where the daemon listens: `host:port`, a socket path, `@name`, or a `ws://host:port` URL. */
  readonly address: string;
  /** The trust root for `verifyPkiDocument`. */
  readonly authorities: readonly DevnetAuthority[];
  /** The timing profile it runs (`instant` or `docker`). */
  readonly profile: DevnetProfile;
  /** The clock every delay is scheduled on. */
  readonly clock: Clock;
  /** The Sphinx and Pigeonhole geometries the daemon reports to clients. */
  readonly geometry: {
    /** As `ThinClient.sphinxGeometry`. */
    sphinx: SphinxGeometry;
    /** As `ThinClient.pigeonholeGeometry`. */
    pigeonhole: PigeonholeGeometry;
  };
  /** The current daemon instance token (changes on restartDaemon). */
  instanceToken(): Uint8Array;
  /** The current Katzenpost epoch. */
  epoch(): bigint;
  /**
   * Restarts the daemon: new instance token, every connection dropped (after a shutdown_event unless
   * `graceful: false`), sessions and in-flight ARQs forgotten; network storage and courier caches stay.
   */
  restartDaemon(options?: { graceful?: boolean }): Promise<void>;
  /** Severs every client connection without a restart; sessions survive their grace period. */
  dropConnections(): void;
  /**
   * Fault: the handshake of every connection accepted from now on stops before `stage` ('status':
   * nothing is sent; 'document': only the status event; 'sessionReply': the session_token goes
   * unanswered) until set back to null; broadcasts still reach such a connection. Stalled
   * connections stay stalled.
   */
  stallHandshakes(stage: HandshakeStall | null): void;
  /** Fault: the daemon leaves a socket open after thin_close, so a closing client waits out its timeout. */
  ignoreThinClose(ignore: boolean): void;
  /** Fault: every connected client receives one frame that does not decode. */
  sendUnreadableFrame(): void;
  /**
   * Fault: holds back every frame the daemon sends to the clients connected now (a slow link), in
   * order, until `holdFrames(false)` sends them all; requests are still read and handled meanwhile.
   */
  holdFrames(hold: boolean): void;
  /**
   * Connects or disconnects the daemon from the mixnet gateway: a connection_status_event goes to every
   * client; while disconnected, local requests work and mixnet requests wait in their queues.
   */
  setMixnetConnected(connected: boolean): void;
  /** Whether the daemon reports a mixnet connection now. */
  isMixnetConnected(): boolean;
  /** Changes the probability that a mixnet leg is lost, in [0, 1). */
  setLossProbability(p: number): void;
  /** Changes the delay before the second shard receives a replicated write (simulated ms). */
  setReplicationLagMs(ms: number): void;
  /** Counters of the simulated network, and of the sockets (`connections`). */
  stats(): NetworkStats & {
    sessions: number;
    arqsInFlight: number;
    /** The sockets: open, refused, dropped by reason, bytes buffered. */
    connections: ConnectionStats;
    /** Send slots that carried a retransmission or follow-up (an app's resend queue goes first). */
    resendSlots: number;
    /** Send slots that carried a new request. One packet leaves per slot, daemon-wide. */
    freshSlots: number;
    /** How kpclientd's one-at-a-time decryption of Pigeonhole replies went (quirk `serialReplyDecryption`). */
    replyDecryption: {
      /** Replies this daemon decrypted, a CTIDH operation each. */
      decrypted: number;
      /** Simulated milliseconds those replies queued behind others. */
      waitedMs: number;
    };
  };
  /** Internals for tests: the simulated network. */
  readonly network: Network;
  /**
   * Stops everything: a shutdown_event to every client, then the listener closes; resolves once the
   * devnet has fully stopped. Closing again (or concurrently) joins the same shutdown.
   */
  close(): Promise<void>;
  /** Resolves once the devnet has fully stopped, whoever stopped it. */
  closed(): Promise<void>;
  /** Alias of `close()`. */
  stop(): Promise<void>;
  /** `close()`, for `await using net = await startDevnet(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_LISTEN = 'tcp://127.0.0.1:0';

/**
 * Starts a devnet: a kpclientd-compatible daemon listening on a real socket, backed by an in-process
 * simulated Pigeonhole network. Resolves once it listens.
 *
 * @throws RangeError when `replicaCount` is not an integer in [2, 255], `serviceNodeCount` is below 1, or
 * `listen` is not a usable address.
 * @throws Error (Node's listen error, e.g. EADDRINUSE) when the address cannot be bound.
 * @example
 * ```ts
 * import { ThinClient } from 'katzenpost-thin-client';
 * import { startDevnet } from 'katzenpost-thin-client/devnet';
 *
 * await using net = await startDevnet({ profile: 'instant', seed: 'demo' });
 * await using client = await ThinClient.connect(net.thinClientConfig);
 * await net.restartDaemon(); // the client resumes on its own
 * ```
 */
export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const profile: DevnetProfile = options.profile ?? 'instant';
  const timeWarp = options.timeWarp ?? 1;
  const overrides: Partial<TimingProfile> = { ...options.timing };
  if (options.ctidhCostMs !== undefined) overrides.ctidhMs = options.ctidhCostMs;
  if (options.sessionGracePeriodMs !== undefined) overrides.sessionGraceMs = options.sessionGracePeriodMs;
  const timing = resolveTiming(profile, timeWarp, overrides);
  const replicaCount = options.replicaCount ?? 5;
  if (!Number.isInteger(replicaCount) || replicaCount < 2 || replicaCount > 255) {
    throw new RangeError('devnet: replicaCount must be an integer in [2, 255]');
  }
  const serviceNodeCount = options.serviceNodeCount ?? 3;
  if (!Number.isInteger(serviceNodeCount) || serviceNodeCount < 1) {
    throw new RangeError('devnet: serviceNodeCount must be ≥ 1');
  }
  const target = parseListen(options.listen ?? DEFAULT_LISTEN);
  const allowedOrigins = normalizeOrigins(options.allowedOrigins ?? []);
  const authorityScheme = options.authorityScheme ?? 'Falcon-padded-512-Ed25519';
  const authorityCount = options.authorityCount ?? 3;
  const state =
    options.state === undefined
      ? undefined
      : DevnetState.open(options.state, {
          ...(options.seed === undefined ? {} : { seed: seedBytes(options.seed) }),
          topology: { authorityScheme, authorityCount, replicaCount, serviceNodeCount },
          startEpoch: () => options.startEpoch ?? currentWallEpoch(timing.nominal.epochMs),
        });
  const root = state
    ? new Drbg(state.seed)
    : options.seed === undefined
      ? Drbg.random()
      : new Drbg(seedBytes(options.seed));
  const clock = options.clock ?? new RealClock();
  const log = options.log ?? (() => {});
  const sizes = deriveSizes();
  const quirks = options.quirks ?? {};
  const guard = new ConnectionGuard(resolveLimits(options.limits), clock, log);

  let network: Network;
  try {
    network = new Network({
      clock,
      rng: root,
      sizes,
      timing,
      profile,
      authorityScheme,
      authorityCount,
      replicaCount,
      serviceNodeCount,
      lossProbability: options.lossProbability ?? 0,
      replicationLagMs: options.replicationLagMs ?? 0,
      startEpoch: state ? state.genesisEpoch : options.startEpoch,
      ...(state
        ? { elapsedMs: state.elapsedMs(), run: state.run, boxStore: (id: number) => state.boxStore(id) }
        : {}),
      courierRedispatchLimit: quirks.courierRedispatchLimit ?? Number.POSITIVE_INFINITY,
      fixStaleNegative: !(quirks.staleNegative ?? false),
      log,
    });
    // The replications a killed process left undone are completed before anyone can read.
    if (state && state.run > 0) log(`state: ${network.repairReplication()} replications completed`);
  } catch (err) {
    state?.close();
    throw err;
  }

  const linkSeed = root.fork('authority-links');
  const authorityInfo: AuthorityInfo[] = network.authorities.map((a, i) => ({
    name: a.name,
    scheme: a.scheme,
    publicKey: a.publicKey,
    linkKey: linkSeed.bytes(1216),
    wireKemScheme: 'xwing',
    addresses: [`tcp://127.0.0.1:${30001 + i}`],
  }));

  let mixnetConnected = options.mixnetConnected ?? true;
  const faults = { stallHandshakes: null as HandshakeStall | null, ignoreThinClose: false };
  let generation = 0;
  const slots = { resend: 0, fresh: 0 };
  const newDaemon = () =>
    new Daemon({
      network,
      clock,
      // With a state directory the count spans every process, so a restarted devnet's daemon never
      // repeats an earlier one's instance token or AppIDs.
      rng: root.fork(`daemon/${state ? state.nextDaemon() : generation++}`),
      sizes,
      timing: timing.warped,
      sessionGraceMs: timing.warped.sessionGraceMs,
      mixnetConnected: () => mixnetConnected,
      authorities: authorityInfo,
      dropRepliesWhileDisconnected: quirks.dropRepliesWhileDisconnected ?? true,
      serialReplyDecryption: quirks.serialReplyDecryption ?? true,
      log,
      faults: () => faults,
      slots,
    });
  let daemon = newDaemon();

  const onSocket = (socket: Duplex) => {
    if (!guard.admit(socket)) return;
    const current = daemon;
    try {
      current.accept(new Connection(socket, current, guard));
    } catch (err) {
      log(`accept failed: ${(err as Error).message}`);
      socket.destroy();
    }
  };
  let server: Server;
  let address: string;
  let thinClientConfig: Config;
  try {
    ({ server, address, config: thinClientConfig } = await listenOn(target, onSocket, allowedOrigins));
  } catch (err) {
    network.stop();
    state?.close();
    throw err;
  }

  const authorities = authorityTrustRoot(network.authorities);
  const life = lifecycle(async () => {
    daemon.shutdown(true);
    network.stop();
    state?.close();
    if (clock instanceof RealClock) clock.clearAll();
    // Resolves once every client socket has gone too (the daemon ends them after the shutdown_event).
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  // The listener closing by any other road still stops the whole devnet.
  server.once('close', () => void life.close());

  const net: Devnet = {
    thinClientConfig,
    address,
    authorities,
    profile,
    clock,
    geometry: { sphinx: { ...sizes.sphinx }, pigeonhole: { ...sizes.pigeonhole } },
    network,
    instanceToken: () => daemon.instanceToken.slice(),
    epoch: () => network.currentEpoch(),
    async restartDaemon(opts = {}) {
      if (life.closing) throw new Error('devnet: stopped');
      daemon.shutdown(opts.graceful ?? true);
      daemon = newDaemon();
    },
    dropConnections() {
      daemon.dropConnections();
    },
    stallHandshakes(stage) {
      if (stage !== null && !['status', 'document', 'sessionReply'].includes(stage))
        throw new TypeError("devnet: stallHandshakes takes 'status', 'document', 'sessionReply' or null");
      faults.stallHandshakes = stage;
    },
    ignoreThinClose(ignore: boolean) {
      if (typeof ignore !== 'boolean') throw new TypeError('devnet: ignoreThinClose takes a boolean');
      faults.ignoreThinClose = ignore;
    },
    sendUnreadableFrame() {
      daemon.sendUnreadableFrame();
    },
    holdFrames(hold: boolean) {
      if (typeof hold !== 'boolean') throw new TypeError('devnet: holdFrames takes a boolean');
      daemon.holdFrames(hold);
    },
    setMixnetConnected(connected: boolean) {
      if (typeof connected !== 'boolean') throw new TypeError('devnet: setMixnetConnected takes a boolean');
      if (connected === mixnetConnected) return;
      mixnetConnected = connected;
      daemon.mixnetStatusChanged();
    },
    isMixnetConnected: () => mixnetConnected,
    setLossProbability: (p: number) => network.setLossProbability(p),
    setReplicationLagMs: (ms: number) => network.setReplicationLagMs(ms),
    stats: () => ({
      ...network.stats,
      sessions: daemon.sessionCount,
      arqsInFlight: daemon.arqCount,
      connections: guard.stats(),
      resendSlots: slots.resend,
      freshSlots: slots.fresh,
      replyDecryption: daemon.ingressCounts,
    }),
    close: () => life.close(),
    closed: () => life.closed(),
    stop: () => life.close(),
    [Symbol.asyncDispose]: () => life.close(),
  };
  return net;
}

/**
 * The client session behind ThinClient: the supervising actor and its lifecycle (connect state,
 * status, events, close and disconnect) and what the actor tells the facade. ThinClient adds the
 * request methods on top; neither keeps a table of pending work (src/registryCalls.ts).
 */
import { type Actor, createActor } from 'xstate';
import { wiredClientMachine } from '../actors/wiring.js';
import type { ClientEmitted, clientMachine, LinkState } from '../machines/client.js';
import { NO_WORK, type WorkStats } from '../machines/registry.js';
import {
  type CallOptions,
  type Clock,
  type ConnectOptions,
  DEFAULT_PARTIAL_FRAME_TIMEOUT_MS,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './clientOptions.js';
import type { Config } from './config.js';
import { DaemonView } from './daemonView.js';
import {
  ClientClosedError,
  ConnectionLostError,
  NotConnectedError,
  ProtocolError,
  ThinClientError,
} from './errors.js';
import { EventHub } from './eventHub.js';
import type {
  EventOfType,
  EventsOptions,
  LaggedEvent,
  ThinClientEvent,
  ThinClientEventType,
} from './events.js';
import { redactInspection } from './inspector/redact.js';
import { type Logger, safeLogger } from './logger.js';
import { randomId } from './protocol/index.js';
import { RegistryCalls } from './registryCalls.js';
import { abortReason } from './settleOnce.js';
import { type ClientStatus, StatusFeed, type StatusOptions } from './status.js';

export abstract class ClientSession implements AsyncDisposable {
  /** The supervising root actor (systemId 'client'), for inspection and tests. */
  readonly actorRef: Actor<typeof clientMachine>;

  private readonly config: Config;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly hub = new EventHub();
  protected readonly calls: RegistryCalls;
  private readonly statusFeed = new StatusFeed(() => this.currentStatus());
  protected readonly daemon = new DaemonView(this.hub);
  private closing = false;
  private finished = false;
  private readonly closedPromise: Promise<Error | undefined>;
  private resolveClosed!: (error: Error | undefined) => void;
  private readStats: () => WorkStats = () => ({ ...NO_WORK });
  protected firstReady: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  protected constructor(config: Config, options: ConnectOptions) {
    this.config = config;
    this.logger = safeLogger(options.logger);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const clock: Clock = options.clock ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    };
    const partialFrameTimeoutMs = options.partialFrameTimeoutMs ?? DEFAULT_PARTIAL_FRAME_TIMEOUT_MS;
    this.actorRef = createActor(wiredClientMachine({ frameStall: { clock, partialFrameTimeoutMs } }), {
      systemId: 'client',
      input: {
        connection: {
          dial: config.dial,
          clientToken: randomId(),
          ...(options.reconnect ? { reconnect: options.reconnect } : {}),
          ...(options.handshakeTimeoutMs === undefined
            ? {}
            : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
        },
        registry: {
          clock,
          failFast: options.failFast ?? false,
          queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
          logger: this.logger,
          ...(options.waitingReads === undefined ? {} : { waitingReads: options.waitingReads }),
          sendSlotMs: () => {
            const lambdaP = this.daemon.document?.lambdaP;
            return lambdaP && lambdaP > 0 ? 1 / lambdaP : undefined;
          },
          exposeStats: (read) => {
            this.readStats = read;
          },
        },
      },
      ...(options.inspect ? { inspect: redactInspection(options.inspect) } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.calls = new RegistryCalls(
      () => this.actorRef.system.get('registry'),
      () => this.ensureOpen(),
      this.requestTimeoutMs,
    );
    const actor = this.actorRef;
    actor.on('*', (emitted) => this.onEmitted(emitted as ClientEmitted));
    // The root always has an error listener: nothing inside may crash the host process.
    actor.subscribe({
      error: (error) => this.onFatal(error),
      complete: () => this.onFinished(),
    });
  }

  // ---- connection state, status and events ----

  /** True when the daemon socket is up and the daemon reports a mixnet connection. */
  isConnected(): boolean {
    return this.actorRef.getSnapshot().matches({ live: { link: 'ready', mixnet: 'connected' } });
  }

  /** True while the socket to the daemon is up and its session ready (mixnet or not). */
  isDaemonConnected(): boolean {
    return this.actorRef.getSnapshot().matches({ live: { link: 'ready' } });
  }

  /** How much work the client holds now: requests, operations and streams in flight, and waiting. */
  stats(): WorkStats {
    return this.readStats();
  }

  /**
   * The current status, then every change; ends when the client closes or `signal` aborts.
   *
   * @example
   * ```ts
   * for await (const s of client.status({ signal })) console.log(s.link, s.mixnetConnected);
   * ```
   */
  status(options: StatusOptions = {}): AsyncIterableIterator<ClientStatus> {
    return this.statusFeed.iterator(options);
  }

  /**
   * A fresh event stream with its own bounded queue; ends on `signal`, on break, or on close. A
   * consumer that falls behind gets a `lagged` event instead of stalling the connection.
   *
   * @throws RangeError when `capacity` is not a positive integer.
   * @example
   * ```ts
   * for await (const ev of client.events({ signal })) {
   *   if (ev.type === 'newPkiDocument') console.log('epoch', ev.document?.epoch);
   * }
   * ```
   */
  events(options: EventsOptions = {}): AsyncIterableIterator<ThinClientEvent | LaggedEvent> {
    return this.hub.iterator(options);
  }

  /**
   * Calls `fn` for each event of `type` ('*' for all); returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = client.on('daemonDisconnected', (ev) => console.warn('lost the daemon', ev.error));
   * off();
   * ```
   */
  on<T extends ThinClientEventType>(type: T, fn: (event: EventOfType<T>) => void): () => void;
  on(type: '*', fn: (event: ThinClientEvent) => void): () => void;
  on(type: ThinClientEventType | '*', fn: (event: never) => void): () => void {
    return this.hub.on(type as ThinClientEventType, fn as (event: ThinClientEvent) => void);
  }

  /**
   * Sends thin_close (the daemon forgets this session and stops its retransmissions), closes the
   * socket and stops every actor of the tree. Pending calls reject with ClientClosedError. Closing
   * again (or concurrently) waits for the same close; it never rejects.
   */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (this.actorRef.getSnapshot().status === 'active') this.actorRef.send({ type: 'client.close' });
      else this.onFinished();
    }
    await this.closedPromise;
  }

  /** Resolves once the client has closed: with the error that closed it, if one did. */
  closed(): Promise<Error | undefined> {
    return this.closedPromise;
  }

  /** `close()`, for `await using client = await ThinClient.connect(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Drops the socket without thin_close: the daemon keeps the session (and its ARQ work) for its
   * grace period. In-flight start_resending_* calls stay pending; `reconnect()` resumes them.
   * Pending local requests reject with ConnectionLostError; new calls reject with NotConnectedError
   * until `reconnect()`.
   *
   * @throws ClientClosedError when the client is closed.
   * @example
   * ```ts
   * const pending = client.startResendingEncryptedMessage(params);
   * await client.disconnect();
   * await client.reconnect(); // same session: `pending` settles as if nothing happened
   * ```
   */
  async disconnect(): Promise<void> {
    this.ensureOpen();
    this.actorRef.send({ type: 'client.disconnect' });
  }

  /**
   * Dials again after `disconnect()` with the same session token; resolves once ready (at once when
   * already connected).
   *
   * @throws ClientClosedError when the client is closed, or closes while dialling.
   * @throws ConnectionLostError when the client gives up redialling (`reconnect.maxAttempts`).
   */
  async reconnect(options: CallOptions = {}): Promise<void> {
    this.ensureOpen();
    options.signal?.throwIfAborted();
    if (this.isDaemonConnected()) return;
    const ready = this.waitForReady(options.signal);
    this.actorRef.send({ type: 'client.reconnect' });
    await ready;
  }

  /**
   * Resolves when the daemon session is (again) ready; rejects if the client closes or gives up.
   *
   * @throws ClientClosedError when the client is (or becomes) closed.
   * @throws ConnectionLostError when the client gives up redialling.
   */
  async waitForReady(signal?: AbortSignal): Promise<void> {
    if (this.isDaemonConnected()) return;
    if (this.finished || this.closing) throw new ClientClosedError();
    for await (const s of this.status({ signal })) {
      if (s.link === 'ready') return;
      if (s.link === 'failed') throw new ConnectionLostError('gave up reconnecting to the daemon');
      if (s.link === 'closed') throw new ClientClosedError();
    }
    if (signal?.aborted) throw abortReason(signal);
    throw new ClientClosedError();
  }

  // ---- internals: method call → registry event → promise ----

  private ensureOpen(): void {
    if (this.closing || this.finished) throw new ClientClosedError();
  }

  // ---- internals: what the actor tells us ----

  private currentStatus(): ClientStatus {
    const snapshot = this.actorRef.getSnapshot();
    if (snapshot.status !== 'active') {
      return { link: snapshot.context.error && !this.closing ? 'failed' : 'closed', mixnetConnected: false };
    }
    const value = snapshot.value as { live: { link: LinkState; mixnet: 'connected' | 'offline' } };
    return { link: value.live.link, mixnetConnected: value.live.mixnet === 'connected' };
  }

  private onEmitted(emitted: ClientEmitted): void {
    switch (emitted.type) {
      case 'message':
        this.daemon.onMessage(emitted.message, this.isDaemonConnected());
        break;
      case 'linkReady':
        this.onReady(emitted);
        break;
      case 'linkLost': {
        this.daemon.drop();
        this.logger.warn({ graceful: emitted.graceful, requested: emitted.requested }, 'daemon link lost');
        if (!emitted.requested) {
          const error = new ConnectionLostError(
            'connection to the daemon lost',
            emitted.error ? { cause: emitted.error } : {},
          );
          this.hub.publish({
            type: 'daemonDisconnected',
            isGraceful: emitted.graceful,
            error: emitted.graceful ? undefined : toThinClientError(emitted.error, error),
          });
        }
        break;
      }
      case 'linkFailed': {
        this.logger.error(
          { address: this.config.dial.address, err: emitted.error.message },
          'gave up connecting',
        );
        this.firstReady?.reject(
          new NotConnectedError(
            `cannot connect to kpclientd at ${this.config.dial.address}: ${emitted.error.message}`,
            {
              cause: emitted.error,
            },
          ),
        );
        this.firstReady = undefined;
        break;
      }
      case 'protocolError':
        this.logger.warn({ err: emitted.error.message }, 'protocol error from the daemon');
        this.hub.publish({
          type: 'protocolError',
          error:
            emitted.error instanceof ProtocolError
              ? emitted.error
              : new ProtocolError(emitted.error.message, { cause: emitted.error }),
        });
        break;
      case 'mixnet':
        break;
      case 'closed':
        this.onFinished();
        return;
    }
    this.statusFeed.changed();
  }

  private onReady(ready: Extract<ClientEmitted, { type: 'linkReady' }>): void {
    this.logger.info({ resumed: ready.resumed, replayed: ready.replayed }, 'daemon session ready');
    if (ready.first) {
      const first = this.firstReady;
      this.firstReady = undefined;
      if (!this.daemon.sphinx || !this.daemon.pigeonhole) {
        first?.reject(new ProtocolError('the daemon sent no geometry in its handshake'));
        void this.close();
        return;
      }
      first?.resolve();
    }
    this.daemon.release();
    this.hub.publish({
      type: 'daemonConnected',
      instanceToken: ready.instanceToken,
      resumed: ready.resumed,
      replayed: ready.replayed,
    });
  }

  private onFatal(error: unknown): void {
    // The root actor or one of its children failed (a bug): fail everything, never the process.
    this.logger.error({ err: String(error) }, 'the client actor failed');
    this.firstReady?.reject(new ConnectionLostError('the thin client failed', { cause: error }));
    this.firstReady = undefined;
    this.onFinished(error instanceof Error ? error : new Error(String(error)));
  }

  private onFinished(fatal?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.closing = true;
    this.firstReady?.reject(new ClientClosedError());
    this.firstReady = undefined;
    this.hub.end();
    this.statusFeed.end();
    const snapshot = this.actorRef.getSnapshot();
    this.resolveClosed(fatal ?? (snapshot.status === 'done' ? snapshot.context.error : undefined));
  }
}

function toThinClientError(error: Error | undefined, fallback: ThinClientError): ThinClientError {
  return error instanceof ThinClientError ? error : fallback;
}

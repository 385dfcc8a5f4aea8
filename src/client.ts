/**
 * ThinClient, the facade: a session (src/clientSession.ts) with the request families stacked on it,
 * one per file under src/facade/ (services and legacy messaging, single boxes, multi-box transfers,
 * contact vouchers), and the static `connect` that makes one.
 */
import { type ConnectOptions, validateConnectOptions } from './clientOptions.js';
import { type Config, loadConfig } from './config.js';
import { VoucherClient } from './facade/vouchers.js';
import { undialable } from './platform/dialable.js';
import { abortReason } from './settleOnce.js';

// ---- public option and result types -----------------------------------------------------------

export type { LinkState } from '../machines/client.js';
export type { ReconnectPolicy } from '../machines/connection.js';
export type { WorkStats } from '../machines/registry.js';
export type {
  BlockingSendOptions,
  CallOptions,
  Clock,
  ConnectOptions,
  CopyCommandOptions,
} from './clientOptions.js';
export type { Logger } from './logger.js';
export type * from './protocol/types.js';
export type { ClientStatus, StatusOptions } from './status.js';

// ---- the client -------------------------------------------------------------------------------

/**
 * A connection to kpclientd, the Katzenpost client daemon: every request of the thin-client protocol as
 * a method, plus events, status and lifecycle. It redials on its own after a lost connection, resumes its
 * daemon session, and replays what a restarted daemon lost.
 *
 * Errors: every method rejects only with a ThinClientError subclass, or with the `signal.reason` of an
 * aborted call. Each method names the errors particular to it; any request may also reject with:
 * - InvalidArgumentError: an argument is malformed (wrong length, type or range); nothing was sent.
 * - ClientClosedError: the client is closed, or closes while the call waits.
 * - NotConnectedError: after `disconnect()`; while redialling with `failFast`, or with `queueLimit`
 *   calls already waiting; for network calls, while the daemon has no mixnet connection.
 * - ConnectionLostError: the client gave up redialling (`reconnect.maxAttempts`), or `disconnect()`
 *   was called while a local request waited.
 * - TimeoutError: a local request had no reply within its deadline
 *   (`requestTimeoutMs`, or the call's `timeoutMs`).
 * - DaemonError, CourierError or PayloadTooLargeError: the daemon answered with that error code.
 *
 * @example
 * ```ts
 * import { ThinClient, loadConfig } from 'katzenpost-thin-client';
 *
 * await using client = await ThinClient.connect(await loadConfig('thinclient.toml'));
 * const [destNode, destQueue] = client.getService('echo').toDestination();
 * const reply = await client.blockingSendMessage(new TextEncoder().encode('hello'), destNode, destQueue);
 * ```
 */
export class ThinClient extends VoucherClient {
  /**
   * Connects to kpclientd (a Config, or the path of a thinclient.toml) and completes the handshake.
   * Rejects with NotConnectedError when the daemon cannot be reached, or with `signal.reason`.
   *
   * @throws ConfigError when `configOrPath` is a path and the file cannot be read or is not a valid
   * thinclient.toml.
   * @throws InvalidArgumentError when an option is out of range (e.g. `reconnect.factor` below 1).
   * @throws NotConnectedError when the dial or handshake fails (after `reconnect.maxAttempts` redials).
   * @throws ProtocolError when the daemon's handshake carries no geometry.
   * @example
   * ```ts
   * const client = await ThinClient.connect('thinclient.toml', { signal: AbortSignal.timeout(10_000) });
   * client.on('connectionStatus', (ev) => console.log('mixnet', ev.isConnected));
   * ```
   */
  static async connect(configOrPath: Config | string, options: ConnectOptions = {}): Promise<ThinClient> {
    const { signal } = options;
    signal?.throwIfAborted();
    const config = typeof configOrPath === 'string' ? await loadConfig(configOrPath) : configOrPath;
    validateConnectOptions(options);
    const refusal = undialable(config.dial);
    if (refusal) throw refusal;
    signal?.throwIfAborted();
    const client = new ThinClient(config, options);
    const ready = new Promise<void>((resolve, reject) => {
      client.firstReady = { resolve, reject };
    });
    const onAbort = () => {
      client.firstReady?.reject(abortReason(signal!));
      void client.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    client.actorRef.start();
    try {
      await ready;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return client;
  }
}

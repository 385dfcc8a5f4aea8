/**
 * What machines/connection.ts speaks: its input, the events of its transport and of its parent,
 * the commands it gives the transport, the reports it makes, and its context. Types only; the
 * transport's body is actors/transport.ts.
 */
import type { DecodedResponse } from '../src/wire/index.js';
import type { ReconnectPolicy } from './redial.js';

/** Where to dial; structurally the `dial` part of src/config.ts's Config. */
export interface DialTarget {
  readonly type: 'tcp' | 'unix' | 'ws';
  readonly address: string;
  readonly network?: string;
}

export interface ConnectionInput {
  dial: DialTarget;
  /** Our ClientInstanceToken: 16 random bytes, the same for every redial of this client. */
  clientToken: Uint8Array;
  reconnect?: Partial<ReconnectPolicy>;
  /** Dial plus handshake must finish within this. @default 60000 */
  handshakeTimeoutMs?: number;
  /** How long close() waits for the socket to flush thin_close. @default 2000 */
  closeTimeoutMs?: number;
  /**
   * The systemId of the actor that takes the daemon's replies (frames with a query_id) straight from
   * the transport, as `transport.reply`: the request/reply data path then skips this machine, which
   * only needs the handshake and the daemon's events. Without it, replies are forwarded like any frame.
   */
  replyTarget?: string;
}

/** The transport's input: where to dial, and who takes replies directly (ConnectionInput.replyTarget). */
export interface TransportInput {
  dial: DialTarget;
  replyTarget?: string;
}

/**
 * What the transport actor sends back. It reports every failure (a refused dial, a socket error,
 * an unreadable frame) as `transport.closed` and never throws.
 */
export type TransportEvent =
  | { type: 'transport.open' }
  | { type: 'transport.message'; message: DecodedResponse }
  | { type: 'transport.protocolError'; error: Error }
  | { type: 'transport.closed'; error?: Error };

/** What the transport sends the reply target (ConnectionInput.replyTarget) for each reply frame. */
export interface TransportReply {
  type: 'transport.reply';
  message: DecodedResponse;
}

/**
 * What the transport actor accepts: this machine's handshake and goodbye, and `transport.sendRaw`,
 * with which the registry writes requests straight to the socket.
 */
export type TransportCommand =
  | { type: 'transport.send'; message: { key: 'session_token' | 'thin_close'; body: object } }
  | { type: 'transport.sendRaw'; bytes: Uint8Array }
  | { type: 'transport.end' };

/** What the parent (the client actor) sends. */
export type ConnectionCommand =
  | { type: 'connection.connect' }
  | { type: 'connection.disconnect' }
  | { type: 'connection.close' };

export type ConnectionEvent = TransportEvent | ConnectionCommand;

/** What this machine reports to its parent. */
export type ConnectionReport =
  /** Any frame other than session_token_reply, in arrival order (handshake frames included). */
  | { type: 'connection.message'; message: DecodedResponse }
  | {
      type: 'connection.ready';
      instanceToken: Uint8Array | null;
      appId: Uint8Array | null;
      resumed: boolean;
      /** In-flight operations must be sent again: the daemon cannot have them. */
      replay: boolean;
      first: boolean;
    }
  | { type: 'connection.lost'; graceful: boolean; error: Error | undefined; requested: boolean }
  | { type: 'connection.protocolError'; error: Error }
  | { type: 'connection.failed'; error: Error };

export interface ConnectionContext {
  dial: DialTarget;
  replyTarget: string | undefined;
  clientToken: Uint8Array;
  reconnect: ReconnectPolicy;
  handshakeTimeoutMs: number;
  closeTimeoutMs: number;
  /** Redials since the connection was last ready. */
  attempt: number;
  everReady: boolean;
  /** The instance token of the daemon on the current socket (hex), once its status arrived. */
  instanceToken: string | null;
  instanceTokenBytes: Uint8Array | null;
  /** The instance token of the last session that became ready (hex). */
  sessionInstanceToken: string | null;
  /** A shutdown_event arrived on this socket. */
  graceful: boolean;
  /** A protocol error dropped frames (perhaps replies) since the last ready. */
  framesLost: boolean;
  lastError: Error | undefined;
}

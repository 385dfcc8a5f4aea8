/**
 * The seam between the transport actor and what carries its bytes. A dialer opens one byte stream to
 * the daemon (a unix or TCP socket, or a WebSocket) and reports through four callbacks; the transport
 * actor frames, decodes and reports the same way whichever dialer it has.
 */
import type { DialTarget } from '../../machines/connection.js';

/** One open (or opening) byte stream to the daemon. */
export interface ByteStream {
  /** Queues bytes in order; everything written in one tick leaves together. */
  write(bytes: Uint8Array): void;
  /** Sends what is queued, then closes gracefully. */
  end(): void;
  /** Closes at once, dropping anything queued. */
  destroy(): void;
}

/** What a byte stream reports. `onClose` comes exactly once, last, however the stream ends. */
export interface ByteStreamHandlers {
  /** The stream is connected; writes before this are queued. */
  onOpen(): void;
  /** Bytes in arrival order; chunk boundaries mean nothing. */
  onData(chunk: Uint8Array): void;
  /** Something failed; `onClose` follows. The last error reported is the one that counts. */
  onError(error: Error): void;
  onClose(): void;
}

/** Opens the stream `target` names. Throws for an address it cannot dial at all (a malformed one). */
export type Dialer = (target: DialTarget, handlers: ByteStreamHandlers) => ByteStream;

/**
 * A byte stream over a WebSocket, for kpclientd's WebSocket listener. Imports nothing from Node: the
 * WebSocket comes from an injected `open(url)`, the `ws` package's in Node (./node.ts) or the
 * browser's own (./browser.ts).
 *
 * What kpclientd v0.0.99 does (client/transport/websocket.go, client/thin/transport/websocket.go in
 * katzenpost; unchanged on main since): the daemon accepts on every path (its mux serves "/", which
 * matches all), skips the Origin check, and wraps the socket in websocket.NetConn(..., MessageBinary):
 * one continuous byte stream, each Write one binary message. It writes a frame's 4-byte length
 * prefix and its CBOR body as two Writes, so two messages; and it closes the connection on a text
 * message. The Go dialer dials the configured URL as given (it adds no path) and writes prefix and
 * body as one message. Hence: we send binary messages only (the frames of one tick in one message),
 * and treat whatever arrives, binary or text, as the next bytes of the stream.
 */
import type { DialTarget } from '../../machines/connection.js';
import type { ByteStream, ByteStreamHandlers, Dialer } from './byteStream.js';

/** The part of the WHATWG WebSocket API this dialer uses; the `ws` package implements it too. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Closes without the closing handshake (the `ws` package has it; browsers do not). */
  terminate?(): void;
}

/** Opens a WebSocket to `url`. */
export type OpenWebSocket = (url: string) => WebSocketLike;

const OPEN = 1;
/** Close codes that end the stream without an error: normal, going away, no status given. */
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1005]);
const utf8 = new TextEncoder();

/** A Dialer for `ws` targets through the WebSockets `open` makes. */
export function webSocketDialer(open: OpenWebSocket): Dialer {
  return (dial, handlers) => dialWebSocket(open, dial, handlers);
}

function dialWebSocket(open: OpenWebSocket, dial: DialTarget, handlers: ByteStreamHandlers): ByteStream {
  if (dial.type !== 'ws') throw new Error(`the WebSocket dialer cannot dial ${dial.type}`);
  const socket = open(dial.address);
  socket.binaryType = 'arraybuffer';
  let pending: Uint8Array[] = [];
  let flushQueued = false;
  let closed = false;
  let errored = false;

  const flush = () => {
    flushQueued = false;
    if (closed || socket.readyState !== OPEN || pending.length === 0) return;
    const chunks = pending;
    pending = [];
    socket.send(chunks.length === 1 ? chunks[0]! : concat(chunks));
  };
  const fail = (error: Error) => {
    errored = true;
    handlers.onError(error);
  };

  socket.onopen = () => {
    if (closed) return;
    handlers.onOpen();
    flush();
  };
  socket.onmessage = (event) => {
    if (closed) return;
    const bytes = toBytes(event.data);
    if (bytes) handlers.onData(bytes);
    else fail(new Error('the WebSocket delivered a message that is neither binary nor text'));
  };
  socket.onerror = (event) => fail(errorOf(event));
  socket.onclose = (event) => {
    if (closed) return;
    closed = true;
    if (!errored && !CLEAN_CLOSE_CODES.has(event.code)) {
      fail(
        new Error(`the WebSocket closed with code ${event.code}${event.reason ? `: ${event.reason}` : ''}`),
      );
    }
    handlers.onClose();
  };

  return {
    write(bytes) {
      if (closed) return;
      pending.push(bytes);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    },
    end() {
      if (closed) return;
      flush();
      socket.close(1000);
    },
    destroy() {
      pending = [];
      if (closed) return;
      if (socket.terminate) socket.terminate();
      else socket.close(1000);
    },
  };
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return utf8.encode(data);
  return undefined;
}

function errorOf(event: unknown): Error {
  const e = event as { error?: unknown; message?: unknown } | null;
  if (e?.error instanceof Error) return e.error;
  if (typeof e?.message === 'string' && e.message !== '') return new Error(e.message);
  return new Error('the WebSocket failed');
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

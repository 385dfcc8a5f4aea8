/**
 * The dialer a Node client uses: unix and TCP through node:net, ws:// and wss:// through the `ws`
 * package (no per-message compression: kpclientd's listener does not offer it).
 */
import WebSocket from 'ws';
import type { Dialer } from './byteStream.js';
import { netDialer } from './net.js';
import { type WebSocketLike, webSocketDialer } from './webSocket.js';

// `ws` implements the WHATWG surface WebSocketLike names; its typings spell the event types more narrowly.
const wsDialer = webSocketDialer(
  (url) => new WebSocket(url, { perMessageDeflate: false }) as unknown as WebSocketLike,
);

export const nodeDialer: Dialer = (dial, handlers) =>
  dial.type === 'ws' ? wsDialer(dial, handlers) : netDialer(dial, handlers);

/**
 * The dialer for a browser: only ws:// and wss://, through the browser's own WebSocket. Imports
 * nothing from Node.
 */
import type { Dialer } from './byteStream.js';
import { type OpenWebSocket, type WebSocketLike, webSocketDialer } from './webSocket.js';

type WebSocketConstructor = new (url: string) => WebSocketLike;

const openBrowserWebSocket: OpenWebSocket = (url) => {
  const Ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Ctor) throw new Error('this environment has no WebSocket');
  return new Ctor(url);
};
const wsDialer = webSocketDialer(openBrowserWebSocket);

export const browserDialer: Dialer = (dial, handlers) => {
  if (dial.type !== 'ws') {
    throw new Error(`a browser can dial only [Dial.Ws] (a ws:// or wss:// URL), not ${dial.type}`);
  }
  return wsDialer(dial, handlers);
};

/**
 * The devnet's WebSocket listener, answering as kpclientd's does: a WebSocket upgrade on any path,
 * binary messages carrying the daemon's byte stream (./wsStream.ts), no compression, and a plain
 * HTTP request refused with 426. Unlike kpclientd it checks Origin: a request that carries an Origin
 * header not in `allowedOrigins` is refused with 403 before the upgrade (non-browser clients send
 * no Origin; every browser page does), so a web page the user happens to open cannot drive it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WebSocketByteStream } from './wsStream.js';

/** Checks and normalises allow-list entries: each must be an origin such as `http://localhost:8080`. */
export function normalizeOrigins(origins: readonly string[]): Set<string> {
  if (!Array.isArray(origins)) throw new TypeError('devnet: allowedOrigins must be an array of origins');
  const out = new Set<string>();
  for (const entry of origins) {
    let url: URL | undefined;
    try {
      url = typeof entry === 'string' ? new URL(entry) : undefined;
    } catch {
      url = undefined;
    }
    const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!url || !bare || url.origin === 'null' || entry.endsWith('#') || entry.endsWith('?')) {
      throw new RangeError(
        `devnet: an allowed origin must be scheme://host[:port] and nothing more, got ${JSON.stringify(entry)}`,
      );
    }
    out.add(url.origin);
  }
  return out;
}

/** Whether an upgrade request may proceed: no Origin header, or one on the list. */
export function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return allowed.has(origin.toLowerCase());
}

function refuse(socket: Duplex, status: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Starts listening on host:port; resolves with the server and the ws:// URL clients should dial. */
export async function listenWebSocket(
  host: string,
  port: number,
  allowedOrigins: ReadonlySet<string>,
  onConnection: (stream: Duplex) => void,
): Promise<{ server: Server; address: string }> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'close' });
    res.end('this is a WebSocket endpoint\n');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    if (!originAllowed(req, allowedOrigins)) {
      refuse(socket, '403 Forbidden', `origin ${req.headers.origin} is not allowed\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(new WebSocketByteStream(ws)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { server, address: `ws://${shownHost}:${boundPort}` };
}

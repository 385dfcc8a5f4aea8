/**
 * Where the devnet listens: `tcp://host:port`, `unix:///absolute/path`, `unix://@abstract-name` (Linux
 * abstract namespace), `ws://host:port` (a WebSocket listener, as kpclientd's, on any path), or a
 * bare `host:port`. Also the thin-client Config that dials it.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { listenWebSocket } from './wsListener.js';

export type ListenTarget =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ws'; host: string; port: number; path: string }
  | { kind: 'unix'; path: string }
  | { kind: 'abstract'; name: string };

export function parseListen(listen: string): ListenTarget {
  if (typeof listen !== 'string' || listen === '')
    throw new RangeError('devnet: listen must be a non-empty string');
  if (listen.startsWith('wss://')) {
    throw new RangeError('devnet: wss:// needs TLS, which the devnet does not serve; listen on ws://');
  }
  if (listen.startsWith('ws://')) {
    // Like kpclientd, the listener answers on every path; a path given here is kept in the address.
    const m = /^ws:\/\/(?:\[([^\]]+)\]|([^:/?#[\]]*)):(\d{1,5})(\/[^?#]*)?$/.exec(listen);
    const port = m ? Number(m[3]) : Number.NaN;
    if (!m || port > 65535) {
      throw new RangeError(
        `devnet: a WebSocket listen address is ws://host:port[/path], got ${JSON.stringify(listen)}`,
      );
    }
    const path = m[4] === undefined || m[4] === '/' ? '' : m[4];
    return { kind: 'ws', host: m[1] ?? (m[2] || '127.0.0.1'), port, path };
  }
  if (listen.startsWith('unix://')) {
    const rest = listen.slice('unix://'.length);
    if (rest.startsWith('@')) {
      if (rest.length < 2) throw new RangeError('devnet: empty abstract socket name');
      return { kind: 'abstract', name: rest.slice(1) };
    }
    if (!rest.startsWith('/')) throw new RangeError(`devnet: unix socket path must be absolute: ${listen}`);
    return { kind: 'unix', path: rest };
  }
  const hostPort = listen.startsWith('tcp://') ? listen.slice('tcp://'.length) : listen;
  const m = /^(?:\[([^\]]+)\]|([^:/]*)):(\d{1,5})$/.exec(hostPort);
  if (!m) throw new RangeError(`devnet: cannot parse listen address ${JSON.stringify(listen)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`devnet: bad port in ${listen}`);
  return { kind: 'tcp', host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/**
 * Starts listening; resolves with the server and the address clients should dial. `allowedOrigins`
 * (normalised origins) applies to the WebSocket listener only.
 */
export async function listenOn(
  target: ListenTarget,
  onConnection: (stream: Duplex) => void,
  allowedOrigins: ReadonlySet<string> = new Set(),
): Promise<{ server: Server; address: string; config: Config }> {
  if (target.kind === 'ws') {
    const { server, address: origin } = await listenWebSocket(
      target.host,
      target.port,
      allowedOrigins,
      onConnection,
    );
    const address = `${origin}${target.path}`;
    return { server, address, config: { dial: { type: 'ws', address } } };
  }
  const server = createServer({ noDelay: true }, onConnection);
  if (target.kind === 'unix' && existsSync(target.path)) {
    // A stale socket from an earlier run; never remove anything that is not a socket.
    if (lstatSync(target.path).isSocket()) unlinkSync(target.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (target.kind === 'tcp') server.listen(target.port, target.host, done);
    else if (target.kind === 'unix') server.listen(target.path, done);
    else server.listen(`\0${target.name}`, done);
  });
  if (target.kind === 'tcp') {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : target.port;
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const address = `${host}:${port}`;
    return { server, address, config: { dial: { type: 'tcp', address, network: 'tcp' } } };
  }
  const address = target.kind === 'unix' ? target.path : `@${target.name}`;
  return { server, address, config: { dial: { type: 'unix', address } } };
}

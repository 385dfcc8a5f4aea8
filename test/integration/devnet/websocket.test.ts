/**
 * The devnet's WebSocket listener speaks as kpclientd's does: any path, the daemon's byte stream in
 * binary messages (each frame's length prefix, then its body), message boundaries ignored on the
 * way in, a text message refused with close code 1003. Unlike kpclientd it refuses web pages whose
 * Origin is not on its allow-list.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToToml, parseConfig } from '../../../src/config.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { parseListen } from '../../../src/devnet/listen.js';
import { encodeFrame, encodeRequest } from '../../../src/wire/index.js';
import { WsPeer } from '../../helpers/wsPeer.js';

const fast = { authorityScheme: 'Ed25519' as const };
const token = () => crypto.getRandomValues(new Uint8Array(16));
const sessionToken = () => encodeFrame(encodeRequest('session_token', { client_instance_token: token() }));
const pkiRequest = (id: number) =>
  encodeFrame(encodeRequest('get_pki_document', { query_id: new Uint8Array(16).fill(id), epoch: 0n }));

describe('parsing a ws:// listen address', () => {
  it('takes host and port, keeps a path, and binds loopback when the host is left out', () => {
    expect(parseListen('ws://127.0.0.1:0')).toEqual({ kind: 'ws', host: '127.0.0.1', port: 0, path: '' });
    expect(parseListen('ws://[::1]:8080/ws')).toEqual({ kind: 'ws', host: '::1', port: 8080, path: '/ws' });
    expect(parseListen('ws://:9000/')).toEqual({ kind: 'ws', host: '127.0.0.1', port: 9000, path: '' });
  });

  it.each([
    ['wss://127.0.0.1:1', 'devnet: wss:// needs TLS, which the devnet does not serve; listen on ws://'],
    ['ws://127.0.0.1', 'devnet: a WebSocket listen address is ws://host:port[/path], got "ws://127.0.0.1"'],
    ['ws://h:70000', 'devnet: a WebSocket listen address is ws://host:port[/path], got "ws://h:70000"'],
    ['ws://h:1/?q', 'devnet: a WebSocket listen address is ws://host:port[/path], got "ws://h:1/?q"'],
  ])('refuses %s', (listen, message) => {
    expect(() => parseListen(listen)).toThrow(new RangeError(message));
  });

  it.each([['http://app.example/index.html'], ['app.example'], ['null'], ['http://user@app.example']])(
    'refuses the allowed origin %s',
    async (origin) => {
      await expect(
        startDevnet({ ...fast, listen: 'ws://127.0.0.1:0', allowedOrigins: [origin] }),
      ).rejects.toThrow(
        new RangeError(
          `devnet: an allowed origin must be scheme://host[:port] and nothing more, got ${JSON.stringify(origin)}`,
        ),
      );
    },
  );
});

describe('the devnet on ws://', () => {
  let net: Devnet;
  beforeAll(async () => {
    net = await startDevnet({
      ...fast,
      listen: 'ws://127.0.0.1:0',
      allowedOrigins: ['http://app.example:8080'],
    });
  });
  afterAll(() => net?.stop());

  it('reports its ws:// URL as address and a [Dial.Ws] config that round-trips through TOML', () => {
    expect(net.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(net.thinClientConfig).toEqual({ dial: { type: 'ws', address: net.address } });
    expect(configToToml(net.thinClientConfig)).toContain('[Dial.Ws]');
    expect(parseConfig(configToToml(net.thinClientConfig))).toEqual(net.thinClientConfig);
  });

  it('writes each frame as two binary messages: the 4-byte length prefix, then the body', async () => {
    const peer = await WsPeer.open(net.address);
    try {
      peer.send(sessionToken());
      await peer.frame('session_token_reply');
      expect(peer.frames.map((f) => f.key)).toEqual([
        'connection_status_event',
        'new_pki_document_event',
        'session_token_reply',
      ]);
      expect(peer.messages).toHaveLength(6);
      for (let i = 0; i < peer.messages.length; i += 2) {
        const [prefix, body] = [peer.messages[i]!, peer.messages[i + 1]!];
        expect(prefix.binary && body.binary).toBe(true);
        expect(prefix.bytes.byteLength).toBe(4);
        expect(new DataView(prefix.bytes.buffer, prefix.bytes.byteOffset).getUint32(0)).toBe(
          body.bytes.byteLength,
        );
      }
    } finally {
      peer.close();
    }
  });

  it.each(['/', '/ws', '/any/path?x=1'])('answers on the path %s', async (path) => {
    const peer = await WsPeer.open(`${net.address}${path}`);
    try {
      await peer.frame('connection_status_event');
    } finally {
      peer.close();
    }
  });

  it('reads a stream cut anywhere: a prefix split over messages, byte-sized messages, two frames in one', async () => {
    const peer = await WsPeer.open(net.address);
    try {
      const first = sessionToken();
      peer.send(first.subarray(0, 2));
      peer.send(first.subarray(2, 5));
      for (let i = 5; i < first.byteLength; i++) peer.send(first.subarray(i, i + 1));
      await peer.frame('session_token_reply');
      const both = new Uint8Array([...pkiRequest(1), ...pkiRequest(2)]);
      peer.send(both);
      await peer.until(() => peer.frames.filter((f) => f.key === 'get_pki_document_reply').length === 2);
      const ids = peer.frames
        .filter((f) => f.key === 'get_pki_document_reply')
        .map((f) => (f as { body: { query_id?: Uint8Array } }).body.query_id?.[0]);
      expect(ids).toEqual([1, 2]);
    } finally {
      peer.close();
    }
  });

  it('closes the connection with code 1003 on a text message, as kpclientd does', async () => {
    const peer = await WsPeer.open(net.address);
    peer.send(new TextEncoder().encode('hello'), false);
    expect((await peer.closed).code).toBe(1003);
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(net.address.replace('ws://', 'http://'), (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
  });

  it('accepts a client that sends no Origin and a page from an allowed origin', async () => {
    for (const options of [
      {},
      { origin: 'http://app.example:8080' },
      { origin: 'HTTP://APP.EXAMPLE:8080' },
    ]) {
      const peer = await WsPeer.open(net.address, options);
      await peer.frame('connection_status_event');
      peer.close();
    }
  });

  it.each(['http://evil.example', 'http://app.example', 'https://app.example:8080', 'null'])(
    'refuses a page from %s with HTTP 403 before the upgrade',
    async (origin) => {
      await expect(WsPeer.open(net.address, { origin })).rejects.toThrow('Unexpected server response: 403');
    },
  );
});

describe('the devnet on ws:// without an allow-list', () => {
  it('refuses every request that carries an Origin, and serves those that carry none', async () => {
    const net = await startDevnet({ ...fast, listen: 'ws://127.0.0.1:0' });
    try {
      await expect(WsPeer.open(net.address, { origin: `http://127.0.0.1` })).rejects.toThrow(
        'Unexpected server response: 403',
      );
      const peer = await WsPeer.open(net.address);
      await peer.frame('connection_status_event');
      peer.close();
    } finally {
      await net.stop();
    }
  });
});

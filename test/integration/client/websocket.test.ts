/**
 * The client over WebSocket: the byte stream is reassembled whatever the message boundaries (a
 * prefix split over messages, byte-sized pieces, several frames in one message, text or binary),
 * writes leave as binary messages, one per tick, and dial failures and lost connections behave as
 * over the socket transports.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { browserDialer } from '../../../actors/dialers/browser.js';
import type { ByteStreamHandlers } from '../../../actors/dialers/byteStream.js';
import { nodeDialer } from '../../../actors/dialers/node.js';
import type { Config } from '../../../src/config.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { NotConnectedError } from '../../../src/errors.js';
import { ThinClient } from '../../../src/index.js';
import { FrameDecoder } from '../../../src/wire/index.js';

const fast = { authorityScheme: 'Ed25519' as const, profile: 'instant' as const };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** How a proxy re-cuts each direction of the stream. */
type Cut = 'split' | 'coalesce';

/** Cuts every message into pieces of 1, 2, 3, 5 and 1000 bytes in turn. */
function split(bytes: Uint8Array): Uint8Array[] {
  const sizes = [1, 2, 3, 5, 1000];
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/**
 * A WebSocket proxy in front of the devnet that re-cuts the stream both ways: `split`, or
 * `coalesce` (every whole frame that arrived by the next macrotask goes on as one message).
 */
async function rechunkingProxy(upstream: string, cut: Cut) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const stats = { toClient: 0, maxFramesInOneMessage: 0 };
  server.on('connection', (client) => {
    const daemon = new WebSocket(upstream, { perMessageDeflate: false });
    const early: Buffer[] = [];
    const pipe = (to: WebSocket, count: boolean) => {
      const decoder = new FrameDecoder();
      let held: Uint8Array[] = [];
      const send = (message: Uint8Array) => {
        if (to.readyState !== WebSocket.OPEN) return;
        to.send(message, { binary: true });
        if (count) stats.toClient++;
      };
      return (data: Buffer) => {
        if (cut === 'split') {
          for (const piece of split(new Uint8Array(data))) send(piece);
          return;
        }
        const { frames } = decoder.feed(new Uint8Array(data));
        if (frames.length === 0) return;
        if (held.length === 0) {
          setImmediate(() => {
            const frames = held;
            held = [];
            if (count) stats.maxFramesInOneMessage = Math.max(stats.maxFramesInOneMessage, frames.length);
            send(Buffer.concat(frames.map(framed)));
          });
        }
        held.push(...frames);
      };
    };
    const toDaemon = pipe(daemon, false);
    client.on('message', (data: Buffer) =>
      daemon.readyState === WebSocket.OPEN ? toDaemon(data) : early.push(data),
    );
    daemon.on('open', () => {
      for (const data of early.splice(0)) toDaemon(data);
    });
    daemon.on('message', pipe(client, true));
    daemon.on('close', () => client.close());
    client.on('close', () => daemon.close());
    daemon.on('error', () => client.terminate());
  });
  const { port } = server.address() as AddressInfo;
  const config: Config = { dial: { type: 'ws', address: `ws://127.0.0.1:${port}` } };
  return { config, stats, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function framed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

/** Writes `text` to a fresh channel and reads it back. */
async function roundTrip(client: ThinClient, text: string): Promise<string> {
  const kp = await client.newKeypair(new Uint8Array(randomBytes(32)));
  const w = await client.encryptWrite(enc.encode(text), kp.writeCap, kp.firstMessageIndex);
  await client.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w });
  const r = await client.encryptRead(kp.readCap, kp.firstMessageIndex);
  const got = await client.startResendingEncryptedMessage({
    readCap: kp.readCap,
    messageBoxIndex: kp.firstMessageIndex,
    ...r,
  });
  return dec.decode(got.plaintext);
}

describe('a client whose WebSocket stream is cut differently from the frames', () => {
  let net: Devnet;
  beforeAll(async () => {
    net = await startDevnet({ ...fast, listen: 'ws://127.0.0.1:0' });
  });
  afterAll(() => net?.stop());

  it('connects and round-trips a message when every message is cut into pieces of 1 to 1000 bytes', async () => {
    const proxy = await rechunkingProxy(net.address, 'split');
    const client = await ThinClient.connect(proxy.config);
    try {
      expect(await roundTrip(client, 'cut into pieces')).toBe('cut into pieces');
      // Far more messages than frames reached the client: prefixes and bodies were cut.
      expect(proxy.stats.toClient).toBeGreaterThan(20);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('connects and round-trips a message when several frames arrive in one message', async () => {
    const proxy = await rechunkingProxy(net.address, 'coalesce');
    const client = await ThinClient.connect(proxy.config);
    try {
      expect(await roundTrip(client, 'frames together')).toBe('frames together');
      expect(proxy.stats.maxFramesInOneMessage).toBeGreaterThanOrEqual(2);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('the WebSocket dialer', () => {
  let server: WebSocketServer;
  let url: string;
  let onConnection: (ws: WebSocket) => void = () => {};
  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (ws) => onConnection(ws));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function recorder() {
    const seen = { data: [] as number[], errors: [] as string[], opened: 0, closes: 0 };
    let resolveClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      resolveClosed = resolve;
    });
    const handlers: ByteStreamHandlers = {
      onOpen: () => void seen.opened++,
      onData: (chunk) => void seen.data.push(...chunk),
      onError: (error) => void seen.errors.push(error.message),
      onClose: () => {
        seen.closes++;
        resolveClosed();
      },
    };
    return { seen, handlers, closed };
  }

  it('takes text and binary messages alike as the next bytes of the stream, and a normal close as no error', async () => {
    onConnection = (ws) => {
      ws.send('ab');
      ws.send(Buffer.from('c'), { binary: true });
      ws.send('d');
      ws.close(1000);
    };
    const r = recorder();
    nodeDialer({ type: 'ws', address: url }, r.handlers);
    await r.closed;
    expect(r.seen).toEqual({ data: [...enc.encode('abcd')], errors: [], opened: 1, closes: 1 });
  });

  it('sends binary messages only, everything written in one tick as one message', async () => {
    const received: { bytes: number[]; binary: boolean }[] = [];
    const gotTwo = new Promise<void>((resolve) => {
      onConnection = (ws) =>
        ws.on('message', (data: Buffer, binary: boolean) => {
          received.push({ bytes: [...data], binary });
          if (received.length === 2) resolve();
        });
    });
    const r = recorder();
    let stream: ReturnType<typeof nodeDialer> | undefined;
    r.handlers.onOpen = () => {
      stream!.write(Uint8Array.of(1, 2));
      stream!.write(Uint8Array.of(3));
      stream!.write(Uint8Array.of(4, 5));
      setImmediate(() => stream!.write(Uint8Array.of(6)));
    };
    stream = nodeDialer({ type: 'ws', address: url }, r.handlers);
    await gotTwo;
    stream.destroy();
    await r.closed;
    expect(received).toEqual([
      { bytes: [1, 2, 3, 4, 5], binary: true },
      { bytes: [6], binary: true },
    ]);
  });

  it('reports a close with an error code as an error, once, before the close', async () => {
    onConnection = (ws) => ws.close(1011, 'boom');
    const r = recorder();
    nodeDialer({ type: 'ws', address: url }, r.handlers);
    await r.closed;
    expect(r.seen).toEqual({
      data: [],
      errors: ['the WebSocket closed with code 1011: boom'],
      opened: 1,
      closes: 1,
    });
  });
});

describe('the browser dialer', () => {
  it('dials through globalThis.WebSocket and refuses unix and TCP targets', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    server.on('connection', (ws) => {
      ws.send(Buffer.from('hi'), { binary: true });
      ws.close(1000);
    });
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    let opened = 0;
    Object.defineProperty(globalThis, 'WebSocket', {
      configurable: true,
      value: class extends WebSocket {
        constructor(url: string) {
          super(url);
          opened++;
        }
      },
    });
    try {
      const data: number[] = [];
      await new Promise<void>((resolve, reject) => {
        browserDialer(
          { type: 'ws', address: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` },
          { onOpen: () => {}, onData: (c) => void data.push(...c), onError: reject, onClose: resolve },
        );
      });
      expect({ opened, data: dec.decode(Uint8Array.from(data)) }).toEqual({ opened: 1, data: 'hi' });
      const handlers = { onOpen() {}, onData() {}, onError() {}, onClose() {} };
      expect(() => browserDialer({ type: 'tcp', address: '127.0.0.1:1' }, handlers)).toThrow(
        'a browser can dial only [Dial.Ws] (a ws:// or wss:// URL), not tcp',
      );
    } finally {
      if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
      else delete (globalThis as { WebSocket?: unknown }).WebSocket;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('dial failures and lost connections over ws://', () => {
  it('rejects connect to a closed port with the same NotConnectedError as over TCP', async () => {
    const spare = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => spare.once('listening', () => resolve()));
    const { port } = spare.address() as AddressInfo;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const options = { reconnect: { maxAttempts: 1, initialDelayMs: 1, jitter: 0 } };
    const failures = [];
    for (const config of [
      { dial: { type: 'ws', address: `ws://127.0.0.1:${port}` } },
      { dial: { type: 'tcp', address: `127.0.0.1:${port}` } },
    ] as const) {
      const error = await ThinClient.connect(config, options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NotConnectedError);
      failures.push((error as Error).message.replace(config.dial.address, 'ADDRESS'));
    }
    expect(failures[0]).toBe(
      `cannot connect to kpclientd at ADDRESS: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(failures[0]).toBe(failures[1]);
  });

  it('redials after the daemon drops the connection and resumes the session, which then works', async () => {
    const net = await startDevnet({ ...fast, listen: 'ws://127.0.0.1:0' });
    const client = await ThinClient.connect(net.thinClientConfig, {
      reconnect: { initialDelayMs: 1, jitter: 0 },
    });
    try {
      const lost = new Promise<{ isGraceful: boolean }>((resolve) =>
        client.on('daemonDisconnected', resolve),
      );
      const back = new Promise<{ resumed: boolean }>((resolve) => client.on('daemonConnected', resolve));
      net.dropConnections();
      expect((await lost).isGraceful).toBe(false);
      expect((await back).resumed).toBe(true);
      expect(await roundTrip(client, 'after the drop')).toBe('after the drop');
    } finally {
      await client.close();
      await net.stop();
    }
  });
});

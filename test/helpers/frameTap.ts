/**
 * A TCP relay between a client and its daemon that notes every frame, in both directions, with the
 * time it passed: for reading, after a run, when each request was sent and when its reply came
 * (by query id). It decodes frames only to name them; the bytes pass through unchanged.
 */
import net from 'node:net';
import type { Config } from '../../src/config.js';
import { hex } from '../../src/protocol/index.js';
import { FrameDecoder } from '../../src/wire/frame.js';
import { decodeRequest, decodeResponse } from '../../src/wire/messages.js';
import { dialOptions } from './frameSocket.js';

/** One frame seen by the tap. */
export interface TappedFrame {
  /** performance.now() when the frame was complete at the tap. */
  t: number;
  /** Date.now() at the same moment (to line up with a daemon's log). */
  wall: number;
  /** 'out': client to daemon; 'in': daemon to client. */
  dir: 'out' | 'in';
  key: string;
  /** query_id in hex, when the frame has one. */
  queryId?: string;
  /** envelope_hash in hex (first 8 digits), when the frame has one. */
  envelope?: string;
  errorCode?: number;
}

export interface FrameTap {
  /** A config that dials the tap instead of the daemon. */
  readonly config: Config;
  readonly frames: TappedFrame[];
  close(): Promise<void>;
}

function describe(dir: 'out' | 'in', body: Uint8Array): TappedFrame {
  const t = performance.now();
  const wall = Date.now();
  try {
    const m = dir === 'out' ? decodeRequest(body) : decodeResponse(body);
    if (m.key === 'unknown') return { t, wall, dir, key: 'unknown' };
    const b = m.body as { query_id?: Uint8Array; envelope_hash?: Uint8Array; error_code?: number };
    return {
      t,
      wall,
      dir,
      key: m.key,
      ...(b.query_id ? { queryId: hex(b.query_id) } : {}),
      ...(b.envelope_hash ? { envelope: hex(b.envelope_hash).slice(0, 8) } : {}),
      ...(b.error_code !== undefined ? { errorCode: b.error_code } : {}),
    };
  } catch {
    return { t, wall, dir, key: 'undecodable' };
  }
}

/** Starts a tap in front of the daemon `config` dials (TCP or unix); the tap listens on 127.0.0.1. */
export async function startFrameTap(config: Config): Promise<FrameTap> {
  const frames: TappedFrame[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const daemon = net.connect(dialOptions(config));
    sockets.add(client).add(daemon);
    const relay = (from: net.Socket, to: net.Socket, dir: 'out' | 'in') => {
      const decoder = new FrameDecoder();
      from.on('data', (chunk: Buffer) => {
        to.write(chunk);
        try {
          for (const body of decoder.push(new Uint8Array(chunk))) frames.push(describe(dir, body));
        } catch {
          frames.push({ t: performance.now(), wall: Date.now(), dir, key: 'broken-stream' });
        }
      });
      from.on('close', () => to.destroy());
      from.on('error', () => {});
    };
    relay(client, daemon, 'out');
    relay(daemon, client, 'in');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    config: { ...config, dial: { type: 'tcp', address: `127.0.0.1:${port}` } } as Config,
    frames,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The devnet's connection limits, one behaviour each, over real sockets and on a VirtualClock (the
 * timeouts fire when the test moves time, never by waiting): the connection limit, the handshake
 * and partial-frame timeouts, the shared buffer budget, and slow readers.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConnectionLimits, type Devnet, startDevnet, VirtualClock } from '../../src/devnet/index.js';
import { encodeFrame, encodeRequest, MAX_FRAME_SIZE } from '../../src/wire/index.js';
import { dialOptions } from '../helpers/frameSocket.js';

interface Peer {
  socket: Socket;
  received: number;
  closed: Promise<void>;
  isClosed: () => boolean;
}

let net: Devnet | undefined;
let clock: VirtualClock;
const peers: Peer[] = [];

async function devnet(limits: Partial<ConnectionLimits>, listen = 'tcp://127.0.0.1:0'): Promise<Devnet> {
  clock = new VirtualClock();
  net = await startDevnet({
    listen,
    profile: 'instant',
    authorityScheme: 'Ed25519',
    seed: 'limits',
    clock,
    limits,
  });
  return net;
}

function open(n: Devnet): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect(dialOptions(n.thinClientConfig) as never);
    let closed = false;
    const peer: Peer = {
      socket,
      received: 0,
      closed: new Promise((r) => socket.once('close', () => r())),
      isClosed: () => closed,
    };
    socket.on('close', () => {
      closed = true;
    });
    socket.on('data', (chunk: Buffer) => {
      peer.received += chunk.length;
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      peers.push(peer);
      resolve(peer);
    });
    socket.once('error', reject);
  });
}

/** Lets socket I/O settle without moving the virtual clock. */
const settle = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const sessionToken = () =>
  encodeFrame(
    encodeRequest('session_token', { client_instance_token: crypto.getRandomValues(new Uint8Array(16)) }),
  );

afterEach(async () => {
  for (const p of peers.splice(0)) p.socket.destroy();
  await net?.stop();
  net = undefined;
});

describe('devnet connection limits', () => {
  it('closes a connection beyond maxConnections at once and admits one again after a close', async () => {
    const n = await devnet({ maxConnections: 3 });
    const first = [await open(n), await open(n), await open(n)];
    const extra = await open(n);
    await extra.closed;
    expect(extra.received).toBe(0);
    expect(n.stats().connections.dropped.overLimit).toBe(1);
    expect(first.some((p) => p.isClosed())).toBe(false);
    first[0]!.socket.destroy();
    await first[0]!.closed;
    await settle();
    const again = await open(n);
    await settle();
    expect(again.isClosed()).toBe(false);
    expect(again.received).toBeGreaterThan(0);
    expect(n.stats().connections.open).toBe(3);
  });

  it('closes a connection that sends no complete frame within the handshake timeout', async () => {
    const n = await devnet({ handshakeTimeoutMs: 5_000, partialFrameTimeoutMs: 60_000 });
    const idle = await open(n);
    const greeted = await open(n);
    greeted.socket.write(sessionToken());
    await settle();
    await clock.advance(4_999);
    expect(idle.isClosed()).toBe(false);
    await clock.advance(1);
    await idle.closed;
    await settle();
    expect(greeted.isClosed()).toBe(false);
    expect(n.stats().connections.dropped.handshakeTimeout).toBe(1);
  });

  it('closes a connection whose frame is not complete within the partial-frame timeout, counted from its first byte', async () => {
    const n = await devnet({ partialFrameTimeoutMs: 10_000, handshakeTimeoutMs: 1e9 });
    const token = sessionToken();
    const slow = await open(n);
    const patient = await open(n);
    // Byte at a time: 6 s for the first half, then the rest arrives in time on `patient` only.
    for (const p of [slow, patient]) p.socket.write(token.subarray(0, 5));
    await settle();
    await clock.advance(6_000);
    patient.socket.write(token.subarray(5));
    slow.socket.write(token.subarray(5, 6));
    await settle();
    await clock.advance(3_999);
    expect(slow.isClosed()).toBe(false);
    await clock.advance(1);
    await slow.closed;
    await settle();
    expect(patient.isClosed()).toBe(false);
    // A complete frame stops the clock: the patient connection outlives many timeouts.
    await clock.advance(50_000);
    expect(patient.isClosed()).toBe(false);
    expect(n.stats().connections.dropped.partialFrameTimeout).toBe(1);
  });

  it('refuses a length prefix over 40 MiB at once, buffering nothing', async () => {
    const n = await devnet({});
    const p = await open(n);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(MAX_FRAME_SIZE + 1);
    p.socket.write(prefix);
    await p.closed;
    expect(n.stats().connections.peakBufferedBytes).toBeLessThanOrEqual(4);
  });

  it('keeps every partial frame together within maxBufferedBytes, closing the socket that would exceed it', async () => {
    const budget = MAX_FRAME_SIZE + 4;
    const n = await devnet({ maxBufferedBytes: budget, partialFrameTimeoutMs: 1e9 });
    const big = Buffer.alloc(4 + 30 * 1024 * 1024);
    big.writeUInt32BE(39 * 1024 * 1024);
    const a = await open(n);
    await new Promise<void>((r) => a.socket.write(big, () => r()));
    await settle(50);
    const b = await open(n);
    b.socket.write(big);
    await b.closed;
    await settle();
    const s = n.stats().connections;
    expect(a.isClosed()).toBe(false);
    expect(s.dropped.overBudget).toBe(1);
    expect(s.peakBufferedBytes).toBeLessThanOrEqual(budget);
    a.socket.destroy();
    await a.closed;
    await settle();
    expect(n.stats().connections.bufferedBytes).toBe(0);
  });

  it('disconnects a reader that lets more than maxOutboundBytes of replies pile up', async () => {
    const n = await devnet({ maxOutboundBytes: 256 * 1024, outboundHighWaterBytes: 128 * 1024 * 1024 });
    const p = await open(n);
    p.socket.write(sessionToken());
    await settle();
    p.socket.pause();
    const request = encodeFrame(encodeRequest('get_pki_document', { query_id: new Uint8Array(16) }));
    for (let i = 0; i < 4000 && !p.isClosed(); i++) {
      p.socket.write(request);
      if (i % 100 === 0) await settle(2);
    }
    await p.closed;
    expect(n.stats().connections.dropped.slowReader).toBe(1);
  });

  it('stops reading a reader that takes no replies, then disconnects it after the write-stall timeout', async () => {
    const n = await devnet({ writeStallTimeoutMs: 60_000, outboundHighWaterBytes: 64 * 1024 });
    const p = await open(n);
    p.socket.write(sessionToken());
    await settle();
    p.socket.pause();
    const request = encodeFrame(encodeRequest('get_pki_document', { query_id: new Uint8Array(16) }));
    // Far more replies than the kernel's socket buffers hold; the devnet stops reading on its own.
    for (let i = 0; i < 4000; i++) {
      p.socket.write(request);
      if (i % 100 === 0) await settle(2);
    }
    while (n.stats().connections.readPaused === 0) await new Promise((r) => setTimeout(r, 5));
    expect(n.stats().connections.bufferedBytes).toBeLessThanOrEqual(MAX_FRAME_SIZE);
    expect(n.stats().connections.dropped.writeStall).toBe(0);
    // The clock restarts whenever the kernel still took bytes; a few timeouts later nothing moves.
    const dropped = () => n.stats().connections.dropped.writeStall === 1;
    expect(await clock.advanceUntil(dropped, 60_000, 600_000)).toBe(true);
    p.socket.resume();
    await p.closed;
    expect(n.stats().connections.readPaused).toBe(0);
  });

  it('rejects a bad limit with a RangeError naming it', async () => {
    await expect(startDevnet({ limits: { maxConnections: 0 } })).rejects.toThrow(
      'devnet: limits.maxConnections must be a positive integer or Infinity, got 0',
    );
  });
});

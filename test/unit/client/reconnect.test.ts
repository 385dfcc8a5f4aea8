import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLostError } from '../../../src/errors.js';
import { cleanup, connectionState, nextEvent, redial, setup, track, until, writeParams } from './harness.js';

afterEach(cleanup);

const HANDSHAKE_TIMEOUT = 123_456;

describe('redial after a lost connection', () => {
  it('redials after initialDelayMs and not before', async () => {
    const h = await setup();
    h.daemon.current.drop();
    await until(() => connectionState(h.client) === 'backoff');
    h.clock.increment(999);
    expect(connectionState(h.client)).toBe('backoff');
    expect(h.daemon.connections).toHaveLength(1);
    h.clock.increment(1);
    expect(connectionState(h.client)).toEqual({ online: { connecting: 'dialing' } });
    await h.daemon.handshake(2);
    await until(() => h.client.isConnected());
  });

  it('doubles the delay after each failed redial, up to maxDelayMs, and resets once connected', async () => {
    const h = await setup(
      {},
      { reconnect: { initialDelayMs: 1000, maxDelayMs: 5000 }, handshakeTimeoutMs: HANDSHAKE_TIMEOUT },
    );
    await h.daemon.pause(); // nothing listens: every redial is refused
    h.daemon.current.drop();
    const backoffs = () => h.clock.delays.filter((d) => d !== HANDSHAKE_TIMEOUT);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await until(() => connectionState(h.client) === 'backoff' && backoffs().length === attempt);
      h.clock.increment(backoffs().at(-1)!);
    }
    await until(() => connectionState(h.client) === 'backoff' && backoffs().length === 6);
    expect(backoffs()).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
    await h.daemon.resume();
    h.clock.increment(5000);
    await h.daemon.handshake(2);
    await until(() => h.client.isConnected());
    h.daemon.current.drop();
    await until(() => connectionState(h.client) === 'backoff' && backoffs().length === 7);
    expect(backoffs().at(-1)).toBe(1000);
  });

  it('spreads the delay by ±jitter', async () => {
    const { reconnectDelay } = await import('../../../machines/connection.js');
    const policy = {
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      factor: 2,
      jitter: 0.2,
      maxAttempts: Infinity,
    };
    expect(reconnectDelay(policy, 1, 0)).toBe(800);
    expect(reconnectDelay(policy, 1, 0.5)).toBe(1000);
    expect(reconnectDelay(policy, 1, 0.999999)).toBe(1200);
    expect(reconnectDelay(policy, 3, 0.5)).toBe(4000);
    expect(reconnectDelay(policy, 30, 0.5)).toBe(60_000);
  });

  it('gives up after maxAttempts: in-flight operations reject with ConnectionLostError', async () => {
    const h = await setup({}, { reconnect: { maxAttempts: 2 }, handshakeTimeoutMs: HANDSHAKE_TIMEOUT });
    const op = track(h.client.startResendingEncryptedMessage(writeParams()));
    await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.pause();
    h.daemon.current.drop();
    for (let i = 0; i < 2; i++) {
      await until(() => connectionState(h.client) === 'backoff');
      h.clock.increment(60_000);
    }
    await until(() => op.state !== 'pending');
    expect(op.error).toBeInstanceOf(ConnectionLostError);
    expect(h.client.actorRef.getSnapshot().status).toBe('done');
    await h.daemon.resume();
  });
});

describe('daemonDisconnected', () => {
  it('is graceful when a shutdown_event preceded the close', async () => {
    const h = await setup();
    const shutdown = nextEvent(h.client, 'shutdown');
    const lost = nextEvent(h.client, 'daemonDisconnected');
    h.daemon.current.shutdown();
    await shutdown;
    const ev = await lost;
    expect(ev.isGraceful).toBe(true);
    expect(ev.error).toBeUndefined();
    await redial(h, 2);
  });

  it('is not graceful when the socket just closes, and carries a ConnectionLostError', async () => {
    const h = await setup();
    const lost = nextEvent(h.client, 'daemonDisconnected');
    h.daemon.current.drop();
    const ev = await lost;
    expect(ev.isGraceful).toBe(false);
    expect(ev.error).toBeInstanceOf(ConnectionLostError);
  });

  it('a graceful flag does not leak into the next connection', async () => {
    const h = await setup();
    h.daemon.current.shutdown();
    await redial(h, 2);
    const lost = nextEvent(h.client, 'daemonDisconnected');
    h.daemon.current.drop();
    expect((await lost).isGraceful).toBe(false);
  });
});

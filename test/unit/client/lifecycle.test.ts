import { afterEach, describe, expect, it } from 'vitest';
import { ClientClosedError, ConnectionLostError, NotConnectedError } from '../../../src/errors.js';
import { bytes, cleanup, connectionState, readParams, setup, track, until, writeParams } from './harness.js';

afterEach(cleanup);

describe('close and disconnect', () => {
  it('close sends thin_close and rejects every pending call with ClientClosedError', async () => {
    const h = await setup();
    const conn = h.daemon.current;
    const op = track(h.client.startResendingEncryptedMessage(readParams()));
    const local = track(h.client.newKeypair(bytes(32)));
    const blocking = track(h.client.blockingSendMessage(bytes(4), bytes(32), bytes(5)));
    await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.nextRequest('new_keypair');
    await h.daemon.nextRequest('send_message');
    const events = h.client.events();
    await h.client.close();
    for (const call of [op, local, blocking]) {
      expect(call.state).toBe('rejected');
      expect(call.error).toBeInstanceOf(ClientClosedError);
    }
    await h.daemon.nextRequest('thin_close');
    await conn.closedPromise;
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(h.client.actorRef.getSnapshot().status).toBe('done');
  });

  it('calls after close reject with ClientClosedError; close is idempotent', async () => {
    const h = await setup();
    await h.client.close();
    await h.client.close();
    await expect(h.client.newKeypair(bytes(32))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(h.client.startResendingEncryptedMessage(writeParams())).rejects.toBeInstanceOf(
      ClientClosedError,
    );
    expect(h.client.isConnected()).toBe(false);
  });

  it('close while redialling ends at once, without a socket to say goodbye on', async () => {
    const h = await setup();
    h.daemon.current.drop();
    await until(() => connectionState(h.client) === 'backoff');
    await h.client.close();
    expect(h.client.actorRef.getSnapshot().status).toBe('done');
  });

  it('disconnect drops the socket without thin_close; the session resumes on reconnect', async () => {
    const h = await setup();
    const conn = h.daemon.current;
    const write = track(h.client.startResendingEncryptedMessage(writeParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const local = track(h.client.nextMessageBoxIndex(bytes(104)));
    await h.daemon.nextRequest('next_message_box_index');
    await h.client.disconnect();
    await conn.closedPromise;
    expect(conn.requests.map((r) => r.key)).not.toContain('thin_close');
    expect(h.client.isDaemonConnected()).toBe(false);
    await until(() => local.state !== 'pending');
    expect(local.error).toBeInstanceOf(ConnectionLostError);
    expect(write.state).toBe('pending');
    await expect(h.client.newKeypair(bytes(32))).rejects.toBeInstanceOf(NotConnectedError);
    // No automatic redial after a requested disconnect.
    h.clock.increment(120_000);
    expect(connectionState(h.client)).toBe('disconnected');
    await h.client.reconnect();
    const resumed = await h.daemon.handshake(2);
    expect(resumed.requests.some((r) => r.key === 'start_resending_encrypted_message')).toBe(false);
    resumed.reply(original, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await write.promise;
  });
});

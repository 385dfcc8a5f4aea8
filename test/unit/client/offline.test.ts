import { afterEach, describe, expect, it } from 'vitest';
import { BoxAlreadyExistsError, NotConnectedError } from '../../../src/errors.js';
import { OfflineQueue, type QueuedEnvelope, type SendOutcome } from '../../../src/offlineQueue.js';
import {
  bytes,
  cleanup,
  nextEvent,
  redial,
  replyKeypair,
  setup,
  track,
  until,
  writeParams,
} from './harness.js';

afterEach(cleanup);

const encryptWriteReply = {
  key: 'encrypt_write_reply' as const,
  body: {
    message_ciphertext: bytes(300, 1),
    envelope_descriptor: bytes(40, 1),
    envelope_hash: bytes(32, 1),
    next_message_box_index: bytes(104, 2),
    error_code: 0,
  },
};

describe('preparing operations offline', () => {
  it('local requests work while the daemon has no mixnet; network requests fail at once with NotConnectedError', async () => {
    const h = await setup({
      mixnetConnected: false,
      autoReply: (r) => (r.key === 'encrypt_write' ? encryptWriteReply : undefined),
    });
    expect(h.client.isConnected()).toBe(false);
    expect(h.client.isDaemonConnected()).toBe(true);
    const w = await h.client.encryptWrite(bytes(10), bytes(168), bytes(104));
    expect(w.nextMessageBoxIndex).toEqual(bytes(104, 2));
    const d = [bytes(32), bytes(5)] as const;
    await expect(
      h.client.startResendingEncryptedMessage({ writeCap: bytes(168), ...w }),
    ).rejects.toBeInstanceOf(NotConnectedError);
    await expect(h.client.startResendingCopyCommand(bytes(168))).rejects.toBeInstanceOf(NotConnectedError);
    await expect(h.client.sendMessage(bytes(16), bytes(3), ...d)).rejects.toBeInstanceOf(NotConnectedError);
    await expect(h.client.sendMessageWithoutReply(bytes(3), ...d)).rejects.toBeInstanceOf(NotConnectedError);
    await expect(h.client.blockingSendMessage(bytes(3), ...d)).rejects.toBeInstanceOf(NotConnectedError);
    expect(h.daemon.requests.map((r) => r.key)).toEqual(['session_token', 'encrypt_write']);
  });

  it('with failFast, every request fails at once with NotConnectedError while the client redials', async () => {
    const h = await setup({}, { failFast: true });
    h.daemon.current.drop();
    await until(() => !h.client.isDaemonConnected());
    await expect(h.client.newKeypair(bytes(32))).rejects.toBeInstanceOf(NotConnectedError);
    await expect(h.client.startResendingEncryptedMessage(writeParams())).rejects.toBeInstanceOf(
      NotConnectedError,
    );
  });

  it('without failFast, requests made while the client redials wait and go out once it is back', async () => {
    const h = await setup();
    h.daemon.current.drop();
    await until(() => !h.client.isDaemonConnected());
    const local = track(h.client.newKeypair(bytes(32)));
    const write = track(h.client.startResendingEncryptedMessage(writeParams()));
    expect(h.client.stats().waiting).toBe(2);
    await redial(h, 2);
    const keypair = await h.daemon.nextRequest('new_keypair');
    replyKeypair(keypair);
    const op = await h.daemon.nextRequest('start_resending_encrypted_message');
    op.conn.reply(op, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await local.promise;
    await write.promise;
    expect(h.client.stats()).toMatchObject({ requests: 0, operations: 0, waiting: 0 });
  });

  it('a request waiting for the connection rejects with TimeoutError at its deadline', async () => {
    const h = await setup({}, { requestTimeoutMs: 5000 });
    h.daemon.current.drop();
    await until(() => !h.client.isDaemonConnected());
    const local = h.client.nextMessageBoxIndex(bytes(104)).catch((e: unknown) => e);
    h.clock.increment(5000);
    expect(((await local) as Error).name).toBe('TimeoutError');
  });

  it('beyond queueLimit, a request made while the client redials fails at once', async () => {
    const h = await setup({}, { queueLimit: 1 });
    h.daemon.current.drop();
    await until(() => !h.client.isDaemonConnected());
    const first = track(h.client.nextMessageBoxIndex(bytes(104)));
    await expect(h.client.nextMessageBoxIndex(bytes(104))).rejects.toBeInstanceOf(NotConnectedError);
    expect(first.state).toBe('pending');
  });

  it('the daemon losing its mixnet link makes blockingSendMessage fail with ConnectionLostError', async () => {
    const h = await setup();
    const reply = h.client.blockingSendMessage(bytes(3), bytes(32), bytes(5));
    await h.daemon.nextRequest('send_message');
    h.daemon.setMixnetConnected(false);
    await expect(reply).rejects.toMatchObject({ code: 'ERR_CONNECTION_LOST' });
  });
});

describe('OfflineQueue', () => {
  it('holds envelopes while offline and sends them, in order, when the daemon reports a mixnet connection', async () => {
    const h = await setup({ mixnetConnected: false });
    const settled: Array<[QueuedEnvelope, SendOutcome]> = [];
    const queue = new OfflineQueue(h.client, { onSettled: (item, outcome) => settled.push([item, outcome]) });
    await queue.enqueue(writeParams(1));
    await queue.enqueue(writeParams(2));
    expect(await queue.size()).toBe(2);
    expect(h.daemon.requests.some((r) => r.key === 'start_resending_encrypted_message')).toBe(false);
    const status = nextEvent(h.client, 'connectionStatus', (e) => e.isConnected);
    h.daemon.setMixnetConnected(true);
    await status;
    const first = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect((first.body.envelope_hash as Uint8Array)[0]).toBe(1);
    first.conn.reply(first, 'start_resending_encrypted_message_reply', { error_code: 0 });
    const second = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect((second.body.envelope_hash as Uint8Array)[0]).toBe(2);
    second.conn.reply(second, 'start_resending_encrypted_message_reply', { error_code: 10 });
    await until(() => settled.length === 2);
    expect(settled[0]![1].ok).toBe(true);
    expect(settled[1]![1]).toMatchObject({ ok: false });
    expect((settled[1]![1] as { error: unknown }).error).toBeInstanceOf(BoxAlreadyExistsError);
    expect(await queue.size()).toBe(0);
    queue.stop();
  });

  it('keeps what it could not send when the connection goes away mid-flush, in a pluggable store', async () => {
    const h = await setup();
    const stored = new Map<string, QueuedEnvelope>();
    const queue = new OfflineQueue(h.client, {
      autoFlush: false,
      storage: {
        load: async () => [...stored.values()],
        put: async (item) => void stored.set(item.id, item),
        delete: async (id) => void stored.delete(id),
      },
    });
    await queue.enqueue(writeParams(1));
    const flushing = queue.flush();
    await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.client.close();
    expect(await flushing).toEqual({ sent: 0, failed: 0, remaining: 1 });
    expect(stored.size).toBe(1);
  });
});

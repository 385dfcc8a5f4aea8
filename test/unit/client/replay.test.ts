import { afterEach, describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { bytes, cleanup, hex, nextEvent, readParams, redial, setup, track, writeParams } from './harness.js';

afterEach(cleanup);

/** Proves no replay went out on `conn`: a later request is the first thing the daemon sees there. */
async function firstRequestAfterHandshake(h: Awaited<ReturnType<typeof setup>>) {
  const conn = h.daemon.current;
  const probe = h.client.nextMessageBoxIndex(bytes(104, 3));
  const seen = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
  if (seen.key === 'next_message_box_index')
    seen.conn.reply(seen, 'next_message_box_index_reply', {
      next_message_box_index: bytes(104, 4),
      error_code: 0,
    });
  await probe.catch(() => {});
  return seen;
}

describe('instance token and replay of in-flight operations', () => {
  it('a new instance token replays an in-flight read byte-for-byte with the same query_id', async () => {
    const h = await setup();
    const read = track(h.client.startResendingEncryptedMessage(readParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const connected = nextEvent(h.client, 'daemonConnected');
    await h.daemon.restart();
    await redial(h, 2);
    const replayed = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect(replayed.conn).toBe(h.daemon.current);
    expect(hex(replayed.bytes)).toBe(hex(original.bytes));
    expect(hex(replayed.body.query_id as Uint8Array)).toBe(hex(original.body.query_id as Uint8Array));
    const ev = await connected;
    expect(ev.resumed).toBe(false);
    expect(ev.replayed).toBe(1);
    expect(read.state).toBe('pending');
    replayed.conn.reply(replayed, 'start_resending_encrypted_message_reply', {
      plaintext: bytes(7, 5),
      error_code: 0,
    });
    await expect(read.promise).resolves.toMatchObject({ plaintext: bytes(7, 5) });
  });

  it('a new instance token replays an in-flight copy command byte-for-byte', async () => {
    const h = await setup();
    const tempWriteCap = bytes(168, 8);
    const copy = track(h.client.startResendingCopyCommand(tempWriteCap));
    const original = await h.daemon.nextRequest('start_resending_copy_command');
    await h.daemon.restart();
    await redial(h, 2);
    const replayed = await h.daemon.nextRequest('start_resending_copy_command');
    expect(hex(replayed.bytes)).toBe(hex(original.bytes));
    replayed.conn.reply(replayed, 'start_resending_copy_command_reply', { error_code: 0 });
    await expect(copy.promise).resolves.toBeUndefined();
  });

  it('the same instance with a resumed session resyncs: a cancel, then the start again byte-for-byte', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const connected = nextEvent(h.client, 'daemonConnected');
    h.daemon.current.drop();
    await redial(h, 2);
    expect(await connected).toMatchObject({ resumed: true, replayed: 0 });
    const conn = h.daemon.current;
    const first = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(first.key).toBe('cancel_resending_encrypted_message');
    expect(hex(first.body.envelope_hash as Uint8Array)).toBe(hex(original.body.envelope_hash as Uint8Array));
    // kpclientd still held the wedged operation: code 24 to the original, then the cancel's reply.
    conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    conn.reply(first, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    const again = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(again.key).toBe('start_resending_encrypted_message');
    expect(hex(again.bytes)).toBe(hex(original.bytes));
    expect(write.state).toBe('pending');
    conn.reply(again, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await expect(write.promise).resolves.toMatchObject({ plaintext: new Uint8Array(0) });
  });

  it('a resync whose cancel finds nothing at the daemon (only the cancel reply) re-sends a copy command', async () => {
    const h = await setup();
    const tempWriteCap = bytes(168, 9);
    const copy = track(h.client.startResendingCopyCommand(tempWriteCap));
    const original = await h.daemon.nextRequest('start_resending_copy_command');
    h.daemon.current.drop();
    await redial(h, 2);
    const conn = h.daemon.current;
    const cancel = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(cancel.key).toBe('cancel_resending_copy_command');
    expect(hex(cancel.body.write_cap_hash as Uint8Array)).toBe(hex(blake2b256(tempWriteCap)));
    conn.reply(cancel, 'cancel_resending_copy_command_reply', { error_code: 0 });
    const again = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(hex(again.bytes)).toBe(hex(original.bytes));
    conn.reply(again, 'start_resending_copy_command_reply', { error_code: 0 });
    await expect(copy.promise).resolves.toBeUndefined();
  });

  it('a real reply arriving before the resync cancel is answered completes the operation; nothing is re-sent', async () => {
    const h = await setup();
    const read = track(h.client.startResendingEncryptedMessage(readParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    h.daemon.current.drop();
    await redial(h, 2);
    const conn = h.daemon.current;
    const cancel = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(cancel.key).toBe('cancel_resending_encrypted_message');
    conn.reply(original, 'start_resending_encrypted_message_reply', {
      plaintext: bytes(5, 6),
      error_code: 0,
    });
    conn.reply(cancel, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await expect(read.promise).resolves.toMatchObject({ plaintext: bytes(5, 6) });
    const next = await firstRequestAfterHandshake(h);
    expect(next.key).toBe('next_message_box_index');
  });

  it('the link dropping again mid-resync resyncs again on the next session, and the start goes once', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams(4)));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    h.daemon.current.drop();
    await redial(h, 2);
    const firstCancel = await h.daemon.nextRequest(
      (r) => r.conn === h.daemon.current && r.key === 'cancel_resending_encrypted_message',
    );
    // Unanswered: the socket goes again.
    firstCancel.conn.drop();
    await redial(h, 3);
    const conn = h.daemon.current;
    const cancel = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(cancel.key).toBe('cancel_resending_encrypted_message');
    conn.reply(cancel, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    const again = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(hex(again.bytes)).toBe(hex(original.bytes));
    conn.reply(again, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await write.promise;
    const next = await firstRequestAfterHandshake(h);
    expect(next.key).toBe('next_message_box_index');
  });

  it('a cancel by the caller during a resync ends the operation as cancelled, with no re-send', async () => {
    const h = await setup();
    const params = writeParams(5);
    const write = track(h.client.startResendingEncryptedMessage(params));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    h.daemon.current.drop();
    await redial(h, 2);
    const conn = h.daemon.current;
    const resync = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    const cancelled = h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    const mine = await h.daemon.nextRequest(
      (r) => r.conn === conn && r.key === 'cancel_resending_encrypted_message',
    );
    conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    conn.reply(resync, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    conn.reply(mine, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await cancelled;
    await expect(write.promise).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    const next = await firstRequestAfterHandshake(h);
    expect(next.key).toBe('next_message_box_index');
  });

  it('a new instance token replays verbatim and sends no cancel', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams(6)));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.restart();
    await redial(h, 2);
    const conn = h.daemon.current;
    const first = await h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
    expect(first.key).toBe('start_resending_encrypted_message');
    expect(hex(first.bytes)).toBe(hex(original.bytes));
    conn.reply(first, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await write.promise;
    const next = await firstRequestAfterHandshake(h);
    expect(next.key).toBe('next_message_box_index');
  });

  it('the same instance token without a resumed session (the grace period ran out) replays', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.restart({ sameToken: true });
    await redial(h, 2);
    const replayed = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect(hex(replayed.bytes)).toBe(hex(original.bytes));
    replayed.conn.reply(replayed, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await write.promise;
  });

  it('replays every in-flight operation, and only the ones still in flight', async () => {
    const h = await setup();
    const a = track(h.client.startResendingEncryptedMessage(writeParams(1)));
    const b = track(h.client.startResendingEncryptedMessage(writeParams(2)));
    const c = track(h.client.startResendingCopyCommand(bytes(168, 3)));
    const ra = await h.daemon.nextRequest(
      (r) => r.key === 'start_resending_encrypted_message' && (r.body.envelope_hash as Uint8Array)[0] === 1,
    );
    await h.daemon.nextRequest(
      (r) => r.key === 'start_resending_encrypted_message' && (r.body.envelope_hash as Uint8Array)[0] === 2,
    );
    await h.daemon.nextRequest('start_resending_copy_command');
    ra.conn.reply(ra, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await a.promise;
    await h.daemon.restart();
    await redial(h, 2);
    const replays = [
      await h.daemon.nextRequest((r) => r.conn === h.daemon.current && r.key.startsWith('start_resending')),
      await h.daemon.nextRequest((r) => r.conn === h.daemon.current && r.key.startsWith('start_resending')),
    ];
    expect(replays.map((r) => r.key).sort()).toEqual([
      'start_resending_copy_command',
      'start_resending_encrypted_message',
    ]);
    const first = await firstRequestAfterHandshake(h);
    expect(first.key).toBe('next_message_box_index');
    for (const r of replays) r.conn.reply(r, `${r.key}_reply` as never, { error_code: 0 });
    await b.promise;
    await c.promise;
  });

  it('a replayed copy command keeps its cancel key: BLAKE2b-256 of the temporary write cap', async () => {
    const h = await setup();
    const tempWriteCap = bytes(168, 6);
    const copy = track(h.client.startResendingCopyCommand(tempWriteCap));
    await h.daemon.nextRequest('start_resending_copy_command');
    await h.daemon.restart();
    await redial(h, 2);
    const replayed = await h.daemon.nextRequest('start_resending_copy_command');
    const cancel = h.client.cancelResendingCopyCommand(blake2b256(tempWriteCap));
    const req = await h.daemon.nextRequest('cancel_resending_copy_command');
    expect(hex(req.body.write_cap_hash as Uint8Array)).toBe(hex(blake2b256(tempWriteCap)));
    req.conn.reply(replayed, 'start_resending_copy_command_reply', { error_code: 24 });
    req.conn.reply(req, 'cancel_resending_copy_command_reply', { error_code: 0 });
    await cancel;
    await expect(copy.promise).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
  });
});

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

  it('the same instance token with a resumed session does not replay; the reply still arrives', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const connected = nextEvent(h.client, 'daemonConnected');
    h.daemon.current.drop();
    await redial(h, 2);
    expect(await connected).toMatchObject({ resumed: true, replayed: 0 });
    const first = await firstRequestAfterHandshake(h);
    expect(first.key).toBe('next_message_box_index');
    h.daemon.current.reply(original, 'start_resending_encrypted_message_reply', { error_code: 0 });
    await expect(write.promise).resolves.toMatchObject({ plaintext: new Uint8Array(0) });
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

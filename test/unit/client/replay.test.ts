import { afterEach, describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import type { ReceivedRequest } from '../../helpers/scriptedDaemon.js';
import {
  bytes,
  cleanup,
  connectionState,
  type Harness,
  hex,
  nextEvent,
  readParams,
  redial,
  setup,
  track,
  until,
  writeParams,
} from './harness.js';

afterEach(cleanup);

/** The next request on the current connection after its session_token. */
function nextOnCurrent(h: Harness) {
  const conn = h.daemon.current;
  return h.daemon.nextRequest((r) => r.conn === conn && r.key !== 'session_token');
}

/** Drops the socket (the daemon instance stays, so the session resumes) and redials: the new connection. */
async function dropAndResume(h: Harness, attempt = 2) {
  h.daemon.current.drop();
  await redial(h, attempt);
  return h.daemon.current;
}

/** The next request on the current connection is `original` again, byte for byte; its reply ends the operation, and nothing more is sent. */
async function expectSentAgainOnce(h: Harness, original: ReceivedRequest, operation: Promise<unknown>) {
  const again = await nextOnCurrent(h);
  expect(hex(again.bytes)).toBe(hex(original.bytes));
  again.conn.reply(again, `${original.key}_reply` as never, { error_code: 0 });
  await operation;
  await expectNothingMoreSent(h);
}

/** Proves nothing more (no replay, no re-send) went out on the current connection: a later request is the next thing the daemon sees there. */
async function expectNothingMoreSent(h: Harness) {
  const probe = h.client.nextMessageBoxIndex(bytes(104, 3));
  const seen = await nextOnCurrent(h);
  if (seen.key === 'next_message_box_index')
    seen.conn.reply(seen, 'next_message_box_index_reply', {
      next_message_box_index: bytes(104, 4),
      error_code: 0,
    });
  await probe.catch(() => {});
  expect(seen.key).toBe('next_message_box_index');
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
    const conn = await dropAndResume(h);
    expect(await connected).toMatchObject({ resumed: true, replayed: 0 });
    const first = await nextOnCurrent(h);
    expect(first.key).toBe('cancel_resending_encrypted_message');
    expect(hex(first.body.envelope_hash as Uint8Array)).toBe(hex(original.body.envelope_hash as Uint8Array));
    // kpclientd still held the wedged operation: code 24 to the original, then the cancel's reply.
    conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    conn.reply(first, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    const again = await nextOnCurrent(h);
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
    const conn = await dropAndResume(h);
    const cancel = await nextOnCurrent(h);
    expect(cancel.key).toBe('cancel_resending_copy_command');
    expect(hex(cancel.body.write_cap_hash as Uint8Array)).toBe(hex(blake2b256(tempWriteCap)));
    conn.reply(cancel, 'cancel_resending_copy_command_reply', { error_code: 0 });
    const again = await nextOnCurrent(h);
    expect(hex(again.bytes)).toBe(hex(original.bytes));
    conn.reply(again, 'start_resending_copy_command_reply', { error_code: 0 });
    await expect(copy.promise).resolves.toBeUndefined();
  });

  it('a real reply arriving before the resync cancel is answered completes the operation; nothing is re-sent', async () => {
    const h = await setup();
    const read = track(h.client.startResendingEncryptedMessage(readParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const conn = await dropAndResume(h);
    const cancel = await nextOnCurrent(h);
    expect(cancel.key).toBe('cancel_resending_encrypted_message');
    conn.reply(original, 'start_resending_encrypted_message_reply', {
      plaintext: bytes(5, 6),
      error_code: 0,
    });
    conn.reply(cancel, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await expect(read.promise).resolves.toMatchObject({ plaintext: bytes(5, 6) });
    await expectNothingMoreSent(h);
  });

  it('the link dropping again mid-resync resyncs again on the next session, and the start goes once', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams(4)));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    await dropAndResume(h);
    expect((await nextOnCurrent(h)).key).toBe('cancel_resending_encrypted_message');
    // Unanswered: the socket goes again.
    const conn = await dropAndResume(h, 3);
    const cancel = await nextOnCurrent(h);
    expect(cancel.key).toBe('cancel_resending_encrypted_message');
    conn.reply(cancel, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await expectSentAgainOnce(h, original, write.promise);
  });

  it('a cancel by the caller during a resync ends the operation as cancelled, with no re-send', async () => {
    const h = await setup();
    const params = writeParams(5);
    const write = track(h.client.startResendingEncryptedMessage(params));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const conn = await dropAndResume(h);
    const resync = await nextOnCurrent(h);
    const cancelled = h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    const mine = await h.daemon.nextRequest(
      (r) => r.conn === conn && r.key === 'cancel_resending_encrypted_message',
    );
    conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    conn.reply(resync, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    conn.reply(mine, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await cancelled;
    await expect(write.promise).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    await expectNothingMoreSent(h);
  });

  it('a cancel made while the socket was down settles at once and reaches the daemon when the same session resumes', async () => {
    const h = await setup();
    const params = readParams(7);
    const read = track(h.client.startResendingEncryptedMessage(params));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    h.daemon.current.drop();
    await until(() => connectionState(h.client) === 'backoff');
    await h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    await expect(read.promise).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    await redial(h, 2);
    const conn = h.daemon.current;
    const cancel = await nextOnCurrent(h);
    expect(cancel.key).toBe('cancel_resending_encrypted_message');
    expect(hex(cancel.body.envelope_hash as Uint8Array)).toBe(hex(params.envelopeHash));
    conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    conn.reply(cancel, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await expectNothingMoreSent(h);
  });

  it('a cancel made while the socket was down is not sent to a new daemon instance', async () => {
    const h = await setup();
    const params = writeParams(8);
    const write = track(h.client.startResendingEncryptedMessage(params));
    await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.restart();
    await until(() => connectionState(h.client) === 'backoff');
    await h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    await expect(write.promise).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    await redial(h, 2);
    await expectNothingMoreSent(h);
  });

  it('a new instance token replays verbatim and sends no cancel', async () => {
    const h = await setup();
    const write = track(h.client.startResendingEncryptedMessage(writeParams(6)));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.restart();
    await redial(h, 2);
    await expectSentAgainOnce(h, original, write.promise);
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
    await expectNothingMoreSent(h);
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

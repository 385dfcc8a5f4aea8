import { afterEach, describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { OperationCancelledError } from '../../../src/errors.js';
import { bytes, cleanup, hex, readParams, redial, setup, track, until, writeParams } from './harness.js';

afterEach(cleanup);

const opCount = (h: Awaited<ReturnType<typeof setup>>) => h.client.stats().operations;

describe('cancelling in-flight operations', () => {
  it('the daemon answers the original with code 24, then the cancel: both calls settle', async () => {
    const h = await setup();
    const params = readParams();
    const read = track(h.client.startResendingEncryptedMessage(params));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const cancel = track(h.client.cancelResendingEncryptedMessage(params.envelopeHash));
    const req = await h.daemon.nextRequest('cancel_resending_encrypted_message');
    expect(hex(req.body.envelope_hash as Uint8Array)).toBe(hex(params.envelopeHash));
    expect(hex(req.body.query_id as Uint8Array)).not.toBe(hex(original.body.query_id as Uint8Array));
    req.conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    req.conn.reply(req, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await expect(read.promise).rejects.toBeInstanceOf(OperationCancelledError);
    await expect(cancel.promise).resolves.toBeUndefined();
    expect(opCount(h)).toBe(0);
  });

  it('a cancel reply with no code-24 reply (nothing live at the daemon) still ends the operation', async () => {
    const h = await setup();
    const params = writeParams();
    const write = track(h.client.startResendingEncryptedMessage(params));
    await h.daemon.nextRequest('start_resending_encrypted_message');
    const cancel = h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    const req = await h.daemon.nextRequest('cancel_resending_encrypted_message');
    req.conn.reply(req, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await cancel;
    await expect(write.promise).rejects.toBeInstanceOf(OperationCancelledError);
  });

  it('an operation that finished before the cancel arrived keeps its result', async () => {
    const h = await setup();
    const params = readParams();
    const read = track(h.client.startResendingEncryptedMessage(params));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const cancel = h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    const req = await h.daemon.nextRequest('cancel_resending_encrypted_message');
    req.conn.reply(original, 'start_resending_encrypted_message_reply', {
      plaintext: bytes(3, 1),
      error_code: 0,
    });
    req.conn.reply(req, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await cancel;
    await expect(read.promise).resolves.toMatchObject({ plaintext: bytes(3, 1) });
  });

  it('an AbortSignal cancels at the daemon and rejects with signal.reason', async () => {
    const h = await setup();
    const controller = new AbortController();
    const params = readParams();
    const read = track(h.client.startResendingEncryptedMessage(params, { signal: controller.signal }));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    const reason = new Error('user gave up');
    controller.abort(reason);
    await until(() => read.state !== 'pending');
    expect(read.error).toBe(reason);
    const req = await h.daemon.nextRequest('cancel_resending_encrypted_message');
    expect(hex(req.body.envelope_hash as Uint8Array)).toBe(hex(params.envelopeHash));
    req.conn.reply(original, 'start_resending_encrypted_message_reply', { error_code: 24 });
    req.conn.reply(req, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await until(() => opCount(h) === 0);
  });

  it('an AbortSignal cancels a copy command by the hash of its temporary write cap', async () => {
    const h = await setup();
    const controller = new AbortController();
    const cap = bytes(168, 4);
    const copy = track(h.client.startResendingCopyCommand(cap, { signal: controller.signal }));
    await h.daemon.nextRequest('start_resending_copy_command');
    controller.abort();
    await until(() => copy.state !== 'pending');
    expect((copy.error as DOMException).name).toBe('AbortError');
    const req = await h.daemon.nextRequest('cancel_resending_copy_command');
    expect(hex(req.body.write_cap_hash as Uint8Array)).toBe(hex(blake2b256(cap)));
  });

  it('an already-aborted signal rejects before anything is sent', async () => {
    const h = await setup();
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(
      h.client.startResendingEncryptedMessage(readParams(), { signal: controller.signal }),
    ).rejects.toThrow('early');
    await expect(h.client.newKeypair(bytes(32), { signal: controller.signal })).rejects.toThrow('early');
    const first = h.client.nextMessageBoxIndex(bytes(104));
    const seen = await h.daemon.nextRequest((r) => r.key !== 'session_token');
    expect(seen.key).toBe('next_message_box_index');
    seen.conn.reply(seen, 'next_message_box_index_reply', {
      next_message_box_index: bytes(104, 1),
      error_code: 0,
    });
    await first;
  });

  it('cancel while disconnected only drops local tracking, and the operation is not replayed', async () => {
    const h = await setup();
    const params = writeParams();
    const write = track(h.client.startResendingEncryptedMessage(params));
    await h.daemon.nextRequest('start_resending_encrypted_message');
    await h.daemon.restart(); // new instance token: an in-flight operation would be replayed
    await until(() => !h.client.isDaemonConnected());
    await h.client.cancelResendingEncryptedMessage(params.envelopeHash);
    await expect(write.promise).rejects.toBeInstanceOf(OperationCancelledError);
    expect(opCount(h)).toBe(0);
    await redial(h, 2);
    const probe = h.client.nextMessageBoxIndex(bytes(104));
    const seen = await h.daemon.nextRequest((r) => r.conn === h.daemon.current && r.key !== 'session_token');
    expect(seen.key).toBe('next_message_box_index');
    expect(h.daemon.requests.filter((r) => r.key.startsWith('cancel_'))).toHaveLength(0);
    seen.conn.reply(seen, 'next_message_box_index_reply', {
      next_message_box_index: bytes(104, 1),
      error_code: 0,
    });
    await probe;
  });

  it('a cancel for an unknown operation is still sent and resolves', async () => {
    const h = await setup();
    const cancel = h.client.cancelResendingEncryptedMessage(bytes(32, 0xee));
    const req = await h.daemon.nextRequest('cancel_resending_encrypted_message');
    req.conn.reply(req, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    await expect(cancel).resolves.toBeUndefined();
  });
});

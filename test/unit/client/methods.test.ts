import { afterEach, describe, expect, it } from 'vitest';
import { buildPkiDocument, createDevnetNodeList } from '../../../src/devnet/pki/document.js';
import {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  CopyCommandFailedError,
  CourierError,
  DaemonError,
  isExpectedOutcome,
  OperationCancelledError,
  ReplicaError,
  ThinClientError,
  TombstoneError,
} from '../../../src/errors.js';
import type { ReceivedRequest } from '../../helpers/scriptedDaemon.js';
import { bytes, cleanup, hex, nextEvent, readParams, setup, writeParams } from './harness.js';

afterEach(cleanup);

const isPlainBytes = (b: unknown) => b instanceof Uint8Array && !Buffer.isBuffer(b);

describe('every method, over the socket', () => {
  it('newKeypair sends the seed and returns the caps and first index', async () => {
    const h = await setup({
      autoReply: () => ({
        key: 'new_keypair_reply',
        body: {
          write_cap: bytes(168, 1),
          read_cap: bytes(136, 2),
          first_message_index: bytes(104, 3),
          error_code: 0,
        },
      }),
    });
    const kp = await h.client.newKeypair(bytes(32, 9));
    expect(hex(h.daemon.requests[1]!.body.seed as Uint8Array)).toBe(hex(bytes(32, 9)));
    expect(kp).toEqual({ writeCap: bytes(168, 1), readCap: bytes(136, 2), firstMessageIndex: bytes(104, 3) });
    expect(isPlainBytes(kp.writeCap)).toBe(true);
  });

  it('encryptWrite and encryptRead return the envelope and the next index', async () => {
    const reply = {
      message_ciphertext: bytes(9, 1),
      envelope_descriptor: bytes(8, 2),
      envelope_hash: bytes(32, 3),
      next_message_box_index: bytes(104, 4),
      error_code: 0,
    };
    const h = await setup({
      autoReply: (r) =>
        r.key === 'encrypt_write'
          ? { key: 'encrypt_write_reply', body: reply }
          : { key: 'encrypt_read_reply', body: reply },
    });
    const expected = {
      messageCiphertext: bytes(9, 1),
      envelopeDescriptor: bytes(8, 2),
      envelopeHash: bytes(32, 3),
      nextMessageBoxIndex: bytes(104, 4),
    };
    expect(await h.client.encryptWrite(bytes(5, 7), bytes(168), bytes(104))).toEqual(expected);
    expect(await h.client.encryptRead(bytes(136), bytes(104))).toEqual(expected);
    const [, w, r] = h.daemon.requests;
    expect(w!.body).toMatchObject({
      plaintext: bytes(5, 7),
      write_cap: bytes(168),
      message_box_index: bytes(104),
    });
    expect(r!.body).toMatchObject({ read_cap: bytes(136), message_box_index: bytes(104) });
  });

  it('tombstoneRange is a loop of encryptWrite with an empty plaintext, advancing the index', async () => {
    let n = 0;
    const h = await setup({
      autoReply: (r) => {
        n++;
        const idx = r.body.message_box_index as Uint8Array;
        return {
          key: 'encrypt_write_reply',
          body: {
            message_ciphertext: bytes(9, n),
            envelope_descriptor: bytes(8, n),
            envelope_hash: bytes(32, n),
            next_message_box_index: bytes(104, idx[0]! + 1),
            error_code: 0,
          },
        };
      },
    });
    const result = await h.client.tombstoneRange(bytes(168), bytes(104, 10), 3);
    const writes = h.daemon.requests.filter((r) => r.key === 'encrypt_write');
    expect(writes).toHaveLength(3);
    for (const w of writes) expect(w.body.plaintext).toEqual(new Uint8Array(0));
    expect(writes.map((w) => (w.body.message_box_index as Uint8Array)[0])).toEqual([10, 11, 12]);
    expect(result.envelopes.map((e) => e.boxIndex[0])).toEqual([10, 11, 12]);
    expect(result.envelopes[2]!.envelopeHash).toEqual(bytes(32, 3));
    expect(result.next).toEqual(bytes(104, 13));
    expect(await h.client.tombstoneRange(bytes(168), bytes(104, 1), 0)).toEqual({
      envelopes: [],
      next: bytes(104, 1),
    });
  });

  it('nextMessageBoxIndex and getMessageBoxIndexCounter (a bigint)', async () => {
    const h = await setup({
      autoReply: (r) =>
        r.key === 'next_message_box_index'
          ? {
              key: 'next_message_box_index_reply',
              body: { next_message_box_index: bytes(104, 6), error_code: 0 },
            }
          : {
              key: 'get_message_box_index_counter_reply',
              body: { counter: 0xfedcba9876543210n, error_code: 0 },
            },
    });
    expect(await h.client.nextMessageBoxIndex(bytes(104))).toEqual(bytes(104, 6));
    expect(await h.client.getMessageBoxIndexCounter(bytes(104))).toBe(0xfedcba9876543210n);
  });

  it('the three courier-envelope builders', async () => {
    const h = await setup({
      autoReply: (r: ReceivedRequest) => {
        switch (r.key) {
          case 'create_courier_envelopes_from_payload':
            return {
              key: 'create_courier_envelopes_from_payload_reply',
              body: { envelopes: [bytes(3, 1), bytes(3, 2)], next_dest_index: bytes(104, 5), error_code: 0 },
            };
          case 'create_courier_envelopes_from_multi_payload':
            return {
              key: 'create_courier_envelopes_from_multi_payload_reply',
              body: {
                envelopes: [bytes(3, 1)],
                buffer: bytes(7, 7),
                next_dest_indices: [bytes(104, 1), bytes(104, 2)],
                error_code: 0,
              },
            };
          default:
            return {
              key: 'create_courier_envelopes_from_tombstone_range_reply',
              body: { envelopes: [bytes(3, 9)], next_dest_index: bytes(104, 8), error_code: 0 },
            };
        }
      },
    });
    const single = await h.client.createCourierEnvelopesFromPayload(
      bytes(10),
      bytes(168),
      bytes(104),
      true,
      false,
    );
    expect(single).toEqual({ envelopes: [bytes(3, 1), bytes(3, 2)], nextDestIndex: bytes(104, 5) });
    const multi = await h.client.createCourierEnvelopesFromMultiPayload(
      [
        { payload: bytes(2, 1), writeCap: bytes(168, 1), startIndex: bytes(104, 1) },
        { payload: bytes(2, 2), writeCap: bytes(168, 2), startIndex: bytes(104, 2) },
      ],
      false,
      false,
      bytes(4, 4),
    );
    expect(multi).toEqual({
      envelopes: [bytes(3, 1)],
      buffer: bytes(7, 7),
      nextDestIndices: [bytes(104, 1), bytes(104, 2)],
    });
    const tomb = await h.client.createCourierEnvelopesFromTombstoneRange(
      bytes(168),
      bytes(104),
      4,
      true,
      true,
      null,
    );
    expect(tomb).toEqual({
      envelopes: [bytes(3, 9)],
      buffer: new Uint8Array(0),
      nextDestIndex: bytes(104, 8),
    });
    const [, p, m, t] = h.daemon.requests;
    expect(p!.body).toMatchObject({ is_start: true, is_last: false, payload: bytes(10) });
    expect(m!.body).toMatchObject({ is_start: false, buffer: bytes(4, 4) });
    expect((m!.body.destinations as unknown[])[1]).toMatchObject({
      payload: bytes(2, 2),
      write_cap: bytes(168, 2),
      start_index: bytes(104, 2),
    });
    expect(t!.body).toMatchObject({ max_count: 4, is_start: true, is_last: true });
    expect(t!.body.buffer).toBeUndefined();
  });

  it('startResendingEncryptedMessage sends exactly the fields given and returns the plaintext and courier', async () => {
    const h = await setup();
    const read = h.client.startResendingEncryptedMessage({ ...readParams(), noRetryOnBoxIdNotFound: true });
    const req = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect(Object.keys(req.body).sort()).toEqual(
      [
        'envelope_descriptor',
        'envelope_hash',
        'message_box_index',
        'message_ciphertext',
        'no_retry_on_box_id_not_found',
        'query_id',
        'read_cap',
      ].sort(),
    );
    req.conn.reply(req, 'start_resending_encrypted_message_reply', {
      plaintext: bytes(4, 4),
      courier_identity_hash: bytes(32, 5),
      courier_queue_id: bytes(6, 6),
      error_code: 0,
    });
    expect(await read).toEqual({
      plaintext: bytes(4, 4),
      courierIdentityHash: bytes(32, 5),
      courierQueueId: bytes(6, 6),
    });
    const write = h.client.startResendingEncryptedMessage({
      ...writeParams(),
      noIdempotentBoxAlreadyExists: true,
    });
    const wreq = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect(wreq.body.no_idempotent_box_already_exists).toBe(true);
    expect(wreq.body.read_cap).toBeUndefined();
    wreq.conn.reply(wreq, 'start_resending_encrypted_message_reply', { error_code: 0 });
    expect((await write).plaintext).toEqual(new Uint8Array(0));
  });

  it('startResendingCopyCommand can pin a courier', async () => {
    const h = await setup();
    const copy = h.client.startResendingCopyCommand(bytes(168, 1), {
      courierIdentityHash: bytes(32, 2),
      courierQueueId: bytes(3, 3),
    });
    const req = await h.daemon.nextRequest('start_resending_copy_command');
    expect(req.body).toMatchObject({
      write_cap: bytes(168, 1),
      courier_identity_hash: bytes(32, 2),
      courier_queue_id: bytes(3, 3),
    });
    req.conn.reply(req, 'start_resending_copy_command_reply', { error_code: 0 });
    await copy;
  });

  it('getPkiDocumentRaw (bigint epoch) and getDirectoryAuthorities', async () => {
    const h = await setup({
      autoReply: (r) =>
        r.key === 'get_pki_document'
          ? { key: 'get_pki_document_reply', body: { payload: bytes(50, 5), epoch: 123456n, error_code: 0 } }
          : {
              key: 'get_directory_authorities_reply',
              body: {
                authorities: [
                  {
                    identifier: 'auth1',
                    pki_signature_scheme: 'Ed25519',
                    wire_kem_scheme: 'x',
                    addresses: ['tcp://127.0.0.1:1'],
                    identity_public_key_pem: 'PEM',
                    link_public_key_pem: 'LPEM',
                    identity_key_hash: bytes(32, 1),
                  },
                ],
                error_code: 0,
              },
            },
    });
    expect(await h.client.getPkiDocumentRaw()).toEqual({ payload: bytes(50, 5), epoch: 123456n });
    expect(h.daemon.requests[1]!.body.epoch).toBe(0n);
    await h.client.getPkiDocumentRaw(77n);
    expect(h.daemon.requests[2]!.body.epoch).toBe(77n);
    expect(await h.client.getDirectoryAuthorities()).toEqual([
      {
        identifier: 'auth1',
        pkiSignatureScheme: 'Ed25519',
        wireKemScheme: 'x',
        addresses: ['tcp://127.0.0.1:1'],
        identityPublicKeyPem: 'PEM',
        linkPublicKeyPem: 'LPEM',
        identityKeyHash: bytes(32, 1),
      },
    ]);
  });

  it('pkiDocument, getServices and getService read the document from the handshake and later events', async () => {
    const payload = buildPkiDocument({ epoch: 100n, ...createDevnetNodeList() });
    const h = await setup({ pkiPayload: payload });
    expect(h.client.pkiDocument()?.epoch).toBe(100n);
    expect(h.client.getServices('echo')).toHaveLength(3);
    const [node, queue] = h.client.getService('echo').toDestination();
    expect(node.length).toBe(32);
    expect(new TextDecoder().decode(queue)).toBe('+echo');
    expect(() => h.client.getService('nope')).toThrow(ThinClientError);
    const next = buildPkiDocument({ epoch: 101n, ...createDevnetNodeList({ services: 1 }) });
    const ev = nextEvent(h.client, 'newPkiDocument');
    h.daemon.current.send('new_pki_document_event', { payload: next });
    expect((await ev).document?.epoch).toBe(101n);
    expect(h.client.pkiDocument()?.epoch).toBe(101n);
    expect(h.client.getServices('echo')).toHaveLength(1);
  });

  it('sendMessage emits messageSent and messageReply events; blockingSendMessage resolves with the reply', async () => {
    const h = await setup();
    const surbId = bytes(16, 4);
    const sentEv = nextEvent(h.client, 'messageSent');
    const replyEv = nextEvent(h.client, 'messageReply');
    await h.client.sendMessage(surbId, bytes(3, 1), bytes(32), bytes(5));
    const req = await h.daemon.nextRequest('send_message');
    expect(req.body).toMatchObject({ with_surb: true, surbid: surbId, payload: bytes(3, 1) });
    // As the reference clients send it: kpclientd keys send_message by its SURB id, not a query id.
    expect(req.body.query_id).toBeUndefined();
    req.conn.send('message_sent_event', { surbid: surbId, sent_at: 1700000000n, reply_eta: 2_500_000_000n });
    req.conn.send('message_reply_event', { surbid: surbId, payload: bytes(3, 1), error_code: 0 });
    const sent = await sentEv;
    expect(sent.sentAt.getTime()).toBe(1700000000 * 1000);
    expect(sent.replyEtaMs).toBe(2500);
    expect((await replyEv).payload).toEqual(bytes(3, 1));

    await h.client.sendMessageWithoutReply(bytes(3, 2), bytes(32), bytes(5));
    const noReply = await h.daemon.nextRequest('send_message');
    expect(noReply.body.with_surb).toBe(false);
    expect(noReply.body.surbid).toBeUndefined();

    const blocking = h.client.blockingSendMessage(bytes(3, 3), bytes(32), bytes(5));
    const breq = await h.daemon.nextRequest('send_message');
    breq.conn.send('message_reply_event', { surbid: bytes(16, 0xaa), payload: bytes(1), error_code: 0 }); // someone else's
    breq.conn.send('message_reply_event', {
      surbid: breq.body.surbid as Uint8Array,
      payload: bytes(3, 3),
      error_code: 0,
    });
    expect(await blocking).toEqual(bytes(3, 3));
  });

  it('blockingSendMessage rejects with a TimeoutError after timeoutMs, and with signal.reason when aborted', async () => {
    const h = await setup();
    const settled = h.client
      .blockingSendMessage(bytes(3), bytes(32), bytes(5), { timeoutMs: 5000 })
      .catch((e: unknown) => e);
    await h.daemon.nextRequest('send_message');
    h.clock.increment(5000);
    const error = (await settled) as Error;
    expect(error.name).toBe('TimeoutError');
    expect(error).toBeInstanceOf(ThinClientError);
    const controller = new AbortController();
    const call = h.client.blockingSendMessage(bytes(3), bytes(32), bytes(5), { signal: controller.signal });
    controller.abort(new Error('enough'));
    await expect(call).rejects.toThrow('enough');
  });
});

describe('daemon error codes map to error classes', () => {
  const encrypted: Array<[number, new (...a: never[]) => Error, boolean]> = [
    [1, BoxIdNotFoundError, true],
    [10, BoxAlreadyExistsError, true],
    [11, TombstoneError, true],
    [24, OperationCancelledError, false],
    [2, ReplicaError, false],
    [3, DaemonError, false],
    [22, DaemonError, false],
    [31, CourierError, false],
  ];
  for (const [code, cls, expected] of encrypted) {
    it(`start_resending_encrypted_message code ${code} → ${cls.name}${expected ? ' (an expected outcome)' : ''}`, async () => {
      const h = await setup();
      const call = h.client.startResendingEncryptedMessage({ ...readParams(), noRetryOnBoxIdNotFound: true });
      const req = await h.daemon.nextRequest('start_resending_encrypted_message');
      req.conn.reply(req, 'start_resending_encrypted_message_reply', { error_code: code });
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(cls);
      expect(isExpectedOutcome(error)).toBe(expected);
      expect((error as ThinClientError).daemonCode).toBe(code);
    });
  }

  it('copy command code 26 → CopyCommandFailedError with the replica code and failed envelope index', async () => {
    const h = await setup();
    const call = h.client.startResendingCopyCommand(bytes(168));
    const req = await h.daemon.nextRequest('start_resending_copy_command');
    req.conn.reply(req, 'start_resending_copy_command_reply', {
      error_code: 26,
      replica_error_code: 10,
      failed_envelope_index: 3n,
    });
    const error = (await call.catch((e: unknown) => e)) as CopyCommandFailedError;
    expect(error).toBeInstanceOf(CopyCommandFailedError);
    expect(error.replicaErrorCode).toBe(10);
    expect(error.failedEnvelopeIndex).toBe(3n);
    expect(isExpectedOutcome(error)).toBe(false);
  });

  it('a local request with code 3 → DaemonError; get_pki_document code 10 → DaemonError 10', async () => {
    const h = await setup({
      autoReply: (r) =>
        r.key === 'new_keypair'
          ? { key: 'new_keypair_reply', body: { error_code: 3 } }
          : { key: 'get_pki_document_reply', body: { error_code: 10 } },
    });
    await expect(h.client.newKeypair(bytes(32))).rejects.toMatchObject({ daemonCode: 3, code: 'ERR_DAEMON' });
    await expect(h.client.getPkiDocumentRaw(5n)).rejects.toMatchObject({ daemonCode: 10 });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { encodeCbor } from '../../../src/wire/index.js';
import {
  bytes,
  cleanup,
  hex,
  nextEvent,
  readParams,
  redial,
  replyKeypair,
  setup,
  track,
  until,
} from './harness.js';

afterEach(cleanup);

const prefix = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
};

describe('frames the client cannot read', () => {
  const cases: Array<[string, (conn: import('../../helpers/scriptedDaemon.js').DaemonConnection) => void]> = [
    ['an oversize length prefix', (conn) => conn.sendRaw(prefix(40 * 1024 * 1024 + 1))],
    ['a zero-length frame', (conn) => conn.sendRaw(prefix(0))],
    ['garbage CBOR', (conn) => conn.sendBody(new Uint8Array([0xff, 0xfe, 0x1c]))],
    ['a CBOR item that is not a map', (conn) => conn.sendBody(encodeCbor([1, 2, 3]))],
    [
      'a reply with a wrongly typed field',
      (conn) =>
        conn.sendBody(encodeCbor({ new_keypair_reply: { query_id: 'text, not bytes', error_code: 0 } })),
    ],
  ];

  for (const [name, send] of cases) {
    it(`${name}: a ProtocolError event, the connection is redialled, the request in flight is re-sent`, async () => {
      const h = await setup();
      const local = track(h.client.newKeypair(bytes(32)));
      await h.daemon.nextRequest('new_keypair');
      const protocolError = nextEvent(h.client, 'protocolError');
      const lost = nextEvent(h.client, 'daemonDisconnected');
      send(h.daemon.current);
      expect((await protocolError).error).toBeInstanceOf(ProtocolError);
      const ev = await lost;
      expect(ev.isGraceful).toBe(false);
      expect(ev.error).toBeInstanceOf(ProtocolError);
      await redial(h, 2);
      // The local request in flight is sent again on the new connection, and answered there.
      const resent = await h.daemon.nextRequest('new_keypair');
      replyKeypair(resent);
      await until(() => local.state !== 'pending');
      expect(local.state).toBe('fulfilled');
      // The client works again.
      const again = h.client.nextMessageBoxIndex(bytes(104));
      const req = await h.daemon.nextRequest('next_message_box_index');
      req.conn.reply(req, 'next_message_box_index_reply', {
        next_message_box_index: bytes(104, 1),
        error_code: 0,
      });
      await expect(again).resolves.toEqual(bytes(104, 1));
    });
  }

  it('an in-flight operation is sent again after a protocol error, even to the same daemon instance', async () => {
    const h = await setup();
    const read = track(h.client.startResendingEncryptedMessage(readParams()));
    const original = await h.daemon.nextRequest('start_resending_encrypted_message');
    // The bad frame might have been this operation's reply.
    h.daemon.current.sendBody(new Uint8Array([0xff]));
    await redial(h, 2);
    // The same session on the same daemon: a resync (the daemon may still hold it), not a duplicate.
    const cancel = await h.daemon.nextRequest('cancel_resending_encrypted_message');
    cancel.conn.reply(cancel, 'cancel_resending_encrypted_message_reply', { error_code: 0 });
    const again = await h.daemon.nextRequest('start_resending_encrypted_message');
    expect(hex(again.bytes)).toBe(hex(original.bytes));
    again.conn.reply(again, 'start_resending_encrypted_message_reply', {
      plaintext: bytes(2, 2),
      error_code: 0,
    });
    await expect(read.promise).resolves.toMatchObject({ plaintext: bytes(2, 2) });
  });

  it('an unknown message is surfaced as {type: "unknown", raw} and the connection stays', async () => {
    const h = await setup();
    const unknown = nextEvent(h.client, 'unknown');
    h.daemon.current.sendBody(encodeCbor({ brand_new_event: { x: 1 } }));
    expect((await unknown).raw).toEqual({ brand_new_event: { x: 1 } });
    expect(h.client.isDaemonConnected()).toBe(true);
    expect(h.daemon.connections).toHaveLength(1);
  });

  it('a reply for a query id nobody waits for is ignored', async () => {
    const h = await setup();
    h.daemon.current.send('new_keypair_reply', { query_id: bytes(16, 0x55), error_code: 0 });
    const probe = h.client.nextMessageBoxIndex(bytes(104));
    const req = await h.daemon.nextRequest('next_message_box_index');
    req.conn.reply(req, 'next_message_box_index_reply', {
      next_message_box_index: bytes(104, 1),
      error_code: 0,
    });
    await probe;
    expect(h.client.isDaemonConnected()).toBe(true);
  });

  it('a reply of the wrong type for a pending query id rejects that call with ProtocolError', async () => {
    const h = await setup();
    const call = h.client.newKeypair(bytes(32));
    const req = await h.daemon.nextRequest('new_keypair');
    req.conn.reply(req, 'encrypt_read_reply', { error_code: 0 });
    await expect(call).rejects.toBeInstanceOf(ProtocolError);
  });

  it('a throwing event listener disturbs neither the client nor other listeners', async () => {
    const h = await setup();
    h.client.on('unknown', () => {
      throw new Error('listener bug');
    });
    const seen = nextEvent(h.client, 'unknown');
    h.daemon.current.sendBody(encodeCbor({ whatever: {} }));
    await seen;
    expect(h.client.isDaemonConnected()).toBe(true);
  });
});

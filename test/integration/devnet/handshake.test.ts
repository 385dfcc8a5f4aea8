/**
 * The daemon side of the socket protocol: handshake, sessions, request styles, malformed input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { decodePkiDocument } from '../../../src/pki/document.js';
import { verifyPkiDocument } from '../../../src/pki/verify.js';
import { encodeCbor } from '../../../src/wire/codec.js';
import { encodeFrame } from '../../../src/wire/frame.js';
import { encodeRequest } from '../../../src/wire/messages.js';
import { RESPONSE_KEYS } from '../../../src/wire/schema.js';
import { DOCKER_PIGEONHOLE_GEOMETRY } from '../../helpers/geometries.js';
import { queryId, RawClient, sameBytes } from './rawClient.js';

let net: Devnet;

beforeAll(async () => {
  // The default authority scheme (Falcon-padded-512-Ed25519), as a user gets it.
  net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', seed: 'handshake' });
});

afterAll(async () => {
  await net.stop();
});

describe('devnet handshake', () => {
  it('speaks first: connection_status_event with the geometries, then the stripped PKI document, then answers session_token', async () => {
    const client = await RawClient.connect(net.thinClientConfig);
    const first = await client.nextAny();
    expect(first.msg.key).toBe('connection_status_event');
    const status = (first.msg as { body: Record<string, unknown> }).body;
    expect(status.is_connected).toBe(true);
    expect(status.err).toBeUndefined(); // null on the wire: decoded as absent
    expect(status.instance_token).toEqual(net.instanceToken());
    expect((status.instance_token as Uint8Array).length).toBe(16);
    expect(Object.keys(status.sphinx_geometry as object)).toHaveLength(14);
    expect(status.pigeonhole_geometry).toEqual(DOCKER_PIGEONHOLE_GEOMETRY);
    // Go's Response map: 25 keys, `err` present and null.
    expect([...first.raw.subarray(0, 2)]).toEqual([0xb8, 0x19]);

    const pki = await client.next('new_pki_document_event');
    const doc = decodePkiDocument(pki.payload!);
    expect(doc.epoch).toBe(net.epoch());
    expect(doc.serviceNodes).toHaveLength(3);
    for (const node of doc.serviceNodes) {
      expect(node.kaetzchen?.get('echo')?.get('endpoint')).toBe('+echo');
      expect(node.kaetzchen?.get('courier')?.get('endpoint')).toBe('courier');
    }
    expect(doc.storageReplicas.map((r) => r.replicaId)).toEqual([0, 1, 2, 3, 4]);
    expect(doc.pkiSignatureScheme).toBe('Falcon-padded-512-Ed25519');

    client.send('session_token', { client_instance_token: new Uint8Array(16).fill(9) });
    const reply = await client.next('session_token_reply');
    expect(reply.app_id!.length).toBe(16);
    expect(reply.resumed).toBe(false);
    client.close();
  });

  it('answers Go-style requests (all 21 keys, nulls) and minimal ones alike, always with the 25-key Go response map', async () => {
    const { client } = await RawClient.session(net.thinClientConfig);
    const go = await client.call(
      'get_message_box_index_counter',
      { message_box_index: index104(7n) },
      'get_message_box_index_counter_reply',
      'go',
    );
    const minimal = await client.call(
      'get_message_box_index_counter',
      { message_box_index: index104(7n) },
      'get_message_box_index_counter_reply',
      'minimal',
    );
    expect(go.counter).toBe(7n);
    expect(minimal.counter).toBe(7n);
    for (const r of [go, minimal]) {
      expect([...r.raw.subarray(0, 2)]).toEqual([0xb8, 0x19]);
      expect(RESPONSE_KEYS).toHaveLength(25);
    }
    // Python sends explicit nulls inside the body; they are accepted as absent.
    const q = queryId();
    client.sendBytes(
      encodeFrame(
        encodeCbor({
          get_message_box_index_counter: { query_id: q, message_box_index: index104(9n), extra: null },
        }),
      ),
    );
    expect((await client.waitFor('get_message_box_index_counter_reply', q)).counter).toBe(9n);
    client.close();
  });

  it('resumes a session: the same client instance token gets the same AppID with resumed=true', async () => {
    const token = crypto.getRandomValues(new Uint8Array(16));
    const a = await RawClient.session(net.thinClientConfig, token);
    expect(a.resumed).toBe(false);
    a.client.close();
    await a.client.closed;
    const b = await RawClient.session(net.thinClientConfig, token);
    expect(b.resumed).toBe(true);
    expect(b.appId).toEqual(a.appId);
    expect(b.instanceToken).toEqual(a.instanceToken);
    b.client.close();
  });

  it('forgets a session after thin_close: the token then starts a fresh AppID', async () => {
    const token = crypto.getRandomValues(new Uint8Array(16));
    const a = await RawClient.session(net.thinClientConfig, token);
    a.client.send('thin_close', {});
    await a.client.closed;
    const b = await RawClient.session(net.thinClientConfig, token);
    expect(b.resumed).toBe(false);
    expect(b.appId).not.toEqual(a.appId);
    b.client.close();
  });

  it('ignores a request with no recognised key (no reply), and keeps answering later requests in order', async () => {
    const { client } = await RawClient.session(net.thinClientConfig);
    client.sendBytes(encodeFrame(encodeCbor({ write_stream: { query_id: queryId() } })));
    client.sendBytes(encodeFrame(encodeCbor({})));
    const r = await client.call('get_pki_document', { epoch: 0n }, 'get_pki_document_reply');
    expect(r.error_code).toBe(0);
    expect(client.pending()).toHaveLength(0);
    client.close();
  });

  it('drops only the offending connection on a malformed frame, and keeps serving everyone else', async () => {
    const bystander = await RawClient.session(net.thinClientConfig);
    const cases: Uint8Array[] = [
      encodeFrame(Uint8Array.of(0xff, 0x00)), // not CBOR
      encodeFrame(encodeCbor([1, 2, 3])), // not a map
      encodeFrame(encodeCbor({ new_keypair: { query_id: 'text, not bytes' } })), // type error
      encodeFrame(encodeCbor({ encrypt_read: { query_id: queryId(), read_cap: new Uint8Array(5) } })), // wrong cap length
      Uint8Array.of(0x03, 0x00, 0x00, 0x00), // 48 MiB length prefix
      Uint8Array.of(0, 0, 0, 0), // zero-length frame
    ];
    for (const bytes of cases) {
      const victim = await RawClient.session(net.thinClientConfig);
      victim.client.sendBytes(bytes);
      await victim.client.closed;
      expect(victim.client.isClosedNow).toBe(true);
    }
    const r = await bystander.client.call('get_pki_document', { epoch: 0n }, 'get_pki_document_reply');
    expect(r.error_code).toBe(0);
    // The devnet still accepts new connections.
    const late = await RawClient.session(net.thinClientConfig);
    expect(late.resumed).toBe(false);
    late.client.close();
    bystander.client.close();
  });

  it('handles requests sent in one burst, split across writes, or before the session token', async () => {
    const client = await RawClient.connect(net.thinClientConfig);
    const q = queryId();
    const frame = encodeFrame(
      encodeRequest('get_message_box_index_counter', { query_id: q, message_box_index: index104(1n) }),
    );
    client.sendBytes(frame.subarray(0, 3));
    client.sendBytes(frame.subarray(3, 50));
    client.sendBytes(frame.subarray(50));
    await client.next('connection_status_event');
    await client.next('new_pki_document_event');
    const r = await client.next('get_message_box_index_counter_reply');
    expect(sameBytes(r.query_id, q)).toBe(true);
    client.close();
  });

  it('serves a raw PKI document that verifies against net.authorities with the default threshold', async () => {
    const { client } = await RawClient.session(net.thinClientConfig);
    const r = await client.call('get_pki_document', { epoch: 0n }, 'get_pki_document_reply');
    expect(r.epoch).toBe(net.epoch());
    const certified = verifyPkiDocument(r.payload!, net.authorities);
    expect(decodePkiDocument(certified).epoch).toBe(net.epoch());
    client.close();
  });
});

function index104(counter: bigint): Uint8Array {
  const b = new Uint8Array(104);
  new DataView(b.buffer).setBigUint64(0, counter, true);
  return b;
}

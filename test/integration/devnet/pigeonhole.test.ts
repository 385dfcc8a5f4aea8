/**
 * Pigeonhole operations through the daemon's ARQ against the simulated network (instant profile).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxIdFor, signTombstone } from '../../../src/crypto/bacap.js';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { shardsFor } from '../../../src/devnet/network/directory.js';
import { decodePkiDocument } from '../../../src/pki/document.js';
import { encryptRead, encryptWrite, keypair, nextIndex, read, str, text, write } from './helpers.js';
import { queryId, RawClient, sameBytes } from './rawClient.js';

let net: Devnet;
let client: RawClient;

beforeAll(async () => {
  net = await startDevnet({ authorityScheme: 'Ed25519', seed: 'pigeonhole' });
  client = (await RawClient.session(net.thinClientConfig)).client;
});

afterAll(async () => {
  client.close();
  await net.stop();
});

describe('devnet Pigeonhole ARQ', () => {
  it('writes a box and reads back exactly the plaintext, naming the courier it used', async () => {
    const k = await keypair(client);
    const w = await write(client, k, k.first, text('hello, pigeonhole'));
    expect(w.error_code).toBe(0);
    expect(w.plaintext).toBeUndefined();
    const r = await read(client, k, k.first);
    expect(r.error_code).toBe(0);
    expect(str(r.plaintext)).toBe('hello, pigeonhole');
    const doc = decodePkiDocument(net.network.directory().stripped);
    const courierHashes = doc.serviceNodes.map((n) => blake2b256(n.identityKey));
    for (const reply of [w, r]) {
      expect(courierHashes.some((h) => sameBytes(h, reply.courier_identity_hash))).toBe(true);
      expect(str(reply.courier_queue_id)).toBe('courier');
    }
  });

  it('round-trips an empty-but-padded maximum: 1549 bytes in one box', async () => {
    const k = await keypair(client);
    const big = crypto.getRandomValues(new Uint8Array(1549));
    expect((await write(client, k, k.first, big)).error_code).toBe(0);
    expect((await read(client, k, k.first)).plaintext).toEqual(big);
  });

  it('returns BoxIDNotFound (1) at once for a missing box when asked not to retry', async () => {
    const k = await keypair(client);
    const r = await read(client, k, k.first, { noRetry: true });
    expect(r.error_code).toBe(1);
    expect(r.plaintext).toBeUndefined();
  });

  it('keeps polling a missing box by default until it is written', async () => {
    const k = await keypair(client);
    const index = await nextIndex(client, k.first);
    const pending = read(client, k, index);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    // Let it poll a few times first.
    const queries = net.stats().courierQueries;
    while (net.stats().courierQueries < queries + 4) await new Promise((r) => setTimeout(r, 1));
    expect(settled).toBe(false);
    const writer = (await RawClient.session(net.thinClientConfig)).client;
    expect((await write(writer, k, index, text('late arrival'))).error_code).toBe(0);
    const r = await pending;
    expect(r.error_code).toBe(0);
    expect(str(r.plaintext)).toBe('late arrival');
    writer.close();
  });

  it('treats BoxAlreadyExists as success by default, returns 10 with no_idempotent_box_already_exists, and accepts an identical rewrite', async () => {
    const k = await keypair(client);
    expect((await write(client, k, k.first, text('original'))).error_code).toBe(0);
    expect((await write(client, k, k.first, text('conflicting'))).error_code).toBe(0);
    expect((await write(client, k, k.first, text('conflicting'), { noIdempotent: true })).error_code).toBe(
      10,
    );
    expect((await write(client, k, k.first, text('original'), { noIdempotent: true })).error_code).toBe(0);
    expect(str((await read(client, k, k.first)).plaintext)).toBe('original');
  });

  it('writes a tombstone for an empty plaintext; reading it gives Tombstone (11) and no plaintext', async () => {
    const k = await keypair(client);
    expect((await write(client, k, k.first, text('short-lived'))).error_code).toBe(0);
    const tomb = await encryptWrite(client, k, k.first, new Uint8Array(0));
    expect(tomb.message_ciphertext!.length).toBe(2000);
    expect((await write(client, k, k.first, new Uint8Array(0), { noIdempotent: true })).error_code).toBe(0);
    const r = await read(client, k, k.first);
    expect(r.error_code).toBe(11);
    expect(r.plaintext).toBeUndefined();
  });

  it('reports a tombstone whose signature does not verify as 25, and a box that does not decrypt as 23', async () => {
    const k = await keypair(client);
    const boxId = boxIdFor(k.readCap, k.first);
    const bad = signTombstone(k.writeCap, k.first).signature.slice();
    bad[10]! ^= 0xff;
    for (const s of shardsFor(net.network.directory(), boxId))
      net.network.replica(s.replicaId)!.unsafeStore(boxId, new Uint8Array(0), bad);
    expect((await read(client, k, k.first)).error_code).toBe(25);

    const index = await nextIndex(client, k.first);
    const boxId2 = boxIdFor(k.readCap, index);
    for (const s of shardsFor(net.network.directory(), boxId2)) {
      net.network
        .replica(s.replicaId)!
        .unsafeStore(boxId2, new Uint8Array(1569).fill(1), new Uint8Array(64).fill(2));
    }
    expect((await read(client, k, index)).error_code).toBe(23);
  });

  it('cancels a pending operation: first the original request gets 24, then the cancel reply', async () => {
    const k = await keypair(client);
    const r = await encryptRead(client, k, k.first);
    const start = queryId();
    client.send('start_resending_encrypted_message', {
      query_id: start,
      read_cap: k.readCap,
      message_box_index: k.first,
      envelope_descriptor: r.envelope_descriptor,
      message_ciphertext: r.message_ciphertext,
      envelope_hash: r.envelope_hash,
    });
    // Wait until the ARQ is in flight (it polls a box that never comes).
    while (net.stats().arqsInFlight === 0) await new Promise((res) => setTimeout(res, 1));
    const cancel = queryId();
    client.send('cancel_resending_encrypted_message', { query_id: cancel, envelope_hash: r.envelope_hash });
    const first = await client.waitFor('start_resending_encrypted_message_reply', start);
    const second = await client.waitFor('cancel_resending_encrypted_message_reply', cancel);
    expect(first.error_code).toBe(24);
    expect(first.courier_identity_hash?.length).toBe(32);
    expect(str(first.courier_queue_id)).toBe('courier');
    expect(second.error_code).toBe(0);
    const order = client.arrivals;
    expect(order.lastIndexOf('start_resending_encrypted_message_reply')).toBe(
      order.lastIndexOf('cancel_resending_encrypted_message_reply') - 1,
    );
  });

  it('answers a cancel that matches nothing with the cancel reply alone', async () => {
    const before = client.pending().length;
    const c = await client.call(
      'cancel_resending_encrypted_message',
      { envelope_hash: new Uint8Array(32).fill(1) },
      'cancel_resending_encrypted_message_reply',
    );
    expect(c.error_code).toBe(0);
    expect(client.pending().length).toBe(before);
  });

  it('rejects invalid operations with InvalidRequest (3) and an oversized ciphertext with InternalError (4)', async () => {
    const k = await keypair(client);
    const w = await encryptWrite(client, k, k.first, text('x'));
    const base = {
      envelope_descriptor: w.envelope_descriptor,
      message_ciphertext: w.message_ciphertext,
      envelope_hash: w.envelope_hash,
    };
    const both = await client.call(
      'start_resending_encrypted_message',
      { ...base, write_cap: k.writeCap, read_cap: k.readCap },
      'start_resending_encrypted_message_reply',
    );
    expect(both.error_code).toBe(3);
    expect(both.courier_identity_hash).toBeUndefined();
    const neither = await client.call(
      'start_resending_encrypted_message',
      base,
      'start_resending_encrypted_message_reply',
    );
    expect(neither.error_code).toBe(3);
    const noHash = await client.call(
      'start_resending_encrypted_message',
      { ...base, envelope_hash: undefined, write_cap: k.writeCap },
      'start_resending_encrypted_message_reply',
    );
    expect(noHash.error_code).toBe(3);
    const tooBig = await client.call(
      'start_resending_encrypted_message',
      { ...base, message_ciphertext: new Uint8Array(2001), write_cap: k.writeCap },
      'start_resending_encrypted_message_reply',
    );
    expect(tooBig.error_code).toBe(4);
  });

  it('never lets a client corrupt stored boxes with garbage ciphertexts or descriptors', async () => {
    const k = await keypair(client);
    expect((await write(client, k, k.first, text('precious'))).error_code).toBe(0);
    const r = await encryptRead(client, k, k.first);
    // A descriptor the daemon cannot parse fails the read with InternalError (4).
    const badDesc = await client.call(
      'start_resending_encrypted_message',
      {
        read_cap: k.readCap,
        message_box_index: k.first,
        envelope_descriptor: Uint8Array.of(1, 2, 3),
        message_ciphertext: r.message_ciphertext,
        envelope_hash: r.envelope_hash,
      },
      'start_resending_encrypted_message_reply',
    );
    expect(badDesc.error_code).toBe(4);
    // Garbage ciphertext: the courier cannot parse it and never answers; cancel ends the wait.
    const garbage = queryId();
    const hash = new Uint8Array(32).fill(0xab);
    client.send('start_resending_encrypted_message', {
      query_id: garbage,
      write_cap: k.writeCap,
      envelope_descriptor: Uint8Array.of(1),
      message_ciphertext: crypto.getRandomValues(new Uint8Array(2000)),
      envelope_hash: hash,
    });
    while (net.stats().arqsInFlight === 0) await new Promise((res) => setTimeout(res, 1));
    await client.call(
      'cancel_resending_encrypted_message',
      { envelope_hash: hash },
      'cancel_resending_encrypted_message_reply',
    );
    expect((await client.waitFor('start_resending_encrypted_message_reply', garbage)).error_code).toBe(24);
    expect(str((await read(client, k, k.first)).plaintext)).toBe('precious');
  });
});

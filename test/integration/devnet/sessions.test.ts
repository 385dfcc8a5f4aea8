/**
 * What happens to replies that arrive while a session's socket is down (daemon-semantics §9.1, §9.3).
 */
import { describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { VirtualClock } from '../../../src/devnet/clock.js';
import { startDevnet } from '../../../src/devnet/index.js';
import { decodePkiDocument } from '../../../src/pki/document.js';
import { drive, driveUntil } from './drive.js';
import { encryptWrite, keypair, str, text } from './helpers.js';
import { queryId, RawClient } from './rawClient.js';

const base = { authorityScheme: 'Ed25519' as const, profile: 'docker' as const };

async function writeThenDisconnect(seed: string, dropRepliesWhileDisconnected: boolean) {
  const clock = new VirtualClock();
  const net = await startDevnet({ ...base, seed, clock, quirks: { dropRepliesWhileDisconnected } });
  const a = await RawClient.session(net.thinClientConfig);
  const k = await keypair(a.client);
  const w = await encryptWrite(a.client, k, k.first, text('in flight'));
  const q = queryId();
  a.client.send('start_resending_encrypted_message', {
    query_id: q,
    write_cap: k.writeCap,
    envelope_descriptor: w.envelope_descriptor,
    message_ciphertext: w.message_ciphertext,
    envelope_hash: w.envelope_hash,
  });
  await driveUntil(clock, () => net.stats().packetsSent >= 1, 10);
  a.client.close();
  await a.client.closed;
  // Long enough for the courier's reply to reach the daemon, short of the ARQ's 20 s slop.
  await clock.advance(15_000);
  const b = await RawClient.session(net.thinClientConfig, a.token);
  expect(b.resumed).toBe(true);
  return { clock, net, client: b.client, q };
}

describe('devnet replies during a disconnect', () => {
  it('loses an ARQ reply that arrives while the socket is down, wedging the operation (kpclientd quirk, default)', async () => {
    const { clock, net, client, q } = await writeThenDisconnect('wedge', true);
    try {
      await clock.advance(10 * 60_000);
      expect(client.pending().some((p) => p.msg.key === 'start_resending_encrypted_message_reply')).toBe(
        false,
      );
      expect(net.stats().arqsInFlight).toBe(1);
      expect(q.length).toBe(16);
    } finally {
      client.close();
      await net.stop();
    }
  });

  it('with the quirk turned off, retransmits after the session resumes and completes', async () => {
    const { clock, net, client, q } = await writeThenDisconnect('unwedge', false);
    try {
      const reply = await drive(clock, client.waitFor('start_resending_encrypted_message_reply', q));
      expect(reply.error_code).toBe(0);
      expect(net.stats().arqsInFlight).toBe(0);
    } finally {
      client.close();
      await net.stop();
    }
  });

  it('queues a legacy echo reply for a disconnected session and delivers it before session_token_reply on resume', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...base, seed: 'queued', clock });
    try {
      const a = await RawClient.session(net.thinClientConfig);
      const node = decodePkiDocument(net.network.directory().stripped).serviceNodes[0]!;
      const surbid = crypto.getRandomValues(new Uint8Array(16));
      a.client.send('send_message', {
        with_surb: true,
        surbid,
        destination_id_hash: blake2b256(node.identityKey),
        recipient_queue_id: text('+echo'),
        payload: text('hello later'),
      });
      const sent = await drive(clock, a.client.waitFor('message_sent_event'), 10);
      expect(sent.reply_eta).toBeGreaterThan(0n);
      a.client.close();
      await a.client.closed;
      await driveUntil(clock, () => net.stats().echoes === 1, 10);
      await clock.advance(5_000);
      const b = await RawClient.connect(net.thinClientConfig);
      await b.next('connection_status_event');
      await b.next('new_pki_document_event');
      b.send('session_token', { client_instance_token: a.token });
      const replay = await b.next('message_reply_event');
      expect(replay.surbid).toEqual(surbid);
      expect(str(replay.payload!.subarray(0, 11))).toBe('hello later');
      expect((await b.next('session_token_reply')).resumed).toBe(true);
      b.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet per-app request queue', () => {
  it('blocks the connection once 16 mixnet requests wait for send slots, delaying later local requests too', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...base, seed: 'queue', clock });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const k = await keypair(client);
      const w = await encryptWrite(client, k, k.first, text('many'));
      for (let i = 0; i < 20; i++) {
        client.send('start_resending_encrypted_message', {
          query_id: queryId(),
          write_cap: k.writeCap,
          envelope_descriptor: w.envelope_descriptor,
          message_ciphertext: w.message_ciphertext,
          envelope_hash: w.envelope_hash,
        });
      }
      const q = queryId();
      client.send('get_message_box_index_counter', { query_id: q, message_box_index: k.first });
      const counter = client.waitFor('get_message_box_index_counter_reply', q);
      let answered = false;
      void counter.then(() => {
        answered = true;
      });
      // No send slot has passed: 16 requests fill the queue, the 17th blocks the reader.
      await clock.advance(0);
      await new Promise((r) => setImmediate(r));
      expect(answered).toBe(false);
      await drive(clock, counter, 10);
      // Four slots had to free room for requests 17-20 before the local request was read.
      expect(net.stats().packetsSent).toBeGreaterThanOrEqual(4);
      client.close();
    } finally {
      await net.stop();
    }
  });
});

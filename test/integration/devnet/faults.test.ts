/**
 * Knobs and faults: daemon restart, dropped connections, the mixnet link, loss, replication lag,
 * epochs, the session grace period, the docker profile's timings, and the legacy echo path.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/devnet/clock.js';
import { startDevnet } from '../../../src/devnet/index.js';
import { decodePkiDocument } from '../../../src/pki/document.js';
import { drive, driveUntil } from './drive.js';
import { encryptRead, encryptWrite, keypair, nextIndex, read, str, text, write } from './helpers.js';
import { queryId, RawClient, sameBytes } from './rawClient.js';

const fast = { authorityScheme: 'Ed25519' as const };

describe('devnet daemon restart', () => {
  it('sends shutdown_event, drops every client, changes the instance token and keeps the stored boxes', async () => {
    const net = await startDevnet({ ...fast, seed: 'restart' });
    try {
      const token = crypto.getRandomValues(new Uint8Array(16));
      const a = await RawClient.session(net.thinClientConfig, token);
      const k = await keypair(a.client);
      expect((await write(a.client, k, k.first, text('survives restarts'))).error_code).toBe(0);

      // An in-flight read of a box that does not exist yet: the restart loses it.
      const missing = await nextIndex(a.client, k.first);
      const r = await encryptRead(a.client, k, missing);
      const startQuery = queryId();
      const start = {
        query_id: startQuery,
        read_cap: k.readCap,
        message_box_index: missing,
        envelope_descriptor: r.envelope_descriptor,
        message_ciphertext: r.message_ciphertext,
        envelope_hash: r.envelope_hash,
      };
      a.client.send('start_resending_encrypted_message', start);
      while (net.stats().arqsInFlight === 0) await new Promise((res) => setTimeout(res, 1));

      const oldToken = net.instanceToken();
      await net.restartDaemon();
      await a.client.closed;
      expect(a.client.arrivals.at(-1)).toBe('shutdown_event');
      expect(
        a.client
          .pending()
          .some(
            (p) =>
              p.msg.key === 'start_resending_encrypted_message_reply' &&
              sameBytes((p.msg.body as { query_id?: Uint8Array }).query_id, startQuery),
          ),
      ).toBe(false);
      expect(net.instanceToken()).not.toEqual(oldToken);

      // The new instance knows nothing of the old session.
      const b = await RawClient.session(net.thinClientConfig, token);
      expect(b.instanceToken).toEqual(net.instanceToken());
      expect(b.resumed).toBe(false);
      expect(str((await read(b.client, k, k.first)).plaintext)).toBe('survives restarts');

      // A client replays its in-flight request verbatim; it completes once the box exists.
      b.client.send('start_resending_encrypted_message', start);
      expect((await write(b.client, k, missing, text('written later'))).error_code).toBe(0);
      const replayed = await b.client.waitFor('start_resending_encrypted_message_reply', startQuery);
      expect(str(replayed.plaintext)).toBe('written later');
      b.client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet connections and sessions', () => {
  it('dropConnections severs clients without a shutdown_event; their sessions resume', async () => {
    const net = await startDevnet({ ...fast, seed: 'drop' });
    try {
      const a = await RawClient.session(net.thinClientConfig);
      const token = net.instanceToken();
      net.dropConnections();
      await a.client.closed;
      expect(a.client.arrivals).not.toContain('shutdown_event');
      const b = await RawClient.session(net.thinClientConfig, a.token);
      expect(b.resumed).toBe(true);
      expect(b.appId).toEqual(a.appId);
      expect(b.instanceToken).toEqual(token);
      b.client.close();
    } finally {
      await net.stop();
    }
  });

  it('forgets a dropped session once its grace period has passed', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'grace', clock, sessionGracePeriodMs: 30_000 });
    try {
      const a = await RawClient.session(net.thinClientConfig);
      a.client.close();
      await a.client.closed;
      await driveUntil(clock, () => net.stats().sessions === 0, 1000, 60_000);
      expect(clock.now()).toBeGreaterThanOrEqual(30_000);
      const b = await RawClient.session(net.thinClientConfig, a.token);
      expect(b.resumed).toBe(false);
      b.client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet mixnet link', () => {
  it('broadcasts is_connected=false, keeps local requests working, holds mixnet requests until the link is back', async () => {
    const net = await startDevnet({ ...fast, seed: 'offline' });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const k = await keypair(client);
      net.setMixnetConnected(false);
      const down = await client.next('connection_status_event');
      expect(down.is_connected).toBe(false);
      expect(down.instance_token).toEqual(net.instanceToken());
      // A new client sees the link state in its handshake.
      const other = await RawClient.connect(net.thinClientConfig);
      expect((await other.next('connection_status_event')).is_connected).toBe(false);
      other.close();

      const w = await encryptWrite(client, k, k.first, text('queued while offline'));
      const startQuery = queryId();
      client.send('start_resending_encrypted_message', {
        query_id: startQuery,
        write_cap: k.writeCap,
        envelope_descriptor: w.envelope_descriptor,
        message_ciphertext: w.message_ciphertext,
        envelope_hash: w.envelope_hash,
      });
      // Sent after the start on the same socket, so answered after the start was queued.
      const counter = await client.call(
        'get_message_box_index_counter',
        { message_box_index: k.first },
        'get_message_box_index_counter_reply',
      );
      expect(counter.error_code).toBe(0);
      expect(net.stats().packetsSent).toBe(0);
      expect(client.pending().some((p) => p.msg.key === 'start_resending_encrypted_message_reply')).toBe(
        false,
      );

      net.setMixnetConnected(true);
      expect((await client.waitFor('connection_status_event')).is_connected).toBe(true);
      expect((await client.waitFor('start_resending_encrypted_message_reply', startQuery)).error_code).toBe(
        0,
      );
      expect(str((await read(client, k, k.first)).plaintext)).toBe('queued while offline');
      client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet loss and replication lag', () => {
  it('completes writes and reads under per-leg loss by retransmitting', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'loss', clock, lossProbability: 0.4 });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const k = await keypair(client);
      let index = k.first;
      for (let i = 0; i < 4; i++) {
        expect((await drive(clock, write(client, k, index, text(`box ${i}`)))).error_code).toBe(0);
        const r = await drive(clock, read(client, k, index));
        expect(str(r.plaintext)).toBe(`box ${i}`);
        index = await nextIndex(client, index);
      }
      expect(net.stats().packetsLost).toBeGreaterThan(0);
      client.close();
    } finally {
      await net.stop();
    }
  });

  it('reads a box written to a lagging second shard by polling until a replica has it', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'lag', clock, replicationLagMs: 5_000 });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      let seen = 0;
      for (let i = 0; i < 3; i++) {
        const k = await keypair(client);
        expect((await drive(clock, write(client, k, k.first, text('eventually')))).error_code).toBe(0);
        const r = await drive(clock, read(client, k, k.first));
        expect(str(r.plaintext)).toBe('eventually');
        seen++;
      }
      expect(seen).toBe(3);
      const before = net.stats().replications;
      await clock.advance(6_000);
      expect(net.stats().replications).toBeGreaterThan(before);
      client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet docker profile', () => {
  it('takes send slots and mixing delays, and retransmits a lost packet only after ReplyETA + 20 s', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'docker', clock, profile: 'docker' });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const k = await keypair(client);
      const t0 = clock.now();
      expect((await drive(clock, write(client, k, k.first, text('slow')))).error_code).toBe(0);
      expect(clock.now()).toBeGreaterThan(t0);
      expect(net.stats().packetsLost).toBe(0);

      const second = await nextIndex(client, k.first);
      net.setLossProbability(0.999999);
      const t1 = clock.now();
      const pending = write(client, k, second, text('lost once'));
      await driveUntil(clock, () => net.stats().packetsSent >= 2, 10);
      net.setLossProbability(0);
      expect((await drive(clock, pending)).error_code).toBe(0);
      expect(net.stats().packetsLost).toBe(1);
      expect(clock.now() - t1).toBeGreaterThanOrEqual(20_000);
      client.close();
    } finally {
      await net.stop();
    }
  });

  it('with timeWarp, divides the retransmission delay too', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'warp', clock, profile: 'docker', timeWarp: 20 });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const k = await keypair(client);
      net.setLossProbability(0.999999);
      const t1 = clock.now();
      const pending = write(client, k, k.first, text('warped'));
      await driveUntil(clock, () => net.stats().packetsSent >= 1, 5);
      net.setLossProbability(0);
      expect((await drive(clock, pending, 5)).error_code).toBe(0);
      const elapsed = clock.now() - t1;
      expect(elapsed).toBeGreaterThanOrEqual(1_000);
      expect(elapsed).toBeLessThan(20_000);
      // The document describes the warped network: twenty times docker's rates.
      const doc = decodePkiDocument(net.network.directory().stripped);
      expect(doc.mu).toBeCloseTo(0.1);
      expect(doc.lambdaP).toBeCloseTo(0.02);
      client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet CTIDH cost', () => {
  it('charges three CTIDH operations to encrypt_write, delaying that connection only', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'ctidh', clock, ctidhCostMs: 1_000 });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const other = (await RawClient.session(net.thinClientConfig)).client;
      const k = await keypair(client);
      const t0 = clock.now();
      const pending = client.call(
        'encrypt_write',
        { plaintext: text('costly'), write_cap: k.writeCap, message_box_index: k.first },
        'encrypt_write_reply',
      );
      // Another connection is not held up.
      const quick = await other.call('get_pki_document', { epoch: 0n }, 'get_pki_document_reply');
      expect(quick.error_code).toBe(0);
      expect(clock.now()).toBe(t0);
      expect((await drive(clock, pending, 100)).error_code).toBe(0);
      expect(clock.now() - t0).toBeGreaterThanOrEqual(3_000);
      client.close();
      other.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet epochs', () => {
  it('publishes a new document every epoch, broadcasts it, and serves the raw documents it holds', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'epochs', clock, startEpoch: 5_000_000n });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      await driveUntil(
        clock,
        () => client.arrivals.filter((k) => k === 'new_pki_document_event').length >= 2,
        1000,
      );
      const event = await client.waitFor('new_pki_document_event');
      expect(decodePkiDocument(event.payload!).epoch).toBe(5_000_001n);
      expect(net.epoch()).toBe(5_000_001n);
      const prev = await client.call('get_pki_document', { epoch: 5_000_000n }, 'get_pki_document_reply');
      expect(prev.error_code).toBe(0);
      expect(prev.epoch).toBe(5_000_000n);
      const now = await client.call('get_pki_document', { epoch: 0n }, 'get_pki_document_reply');
      expect(now.epoch).toBe(5_000_001n);
      const unknown = await client.call('get_pki_document', { epoch: 4_000_000n }, 'get_pki_document_reply');
      expect(unknown.error_code).toBe(10);
      expect(unknown.epoch).toBe(4_000_000n);
      expect(unknown.payload).toBeUndefined();
      client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet legacy messaging', () => {
  it('echoes a SURB message: message_sent_event, then message_reply_event with the payload zero-padded to 2574 bytes', async () => {
    const net = await startDevnet({ ...fast, seed: 'echo' });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const doc = decodePkiDocument(net.network.directory().stripped);
      const node = doc.serviceNodes[1]!;
      const { blake2b256 } = await import('../../../src/crypto/hash.js');
      const surbid = crypto.getRandomValues(new Uint8Array(16));
      client.send('send_message', {
        with_surb: true,
        surbid,
        destination_id_hash: blake2b256(node.identityKey),
        recipient_queue_id: text('+echo'),
        payload: text('ping'),
      });
      const sent = await client.waitFor('message_sent_event');
      expect(sent.surbid).toEqual(surbid);
      expect(sent.err).toBeUndefined();
      expect(typeof sent.sent_at).toBe('bigint');
      const reply = await client.waitFor('message_reply_event');
      expect(reply.surbid).toEqual(surbid);
      expect(reply.error_code).toBe(0);
      expect(reply.payload!.length).toBe(2574);
      expect(str(reply.payload!.subarray(0, 4))).toBe('ping');
      expect(reply.payload!.subarray(4).every((b) => b === 0)).toBe(true);

      // Without a SURB nothing comes back; to an unknown destination the sent event carries the error.
      client.send('send_message', {
        with_surb: false,
        destination_id_hash: blake2b256(node.identityKey),
        recipient_queue_id: text('+echo'),
        payload: text('x'),
      });
      client.send('send_message', {
        with_surb: true,
        surbid: new Uint8Array(16).fill(1),
        destination_id_hash: new Uint8Array(32),
        recipient_queue_id: text('+echo'),
        payload: text('x'),
      });
      const failed = await client.waitFor('message_sent_event');
      expect(failed.err).toMatch(/destination/);
      client.send('send_message', {
        with_surb: true,
        surbid: new Uint8Array(16).fill(2),
        destination_id_hash: blake2b256(node.identityKey),
        recipient_queue_id: text('+echo'),
        payload: new Uint8Array(2001),
      });
      expect((await client.waitFor('message_sent_event')).err).toBe('message too large');
      await client.call('get_pki_document', { epoch: 0n }, 'get_pki_document_reply');
      expect(client.pending().filter((p) => p.msg.key === 'message_reply_event')).toHaveLength(0);
      expect(net.stats().echoes).toBe(1);
      client.close();
    } finally {
      await net.stop();
    }
  });
});

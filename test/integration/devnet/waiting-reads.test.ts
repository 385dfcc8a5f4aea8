/**
 * Reads that wait for a box nobody has written yet, as kpclientd v0.0.99 and its courier treat them
 * (spec/daemon-semantics.md §1.3, §2.5.4, §5.1-5.3): the daemon re-polls such a read on every send slot
 * it gets, through the app's resend queue (capacity 8), which it serves before the app's new requests,
 * one packet per slot; and the courier answers a re-sent envelope from its dedup cache, re-dispatching
 * it to the replicas at most 5 times, and forgets it only 5 minutes later, when a new envelope arrives.
 * Time is a VirtualClock; the figures are send slots.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/devnet/clock.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { ReplicaCode } from '../../../src/wire/errorCodes.js';
import { drive, driveUntil } from './drive.js';
import { encryptRead, type Keys, keypair, nextIndex, read, str, text, write } from './helpers.js';
import { RawClient } from './rawClient.js';

const fast = { authorityScheme: 'Ed25519' as const };
const slots = (net: Devnet) => net.stats().resendSlots + net.stats().freshSlots;

/** A fresh write and the read of the box it wrote, on one connection; their send slots. */
async function writeThenRead(net: Devnet, clock: VirtualClock, client: RawClient, k: Keys) {
  const before = slots(net);
  const written = await drive(clock, write(client, k, k.first, text('fresh')));
  expect(written.error_code).toBe(0);
  const got = await drive(clock, read(client, k, k.first));
  expect(str(got.plaintext)).toBe('fresh');
  return slots(net) - before;
}

describe('devnet: reads waiting on unwritten boxes (docker profile)', () => {
  it('serves the resend queue first, one request per slot: with 8 waiting reads a fresh write is not sent for 200 slots', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'starve', clock, profile: 'docker' });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const idle = await writeThenRead(net, clock, client, await keypair(client));

      const waiting = await Promise.all(Array.from({ length: 8 }, () => keypair(client)));
      const sent = net.stats().freshSlots;
      const reads = waiting.map((k) => read(client, k, k.first));
      for (const r of reads) r.catch(() => {});
      // Every read has been sent, and they have been re-polled: all eight are cycling.
      await driveUntil(clock, () => net.stats().freshSlots === sent + 8 && net.stats().resendSlots >= 24);

      const fresh = await keypair(client);
      const t0 = clock.now();
      const freshBefore = net.stats().freshSlots;
      const resendBefore = net.stats().resendSlots;
      let writeDone = false;
      write(client, fresh, fresh.first, text('starved')).then(
        () => {
          writeDone = true;
        },
        () => {},
      );
      await driveUntil(clock, () => net.stats().resendSlots - resendBefore >= 200);
      const freshSent = net.stats().freshSlots - freshBefore;
      console.log(
        `[waiting-reads devnet] write+read with no waiting read: ${idle} send slots; ` +
          `with 8 waiting reads: the write not sent after ${net.stats().resendSlots - resendBefore} slots ` +
          `(${((clock.now() - t0) / 1000).toFixed(0)} s simulated)`,
      );
      expect(idle).toBeLessThanOrEqual(8);
      expect(freshSent).toBe(0);
      expect(writeDone).toBe(false);
      client.close();
    } finally {
      await net.stop();
    }
  });

  it('lets a fresh request through as soon as the app has no retransmission queued', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({ ...fast, seed: 'turns', clock, profile: 'docker' });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const waiting = await keypair(client);
      void read(client, waiting, waiting.first).catch(() => {});
      await driveUntil(clock, () => net.stats().resendSlots >= 3);
      // One waiting read holds one resend at a time, so the app's queue empties between its polls.
      const took = await writeThenRead(net, clock, client, await keypair(client));
      console.log(`[waiting-reads devnet] write+read beside 1 waiting read: ${took} send slots`);
      expect(took).toBeLessThanOrEqual(12);
      client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet courier dedup cache (v0.0.99 rules)', () => {
  it('re-dispatches a re-sent envelope 5 times, then serves the cached BoxIDNotFound until the entry is pruned on a later new envelope, 5 min on', async () => {
    const clock = new VirtualClock();
    const net = await startDevnet({
      ...fast,
      seed: 'dedup',
      clock,
      serviceNodeCount: 1, // one courier: every request meets the same cache
      quirks: { courierRedispatchLimit: 5 },
    });
    try {
      const { client } = await RawClient.session(net.thinClientConfig);
      const k = await keypair(client);
      const envelope = await encryptRead(client, k, k.first);
      const poll = () =>
        drive(
          clock,
          client.call(
            'start_resending_encrypted_message',
            {
              read_cap: k.readCap,
              message_box_index: k.first,
              envelope_descriptor: envelope.envelope_descriptor,
              message_ciphertext: envelope.message_ciphertext,
              envelope_hash: envelope.envelope_hash,
              no_retry_on_box_id_not_found: true,
            },
            'start_resending_encrypted_message_reply',
          ),
        );
      // The first send is a miss (dispatch, ACK); the daemon's follow-up is a hit on an error: re-dispatch 1.
      expect((await poll()).error_code).toBe(ReplicaCode.BoxIdNotFound);
      expect(net.stats().courierDispatches).toBe(1 + 1);
      for (let i = 0; i < 4; i++) expect((await poll()).error_code).toBe(ReplicaCode.BoxIdNotFound);
      expect(net.stats().courierDispatches).toBe(1 + 5);
      // The sixth hit would be re-dispatch 6: the cap says no.
      expect((await poll()).error_code).toBe(ReplicaCode.BoxIdNotFound);
      expect(net.stats().courierDispatches).toBe(1 + 5);

      expect((await drive(clock, write(client, k, k.first, text('here now')))).error_code).toBe(0);
      const afterWrite = net.stats().courierDispatches;
      // The box is there, but the same envelope keeps getting the cached answer and no re-dispatch.
      for (let i = 0; i < 3; i++) expect((await poll()).error_code).toBe(ReplicaCode.BoxIdNotFound);
      expect(net.stats().courierDispatches).toBe(afterWrite);
      // A fresh envelope (a new encrypt_read, a new hash) reads it at once.
      expect(str((await drive(clock, read(client, k, k.first, { noRetry: true }))).plaintext)).toBe(
        'here now',
      );

      // Past the 5 min TTL nothing is pruned until a new envelope reaches the courier.
      await clock.advance(5 * 60_000 + 1_000);
      expect((await poll()).error_code).toBe(ReplicaCode.BoxIdNotFound);
      const second = await nextIndex(client, k.first);
      expect((await drive(clock, read(client, k, second, { noRetry: true }))).error_code).toBe(
        ReplicaCode.BoxIdNotFound,
      );
      // That miss pruned the old entry: the old envelope is new again and finds the message.
      expect(str((await poll()).plaintext)).toBe('here now');
      client.close();
    } finally {
      await net.stop();
    }
  });
});

/**
 * Every public ThinClient method against the embedded devnet (`instant` profile), once over each
 * transport (unix socket, TCP, WebSocket): the guide's tasks end to end, including a daemon restart
 * with an in-flight read that completes after the client replays it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { ThinClient } from '../../../src/client.js';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  isExpectedOutcome,
  NotConnectedError,
  OperationCancelledError,
  TombstoneError,
} from '../../../src/errors.js';
import { OfflineQueue } from '../../../src/offlineQueue.js';
import { decodePkiDocument, verifyPkiDocument } from '../../../src/pki/index.js';
import { TRANSPORTS } from '../../helpers/transports.js';

let net: Devnet;
let alice: ThinClient;
let bob: ThinClient;
const enc = new TextEncoder();
const dec = new TextDecoder();
const seed = () => new Uint8Array(randomBytes(32));

/** Encrypts and sends one write. */
async function write(client: ThinClient, writeCap: Uint8Array, index: Uint8Array, text: string | Uint8Array) {
  const plaintext = typeof text === 'string' ? enc.encode(text) : text;
  const w = await client.encryptWrite(plaintext, writeCap, index);
  await client.startResendingEncryptedMessage({ writeCap, ...w });
  return w.nextMessageBoxIndex;
}

/** Encrypts and sends one read. */
async function read(
  client: ThinClient,
  readCap: Uint8Array,
  index: Uint8Array,
  options: { noRetry?: boolean; signal?: AbortSignal } = {},
) {
  const r = await client.encryptRead(readCap, index);
  const res = await client.startResendingEncryptedMessage(
    { readCap, messageBoxIndex: index, ...r, noRetryOnBoxIdNotFound: options.noRetry ?? false },
    { signal: options.signal },
  );
  return res.plaintext;
}

describe.each(TRANSPORTS)('over $type', (transport) => {
  beforeAll(async () => {
    net = await startDevnet({ listen: transport.listen(), profile: 'instant' });
    alice = await ThinClient.connect(net.thinClientConfig);
    bob = await ThinClient.connect(net.thinClientConfig);
  });

  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await net?.stop();
  });

  describe('connection, events and the PKI document', () => {
    it('is connected, knows its geometry and has the current document with services', async () => {
      expect(net.thinClientConfig.dial.type).toBe(transport.type);
      expect(alice.isConnected()).toBe(true);
      expect(alice.sphinxGeometry.userForwardPayloadLength).toBe(
        net.geometry.sphinx.UserForwardPayloadLength,
      );
      expect(alice.pigeonholeGeometry.maxPlaintextPayloadLength).toBe(
        net.geometry.pigeonhole.MaxPlaintextPayloadLength,
      );
      const doc = alice.pkiDocument();
      expect(doc?.epoch).toBe(net.epoch());
      expect(alice.getServices('echo').length).toBeGreaterThan(0);
      expect(alice.getServices('courier').length).toBeGreaterThan(0);
    });

    it('fetches the signed document and verifies it against the authorities the application trusts', async () => {
      const { payload, epoch } = await alice.getPkiDocumentRaw(0n);
      expect(epoch).toBe(net.epoch());
      const certified = verifyPkiDocument(
        payload,
        net.authorities.map((a) => ({ scheme: a.scheme, publicKey: a.publicKey })),
      );
      expect(decodePkiDocument(certified).epoch).toBe(epoch);
    });

    it('lists the directory authorities', async () => {
      const authorities = await alice.getDirectoryAuthorities();
      expect(authorities.map((a) => a.identifier).sort()).toEqual(net.authorities.map((a) => a.name).sort());
      for (const a of authorities) expect(a.identityKeyHash.length).toBe(32);
    });

    it('echoes through blockingSendMessage, and sendMessage reports messageSent and messageReply', async () => {
      const [node, queue] = alice.getService('echo').toDestination();
      const reply = await alice.blockingSendMessage(enc.encode('hello mixnet'), node, queue);
      expect(dec.decode(reply.subarray(0, 12))).toBe('hello mixnet');

      const events = alice.events();
      const surbId = new Uint8Array(randomBytes(16));
      await alice.sendMessage(surbId, enc.encode('ping'), node, queue);
      const seen: string[] = [];
      for await (const ev of events) {
        if (ev.type === 'messageSent' || ev.type === 'messageReply') {
          expect(ev.surbId).toEqual(surbId);
          seen.push(ev.type);
        }
        if (ev.type === 'messageReply') break;
      }
      expect(seen).toEqual(['messageSent', 'messageReply']);
      await alice.sendMessageWithoutReply(enc.encode('fire and forget'), node, queue);
    });
  });

  describe('Pigeonhole on the devnet', () => {
    it("Alice writes, Bob reads (the guide's end-to-end example)", async () => {
      const kp = await alice.newKeypair(seed());
      expect(kp.writeCap.length).toBe(168);
      expect(kp.readCap.length).toBe(136);
      await write(alice, kp.writeCap, kp.firstMessageIndex, 'hello from Alice');
      expect(dec.decode(await read(bob, kp.readCap, kp.firstMessageIndex))).toBe('hello from Alice');
    });

    it('newKeypair is deterministic in the seed; indices advance and count', async () => {
      const s = seed();
      const a = await alice.newKeypair(s);
      const b = await bob.newKeypair(s);
      expect(b).toEqual(a);
      const next = await alice.nextMessageBoxIndex(a.firstMessageIndex);
      const c0 = await alice.getMessageBoxIndexCounter(a.firstMessageIndex);
      expect(typeof c0).toBe('bigint');
      expect(await alice.getMessageBoxIndexCounter(next)).toBe(c0 + 1n);
    });

    it('a box not yet written: BoxIdNotFound at once with noRetry, an expected outcome', async () => {
      const kp = await alice.newKeypair(seed());
      const error = await read(bob, kp.readCap, kp.firstMessageIndex, { noRetry: true }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BoxIdNotFoundError);
      expect(isExpectedOutcome(error)).toBe(true);
    });

    it('writes are idempotent, unless noIdempotentBoxAlreadyExists asks for BoxAlreadyExists', async () => {
      const kp = await alice.newKeypair(seed());
      const w = await alice.encryptWrite(enc.encode('once'), kp.writeCap, kp.firstMessageIndex);
      await alice.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w });
      await alice.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w });
      const other = await alice.encryptWrite(enc.encode('twice'), kp.writeCap, kp.firstMessageIndex);
      await expect(
        alice.startResendingEncryptedMessage({
          writeCap: kp.writeCap,
          ...other,
          noIdempotentBoxAlreadyExists: true,
        }),
      ).rejects.toBeInstanceOf(BoxAlreadyExistsError);
    });

    it('tombstoneRange deletes boxes; a reader gets TombstoneError', async () => {
      const kp = await alice.newKeypair(seed());
      let index = kp.firstMessageIndex;
      for (const text of ['one', 'two']) index = await write(alice, kp.writeCap, index, text);
      const result = await alice.tombstoneRange(kp.writeCap, kp.firstMessageIndex, 2);
      expect(result.envelopes).toHaveLength(2);
      expect(result.next).toEqual(index);
      for (const e of result.envelopes)
        await alice.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...e });
      const error = await read(bob, kp.readCap, result.envelopes[1]!.boxIndex).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TombstoneError);
      expect(isExpectedOutcome(error)).toBe(true);
    });

    it('a copy command writes a payload to a destination channel atomically', async () => {
      const dest = await alice.newKeypair(seed());
      const temp = await alice.newKeypair(seed());
      const per = alice.pigeonholeGeometry.maxPlaintextPayloadLength;
      const payload = new Uint8Array(randomBytes(per + 100));
      const { envelopes, nextDestIndex } = await alice.createCourierEnvelopesFromPayload(
        payload,
        dest.writeCap,
        dest.firstMessageIndex,
        true,
        true,
      );
      let tempIndex = temp.firstMessageIndex;
      for (const chunk of envelopes) tempIndex = await write(alice, temp.writeCap, tempIndex, chunk);
      await alice.startResendingCopyCommand(temp.writeCap);
      const parts: Uint8Array[] = [];
      let index = dest.firstMessageIndex;
      while (Buffer.compare(index, nextDestIndex) !== 0) {
        parts.push(await read(bob, dest.readCap, index));
        index = await bob.nextMessageBoxIndex(index);
      }
      expect(Buffer.concat(parts)).toEqual(Buffer.from(payload));
    });

    it('a multi-destination copy command, built in two calls with the buffer passed along', async () => {
      const d1 = await alice.newKeypair(seed());
      const d2 = await alice.newKeypair(seed());
      const temp = await alice.newKeypair(seed());
      const first = await alice.createCourierEnvelopesFromMultiPayload(
        [{ payload: enc.encode('to one'), writeCap: d1.writeCap, startIndex: d1.firstMessageIndex }],
        true,
        false,
      );
      const second = await alice.createCourierEnvelopesFromMultiPayload(
        [{ payload: enc.encode('to two'), writeCap: d2.writeCap, startIndex: d2.firstMessageIndex }],
        false,
        true,
        first.buffer,
      );
      expect(second.nextDestIndices).toHaveLength(1);
      let tempIndex = temp.firstMessageIndex;
      for (const chunk of [...first.envelopes, ...second.envelopes])
        tempIndex = await write(alice, temp.writeCap, tempIndex, chunk);
      await alice.startResendingCopyCommand(temp.writeCap);
      expect(dec.decode(await read(bob, d1.readCap, d1.firstMessageIndex))).toBe('to one');
      expect(dec.decode(await read(bob, d2.readCap, d2.firstMessageIndex))).toBe('to two');
    });

    it('a copy command tombstones a range', async () => {
      const dest = await alice.newKeypair(seed());
      await write(alice, dest.writeCap, dest.firstMessageIndex, 'doomed');
      const temp = await alice.newKeypair(seed());
      const t = await alice.createCourierEnvelopesFromTombstoneRange(
        dest.writeCap,
        dest.firstMessageIndex,
        1,
        true,
        true,
      );
      let tempIndex = temp.firstMessageIndex;
      for (const chunk of t.envelopes) tempIndex = await write(alice, temp.writeCap, tempIndex, chunk);
      await alice.startResendingCopyCommand(temp.writeCap);
      await expect(read(bob, dest.readCap, dest.firstMessageIndex)).rejects.toBeInstanceOf(TombstoneError);
    });

    it('cancelResendingEncryptedMessage stops a read that would wait forever', async () => {
      const kp = await alice.newKeypair(seed());
      const r = await bob.encryptRead(kp.readCap, kp.firstMessageIndex);
      const pending = bob.startResendingEncryptedMessage({
        readCap: kp.readCap,
        messageBoxIndex: kp.firstMessageIndex,
        ...r,
      });
      const outcome = pending.catch((e: unknown) => e);
      await until(() => net.stats().arqsInFlight > 0);
      await bob.cancelResendingEncryptedMessage(r.envelopeHash);
      expect(await outcome).toBeInstanceOf(OperationCancelledError);
    });

    it('an AbortSignal cancels a waiting read at the daemon', async () => {
      const kp = await alice.newKeypair(seed());
      const controller = new AbortController();
      const outcome = read(bob, kp.readCap, kp.firstMessageIndex, { signal: controller.signal }).catch(
        (e: unknown) => e,
      );
      await until(() => net.stats().arqsInFlight > 0);
      controller.abort(new Error('no longer needed'));
      expect(await outcome).toMatchObject({ message: 'no longer needed' });
      await until(() => net.stats().arqsInFlight === 0);
    });

    it('cancelResendingCopyCommand cancels a copy whose stream is incomplete', async () => {
      const temp = await alice.newKeypair(seed());
      // Nothing written to the temporary channel: the courier keeps polling for the stream's start.
      const copy = alice.startResendingCopyCommand(temp.writeCap).catch((e: unknown) => e);
      await until(() => net.stats().arqsInFlight > 0);
      await alice.cancelResendingCopyCommand(blake2b256(temp.writeCap));
      expect(await copy).toBeInstanceOf(OperationCancelledError);
    });
  });

  describe('offline preparation on the devnet', () => {
    it('prepares while the mixnet is down and flushes an OfflineQueue when it comes back', async () => {
      const client = await ThinClient.connect(net.thinClientConfig);
      try {
        net.setMixnetConnected(false);
        await until(() => !client.isConnected());
        const kp = await client.newKeypair(seed());
        const w = await client.encryptWrite(
          enc.encode('written while offline'),
          kp.writeCap,
          kp.firstMessageIndex,
        );
        await expect(
          client.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w }),
        ).rejects.toBeInstanceOf(NotConnectedError);
        const sent: boolean[] = [];
        const queue = new OfflineQueue(client, { onSettled: (_, o) => sent.push(o.ok) });
        await queue.enqueue({ writeCap: kp.writeCap, ...w });
        net.setMixnetConnected(true);
        await until(() => sent.length === 1);
        expect(sent).toEqual([true]);
        expect(dec.decode(await read(bob, kp.readCap, kp.firstMessageIndex))).toBe('written while offline');
        queue.stop();
      } finally {
        net.setMixnetConnected(true);
        await client.close();
      }
    });
  });

  describe('daemon restarts and disconnects', () => {
    it('an in-flight read survives restartDaemon: replayed to the new instance, it completes when the box is written', async () => {
      const clock = new SimulatedClock();
      // The daemon's own retrying read (the client's scheduler would pace its polls on the stopped clock).
      const reader = await ThinClient.connect(net.thinClientConfig, {
        clock,
        reconnect: { jitter: 0 },
        waitingReads: false,
      });
      const others = [alice, bob].map((c) => new Promise((resolve) => c.on('daemonConnected', resolve)));
      try {
        const kp = await alice.newKeypair(seed());
        const r = await reader.encryptRead(kp.readCap, kp.firstMessageIndex);
        const pending = reader.startResendingEncryptedMessage({
          readCap: kp.readCap,
          messageBoxIndex: kp.firstMessageIndex,
          ...r,
        });
        await until(() => net.stats().arqsInFlight > 0);
        const oldToken = net.instanceToken();
        const disconnected = new Promise((resolve) => reader.on('daemonDisconnected', resolve));
        const reconnected = new Promise<{ replayed: number; resumed: boolean }>((resolve) =>
          reader.on('daemonConnected', resolve),
        );
        await net.restartDaemon();
        await disconnected;
        expect(net.instanceToken()).not.toEqual(oldToken);
        clock.increment(1000);
        expect(await reconnected).toMatchObject({ replayed: 1, resumed: false });
        await until(() => net.stats().arqsInFlight > 0);
        // The writer is whoever is connected now: the reader itself, on the restarted daemon.
        await write(reader, kp.writeCap, kp.firstMessageIndex, 'after the restart');
        expect(dec.decode((await pending).plaintext)).toBe('after the restart');
      } finally {
        await reader.close();
      }
      await Promise.all(others); // alice and bob redial on their own
    });

    it('disconnect keeps the session; reconnect resumes it with the same instance token', async () => {
      const client = await ThinClient.connect(net.thinClientConfig);
      try {
        await client.disconnect();
        expect(client.isConnected()).toBe(false);
        expect(client.isDaemonConnected()).toBe(false);
        const ready = client.waitForReady();
        const resumed = new Promise<{ resumed: boolean }>((resolve) => client.on('daemonConnected', resolve));
        await client.reconnect();
        await ready;
        expect((await resumed).resumed).toBe(true);
        expect(client.isConnected()).toBe(true);
        expect((await client.newKeypair(seed())).writeCap.length).toBe(168);
      } finally {
        await client[Symbol.asyncDispose]();
      }
      await expect(client.newKeypair(seed())).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    });
  });
});

/** Waits for the devnet's own progress (no wall-clock bound other than the test timeout). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * The durable offline queue: envelopes prepared while the daemon has no mixnet are kept in the SQLite
 * store, survive a restart of the application (new store handle, new client, new queue), and are sent
 * once the devnet's mixnet comes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StartResendingParams, ThinClient } from '../../../src/client.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { OfflineQueue, type QueuedEnvelope, type SendOutcome } from '../../../src/offlineQueue.js';
import { SqliteOfflineStorage } from '../../../src/pigeonhole/offlineStore.js';
import { PigeonholeStore } from '../../../src/pigeonhole/store.js';

const text = (s: string) => new TextEncoder().encode(s);

let net: Devnet;
let dir: string;

beforeAll(async () => {
  net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', authorityScheme: 'Ed25519' });
});
afterAll(async () => {
  await net?.stop();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-offline-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function params(n: number): StartResendingParams {
  return {
    writeCap: new Uint8Array(168).fill(n),
    envelopeDescriptor: new Uint8Array([n, 1, 2]),
    messageCiphertext: new Uint8Array(40).fill(n + 1),
    envelopeHash: new Uint8Array(32).fill(n + 2),
    replyIndex: null,
    noIdempotentBoxAlreadyExists: true,
  };
}

describe('the SQLite offline storage', () => {
  it('keeps envelopes in queue order, byte strings as Uint8Array, across reopening the file', () => {
    const path = join(dir, 'q.db');
    let store = PigeonholeStore.open(path);
    const storage = new SqliteOfflineStorage(store);
    storage.put({ id: 'b', params: params(2), queuedAt: 2000 });
    storage.put({ id: 'a', params: params(1), queuedAt: 1000 });
    storage.put({ id: 'c', params: params(3), queuedAt: 3000 });
    storage.delete('a');
    store.close();

    store = PigeonholeStore.open(path);
    const loaded = new SqliteOfflineStorage(store).load();
    expect(loaded).toEqual([
      { id: 'b', params: params(2), queuedAt: 2000 },
      { id: 'c', params: params(3), queuedAt: 3000 },
    ]);
    expect(loaded[0]!.params.writeCap).not.toBeInstanceOf(Buffer);
    store.close();
  });

  it('keeps an item in its place when it is put again, and separates named queues', () => {
    const store = PigeonholeStore.open(':memory:');
    const one = new SqliteOfflineStorage(store, 'one');
    const two = new SqliteOfflineStorage(store, 'two');
    one.put({ id: 'x', params: params(1), queuedAt: 1 });
    one.put({ id: 'y', params: params(2), queuedAt: 2 });
    one.put({ id: 'x', params: params(9), queuedAt: 3 });
    two.put({ id: 'x', params: params(5), queuedAt: 4 });
    expect(one.load().map((i) => [i.id, i.params.envelopeDescriptor[0]])).toEqual([
      ['x', 9],
      ['y', 2],
    ]);
    expect(two.size()).toBe(1);
    store.close();
  });

  it('refuses an item without a 32-byte envelope hash', () => {
    const store = PigeonholeStore.open(':memory:');
    const storage = new SqliteOfflineStorage(store);
    expect(() =>
      storage.put({ id: 'x', params: { ...params(1), envelopeHash: new Uint8Array(31) }, queuedAt: 1 }),
    ).toThrow(new InvalidArgumentError('item.params.envelopeHash', 'expected 32 bytes'));
    store.close();
  });
});

describe('envelopes prepared offline', () => {
  it('survive an application restart and are sent when the daemon connects to the mixnet', async () => {
    const path = join(dir, 'app.db');
    net.setMixnetConnected(false);

    // First run: no mixnet. Prepare three writes (local crypto) and queue them durably.
    const client1 = await ThinClient.connect(net.thinClientConfig);
    expect(client1.isConnected()).toBe(false);
    const kp = await client1.newKeypair(new Uint8Array(32).fill(42));
    let index = kp.firstMessageIndex;
    const indices: Uint8Array[] = [];
    let store = PigeonholeStore.open(path);
    const queue1 = new OfflineQueue(client1, { storage: new SqliteOfflineStorage(store) });
    for (const m of ['first', 'second', 'third']) {
      const w = await client1.encryptWrite(text(m), kp.writeCap, index);
      await queue1.enqueue({
        writeCap: kp.writeCap,
        envelopeDescriptor: w.envelopeDescriptor,
        messageCiphertext: w.messageCiphertext,
        envelopeHash: w.envelopeHash,
      });
      indices.push(index);
      index = w.nextMessageBoxIndex;
    }
    expect(await queue1.flush()).toEqual({ sent: 0, failed: 0, remaining: 3 });
    queue1.stop();
    await client1.close();
    store.close();

    // Second run: a new client and queue over the same file; the mixnet comes back.
    store = PigeonholeStore.open(path);
    const storage = new SqliteOfflineStorage(store);
    expect(storage.size()).toBe(3);
    const client2 = await ThinClient.connect(net.thinClientConfig);
    const settled: [QueuedEnvelope, SendOutcome][] = [];
    const allSent = new Promise<void>((resolve) => {
      const queue2 = new OfflineQueue(client2, {
        storage,
        onSettled: (item, outcome) => {
          settled.push([item, outcome]);
          if (settled.length === 3) {
            queue2.stop();
            resolve();
          }
        },
      });
    });
    net.setMixnetConnected(true);
    await allSent;
    expect(settled.map(([, o]) => o.ok)).toEqual([true, true, true]);
    expect(storage.size()).toBe(0);

    // The boxes hold what was written offline, in order.
    const got: string[] = [];
    for (const idx of indices) {
      const r = await client2.encryptRead(kp.readCap, idx);
      const res = await client2.startResendingEncryptedMessage({
        readCap: kp.readCap,
        messageBoxIndex: idx,
        envelopeDescriptor: r.envelopeDescriptor,
        messageCiphertext: r.messageCiphertext,
        envelopeHash: r.envelopeHash,
      });
      got.push(new TextDecoder().decode(res.plaintext));
    }
    expect(got).toEqual(['first', 'second', 'third']);
    await client2.close();
    store.close();
  });
});

/**
 * Persist and restore channel state. Caps and indices are plain bytes: store them and pass them
 * back after a restart. The writer records its next index after every write, the reader after every
 * read, before telling the rest of the application. `WriteChannel` and `ReadChannel` do that for you
 * on SQLite (katzenpost-thin-client/sqlite, which needs better-sqlite3): the index moves in the same
 * transaction that records the message.
 *
 *   npx tsx examples/guide/08-persistence.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PigeonholeStore, ReadChannel, WriteChannel } from 'katzenpost-thin-client/sqlite';
import { openExample, randomSeed } from './daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'guide-persist-'));
const { client, close } = await openExample();
try {
  // By hand: save the bytes (atomically, in a real application), reload them after a restart.
  const kp = await client.newKeypair(randomSeed());
  const w = await client.encryptWrite(new TextEncoder().encode('one'), kp.writeCap, kp.firstMessageIndex);
  await client.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w });
  const state = { writeCap: kp.writeCap, nextIndex: w.nextMessageBoxIndex };
  const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  writeFileSync(
    join(dir, 'writer.json'),
    JSON.stringify({ writeCap: toHex(state.writeCap), nextIndex: toHex(state.nextIndex) }),
  );
  // ... the process restarts ...
  const saved = JSON.parse(readFileSync(join(dir, 'writer.json'), 'utf8'));
  const restored = {
    writeCap: Buffer.from(saved.writeCap, 'hex'),
    nextIndex: Buffer.from(saved.nextIndex, 'hex'),
  };
  const w2 = await client.encryptWrite(
    new TextEncoder().encode('two'),
    restored.writeCap,
    restored.nextIndex,
  );
  await client.startResendingEncryptedMessage({ writeCap: restored.writeCap, ...w2 });
  console.log('wrote the second message from the restored index');

  // With the durable channels: messages of any size, framed, and the index kept in the store.
  let store = PigeonholeStore.open(join(dir, 'app.db'));
  const out = await WriteChannel.create(store, client, 'to-bob');
  const inbox = ReadChannel.create(store, client, 'from-alice', out.share());
  await out.send(new TextEncoder().encode('hello, durably'));
  await out.close();
  await inbox.close();
  store.close();

  // ... the process restarts: open the same store and the channels by name ...
  store = PigeonholeStore.open(join(dir, 'app.db'));
  const reopened = WriteChannel.open(store, client, 'to-bob');
  await reopened.send(new TextEncoder().encode('and again'));
  const reader = ReadChannel.open(store, client, 'from-alice');
  const first = await reader.receive();
  const second = await reader.receive();
  console.log(`received #${first.seq}, #${second.seq}:`, new TextDecoder().decode(second.payload));
  assert.deepEqual([first.seq, second.seq], [0, 1]);
  assert.equal(new TextDecoder().decode(first.payload), 'hello, durably');
  await reopened.close();
  await reader.close();
  store.close();
} finally {
  await close();
  rmSync(dir, { recursive: true, force: true });
}

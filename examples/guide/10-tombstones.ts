/**
 * Delete messages with tombstones, and recognise a deleted box when reading. `tombstoneRange`
 * prepares one tombstone per box (local); each is sent like a write. A read of a tombstoned box
 * rejects with TombstoneError, an expected outcome: the box was deleted on purpose.
 *
 *   npx tsx examples/guide/10-tombstones.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { isExpectedOutcome, TombstoneError } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

const { client, close } = await openExample();
try {
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomSeed());
  let index = firstMessageIndex;
  for (const message of ['keep me?', 'no']) {
    const w = await client.encryptWrite(new TextEncoder().encode(message), writeCap, index);
    await client.startResendingEncryptedMessage({ writeCap, ...w });
    index = w.nextMessageBoxIndex;
  }

  // Tombstone both boxes: prepare, then send each envelope (maxCount 1 deletes a single box).
  const { envelopes, next } = await client.tombstoneRange(writeCap, firstMessageIndex, 2);
  for (const envelope of envelopes) await client.startResendingEncryptedMessage({ writeCap, ...envelope });
  assert.deepEqual(next, index); // the index after the last tombstoned box
  console.log(`tombstoned ${envelopes.length} boxes`);

  // The reader learns that the box was deleted, and stops reading the stream there.
  const r = await client.encryptRead(readCap, firstMessageIndex);
  try {
    await client.startResendingEncryptedMessage({ readCap, messageBoxIndex: firstMessageIndex, ...r });
    assert.fail('the read should have found a tombstone');
  } catch (err) {
    if (!(err instanceof TombstoneError)) throw err;
    assert.ok(isExpectedOutcome(err));
    console.log('read:', err.message, `(code ${err.code}, replica code ${err.replicaCode})`);
  }
} finally {
  await close();
}

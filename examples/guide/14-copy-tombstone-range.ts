/**
 * Tombstone a range via a copy stream: the courier writes the tombstones, so either all of them land
 * or the copy reports failure. Raw calls first (`createCourierEnvelopesFromTombstoneRange`), then
 * `tombstoneRangeViaCopy`.
 *
 *   npx tsx examples/guide/14-copy-tombstone-range.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import {
  MemoryCheckpointStore,
  type ThinClient,
  TombstoneError,
  tombstoneRangeViaCopy,
} from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

/** A channel with `count` messages written; returns its caps and first index. */
async function channelWith(client: ThinClient, count: number) {
  const kp = await client.newKeypair(randomSeed());
  let index = kp.firstMessageIndex;
  for (let i = 0; i < count; i++) {
    const w = await client.encryptWrite(new TextEncoder().encode(`message ${i}`), kp.writeCap, index);
    await client.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...w });
    index = w.nextMessageBoxIndex;
  }
  return kp;
}

/** Whether the box at `index` reads as a tombstone. */
async function isTombstoned(client: ThinClient, readCap: Uint8Array, index: Uint8Array): Promise<boolean> {
  const r = await client.encryptRead(readCap, index);
  return client.startResendingEncryptedMessage({ readCap, messageBoxIndex: index, ...r }).then(
    () => false,
    (err: unknown) => err instanceof TombstoneError || Promise.reject(err),
  );
}

const { client, close } = await openExample();
try {
  // Raw: the tombstones as copy-stream elements, written to a temp channel, then one copy command.
  const dest = await channelWith(client, 3);
  const temp = await client.newKeypair(randomSeed());
  const { envelopes } = await client.createCourierEnvelopesFromTombstoneRange(
    dest.writeCap,
    dest.firstMessageIndex,
    3, // boxes to tombstone
    true, // isStart
    true, // isLast
    null, // buffer
  );
  let tempIndex = temp.firstMessageIndex;
  for (const element of envelopes) {
    const w = await client.encryptWrite(element, temp.writeCap, tempIndex);
    await client.startResendingEncryptedMessage({ writeCap: temp.writeCap, ...w });
    tempIndex = w.nextMessageBoxIndex;
  }
  await client.startResendingCopyCommand(temp.writeCap);
  assert.ok(await isTombstoned(client, dest.readCap, dest.firstMessageIndex));
  console.log('raw: 3 boxes tombstoned through the courier');

  // One call.
  const other = await channelWith(client, 2);
  await tombstoneRangeViaCopy(client, other.writeCap, other.firstMessageIndex, 2, {
    checkpointStore: new MemoryCheckpointStore(),
  });
  assert.ok(await isTombstoned(client, other.readCap, other.firstMessageIndex));
  console.log('tombstoneRangeViaCopy: 2 boxes tombstoned');
} finally {
  await close();
}

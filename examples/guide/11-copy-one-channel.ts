/**
 * Send to one channel atomically with a copy command: pack the payload into copy-stream elements,
 * write them to a temporary channel, then have a courier copy the whole stream into the destination.
 * First with the raw calls, then with `copyToChannel`, which does the same in one call and keeps a
 * checkpoint after every step (in files under the user's state directory unless told otherwise).
 *
 *   npx tsx examples/guide/11-copy-one-channel.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { copyToChannel, MemoryCheckpointStore } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

const { client, close } = await openExample();
try {
  const perBox = client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
  const payload = crypto.getRandomValues(new Uint8Array(perBox + 10)); // two destination boxes

  // 1. A destination channel and a temporary one.
  const dest = await client.newKeypair(randomSeed());
  const temp = await client.newKeypair(randomSeed());
  // 2. The payload as copy-stream elements (local).
  const { envelopes } = await client.createCourierEnvelopesFromPayload(
    payload,
    dest.writeCap,
    dest.firstMessageIndex,
    true, // isStart
    true, // isLast
  );
  // 3. Each element written to the temporary channel.
  let tempIndex = temp.firstMessageIndex;
  for (const element of envelopes) {
    const w = await client.encryptWrite(element, temp.writeCap, tempIndex);
    await client.startResendingEncryptedMessage({ writeCap: temp.writeCap, ...w });
    tempIndex = w.nextMessageBoxIndex;
  }
  // 4. The copy command: resolves once the courier has written every destination box.
  await client.startResendingCopyCommand(temp.writeCap);

  // The reader reads the destination like any stream of MaxPlaintextPayloadLength − 4 byte boxes.
  const boxCount = Math.ceil(payload.length / perBox);
  const copied = await client.readStream(dest.readCap, dest.firstMessageIndex, boxCount);
  assert.deepEqual(copied.data, payload);
  console.log(`raw copy: ${envelopes.length} elements, ${boxCount} destination boxes`);

  // The same in one call.
  const other = await client.newKeypair(randomSeed());
  const result = await copyToChannel(client, payload, other.writeCap, other.firstMessageIndex, {
    checkpointStore: new MemoryCheckpointStore(),
  });
  const again = await client.readStream(other.readCap, other.firstMessageIndex, boxCount);
  assert.deepEqual(again.data, payload);
  assert.deepEqual(result.nextDestIndex, again.nextIndex);
  console.log(`copyToChannel: ${result.tempBoxesWritten} temp boxes written, copy ${result.id} done`);
} finally {
  await close();
}

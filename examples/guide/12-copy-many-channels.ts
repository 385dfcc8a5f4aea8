/**
 * Send to several channels atomically: one copy stream carries the payloads of every destination,
 * and the courier writes all of them. Raw calls first (`createCourierEnvelopesFromMultiPayload`),
 * then `copyToChannels`.
 *
 *   npx tsx examples/guide/12-copy-many-channels.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import {
  copyToChannels,
  type DestinationPayload,
  MemoryCheckpointStore,
  type ThinClient,
} from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

/** Writes copy-stream elements to the temporary channel, from `index`; returns the next index. */
async function writeElements(
  client: ThinClient,
  tempWriteCap: Uint8Array,
  index: Uint8Array,
  elements: Uint8Array[],
) {
  for (const element of elements) {
    const w = await client.encryptWrite(element, tempWriteCap, index);
    await client.startResendingEncryptedMessage({ writeCap: tempWriteCap, ...w });
    index = w.nextMessageBoxIndex;
  }
  return index;
}

const { client, close } = await openExample();
try {
  const text = new TextEncoder();
  const alice = await client.newKeypair(randomSeed());
  const bob = await client.newKeypair(randomSeed());
  const temp = await client.newKeypair(randomSeed());

  const destinations: DestinationPayload[] = [
    { payload: text.encode('for alice'), writeCap: alice.writeCap, startIndex: alice.firstMessageIndex },
    { payload: text.encode('for bob'), writeCap: bob.writeCap, startIndex: bob.firstMessageIndex },
  ];
  const packed = await client.createCourierEnvelopesFromMultiPayload(destinations, true, true, null);
  await writeElements(client, temp.writeCap, temp.firstMessageIndex, packed.envelopes);
  await client.startResendingCopyCommand(temp.writeCap);

  for (const [who, kp, expected] of [
    ['alice', alice, 'for alice'],
    ['bob', bob, 'for bob'],
  ] as const) {
    const { data } = await client.readStream(kp.readCap, kp.firstMessageIndex, 1);
    assert.equal(new TextDecoder().decode(data), expected);
    console.log(`${who} reads:`, new TextDecoder().decode(data));
  }

  // One call: the helper splits large payloads over several calls and checkpoints each step.
  const carol = await client.newKeypair(randomSeed());
  const dave = await client.newKeypair(randomSeed());
  const result = await copyToChannels(
    client,
    [
      { payload: text.encode('for carol'), writeCap: carol.writeCap, startIndex: carol.firstMessageIndex },
      { payload: text.encode('for dave'), writeCap: dave.writeCap, startIndex: dave.firstMessageIndex },
    ],
    { checkpointStore: new MemoryCheckpointStore() },
  );
  const { data } = await client.readStream(dave.readCap, dave.firstMessageIndex, 1);
  assert.equal(new TextDecoder().decode(data), 'for dave');
  console.log(`copyToChannels: ${result.nextDestIndices.length} destinations written in one copy`);
} finally {
  await close();
}

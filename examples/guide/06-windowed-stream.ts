/**
 * Send and receive a large payload with the stream API: `writeStream` and `readStream` keep several
 * single-box operations in flight (the window; 0 sizes it from the PKI document) and retry only the
 * boxes that fail. Each box carries MaxPlaintextPayloadLength − 4 bytes, so the reader derives the box
 * count from the byte length; or it peeks the first box of a framed payload to learn the length.
 *
 *   npx tsx examples/guide/06-windowed-stream.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { framePayload, readLengthPrefix } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

const { client, close } = await openExample();
try {
  const perBox = client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;

  // The reader is told the length: boxCount = ceil(length / perBox).
  const a = await client.newKeypair(randomSeed());
  const payload = crypto.getRandomValues(new Uint8Array(perBox * 5 + 7));
  const next = await client.writeStream(a.writeCap, a.firstMessageIndex, payload, 0, {
    onProgress: (p) => console.log('write progress:', p),
  });
  const boxCount = Math.ceil(payload.length / perBox);
  const { data, nextIndex } = await client.readStream(a.readCap, a.firstMessageIndex, boxCount);
  assert.deepEqual(data, payload);
  assert.deepEqual(nextIndex, next); // both ends agree where the channel continues
  console.log(`streamed ${payload.length} bytes in ${boxCount} boxes`);

  // The reader is not told the length: the writer frames the payload, the reader peeks one box.
  const b = await client.newKeypair(randomSeed());
  await client.writeStream(b.writeCap, b.firstMessageIndex, framePayload(payload));
  const first = await client.readStream(b.readCap, b.firstMessageIndex, 1);
  const total = 4 + readLengthPrefix(first.data);
  const rest = await client.readStream(b.readCap, first.nextIndex, Math.ceil(total / perBox) - 1);
  const framed = Buffer.concat([first.data, rest.data]);
  assert.deepEqual(new Uint8Array(framed.subarray(4)), payload);
  console.log(`peeked the length (${total - 4} bytes), then read the remaining boxes in one call`);
} finally {
  await close();
}

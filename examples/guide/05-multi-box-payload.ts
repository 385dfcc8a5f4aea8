/**
 * Read back a multi-box payload: the writer frames the payload with a 4-byte big-endian length and
 * cuts it into boxes (`chunkPayload`); the reader steps through consecutive indices until the
 * `FrameReassembler` holds the whole payload. One box per round trip; 06 does the same in a window.
 *
 *   npx tsx examples/guide/05-multi-box-payload.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { chunkPayload, FrameReassembler } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

const { client, close } = await openExample();
try {
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomSeed());
  const capacity = client.pigeonholeGeometry.maxPlaintextPayloadLength;
  const payload = crypto.getRandomValues(new Uint8Array(capacity * 2 + 100)); // three boxes once framed

  // Writer: one encryptWrite and one ARQ write per box, in index order.
  let index = firstMessageIndex;
  const boxes = chunkPayload(payload, capacity);
  for (const box of boxes) {
    const w = await client.encryptWrite(box, writeCap, index);
    await client.startResendingEncryptedMessage({ writeCap, ...w });
    index = w.nextMessageBoxIndex;
  }
  console.log(`wrote ${payload.length} bytes in ${boxes.length} boxes`);

  // Reader: knows only readCap and the first index; the prefix says where the payload ends.
  const reassembler = new FrameReassembler({ maxPlaintextPayloadLength: capacity });
  let readIndex = firstMessageIndex;
  let complete = false;
  while (!complete) {
    const r = await client.encryptRead(readCap, readIndex);
    const { plaintext } = await client.startResendingEncryptedMessage({
      readCap,
      messageBoxIndex: readIndex,
      ...r,
    });
    complete = reassembler.push(plaintext);
    readIndex = r.nextMessageBoxIndex;
  }
  const received = reassembler.payload(); // without the prefix
  console.log(`read ${received.length} bytes back`);
  assert.deepEqual(received, payload);
} finally {
  await close();
}

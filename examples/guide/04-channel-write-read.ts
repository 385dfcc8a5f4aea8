/**
 * Create a Pigeonhole channel, write messages to it, read them back. Creating a channel and
 * encrypting are local; only `startResendingEncryptedMessage` goes through the mixnet, and the
 * daemon retransmits it until it has an answer.
 *
 *   npx tsx examples/guide/04-channel-write-read.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { BoxAlreadyExistsError } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

const { client, close } = await openExample();
const text = new TextEncoder();
try {
  // The writer keeps writeCap; the reader gets readCap and firstMessageIndex out of band.
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomSeed());

  // Write: encrypt for the box at the current index, send, then advance the index.
  let writeIndex = firstMessageIndex;
  for (const message of ['first', 'second']) {
    const w = await client.encryptWrite(text.encode(message), writeCap, writeIndex);
    await client.startResendingEncryptedMessage({ writeCap, ...w });
    writeIndex = w.nextMessageBoxIndex;
  }
  console.log('wrote 2 messages');

  // Read: a read must name the index of the box it reads (messageBoxIndex) so it can be decrypted.
  let readIndex = firstMessageIndex;
  const received: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await client.encryptRead(readCap, readIndex);
    const { plaintext } = await client.startResendingEncryptedMessage({
      readCap,
      messageBoxIndex: readIndex,
      ...r,
    });
    received.push(new TextDecoder().decode(plaintext));
    readIndex = r.nextMessageBoxIndex;
  }
  console.log('read:', received.join(', '));
  assert.deepEqual(received, ['first', 'second']);

  // Writes are idempotent by default. To learn that a box is already taken, ask for BoxAlreadyExists.
  const again = await client.encryptWrite(text.encode('something else'), writeCap, firstMessageIndex);
  await assert.rejects(
    client.startResendingEncryptedMessage({ writeCap, ...again, noIdempotentBoxAlreadyExists: true }),
    BoxAlreadyExistsError,
  );
  console.log('rewriting the first box: BoxAlreadyExistsError');
} finally {
  await close();
}

/**
 * Wait for a message that has not been written yet. BoxIDNotFound is the expected answer to
 * "anything here yet?": `isExpectedOutcome` tells it from a real failure, and a bounded poll retries
 * it until the message appears or the application's deadline passes. `noRetryOnBoxIdNotFound`
 * answers at once instead of letting the daemon retry first.
 *
 *   npx tsx examples/guide/07-wait-for-message.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoxIdNotFoundError, isExpectedOutcome, type ThinClient } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

/** Reads the box at `index`, polling every `intervalMs` while it is not written, until `deadlineMs`. */
async function waitForMessage(
  client: ThinClient,
  readCap: Uint8Array,
  index: Uint8Array,
  { deadlineMs = 120_000, intervalMs = 3_000 } = {},
): Promise<Uint8Array> {
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    const r = await client.encryptRead(readCap, index);
    try {
      const { plaintext } = await client.startResendingEncryptedMessage({
        readCap,
        messageBoxIndex: index,
        ...r,
        noRetryOnBoxIdNotFound: true,
      });
      return plaintext;
    } catch (err) {
      if (!isExpectedOutcome(err)) throw err; // a real failure: do not retry it
      if (Date.now() > giveUpAt) throw err;
      await sleep(intervalMs);
    }
  }
}

const { client, close } = await openExample();
try {
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomSeed());

  // Nothing written yet: the no-retry read says so at once.
  const peek = await client.encryptRead(readCap, firstMessageIndex);
  const absent = await client
    .startResendingEncryptedMessage({
      readCap,
      messageBoxIndex: firstMessageIndex,
      ...peek,
      noRetryOnBoxIdNotFound: true,
    })
    .catch((err: unknown) => err);
  assert.ok(absent instanceof BoxIdNotFoundError && isExpectedOutcome(absent));
  console.log('not written yet:', absent.message);

  // The writer writes a little later; the reader polls until it is there.
  const writer = (async () => {
    await sleep(500);
    const w = await client.encryptWrite(
      new TextEncoder().encode('worth the wait'),
      writeCap,
      firstMessageIndex,
    );
    await client.startResendingEncryptedMessage({ writeCap, ...w });
  })();
  const plaintext = await waitForMessage(client, readCap, firstMessageIndex, { intervalMs: 200 });
  await writer;
  console.log('read after waiting:', new TextDecoder().decode(plaintext));
  assert.equal(new TextDecoder().decode(plaintext), 'worth the wait');
} finally {
  await close();
}

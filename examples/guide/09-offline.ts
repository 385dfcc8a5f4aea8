/**
 * Prepare operations offline. Key generation and encryption are local and work while the daemon has
 * no mixnet connection; sending does not, and says so at once with NotConnectedError. An
 * `OfflineQueue` keeps the prepared envelopes (in memory here; `SqliteOfflineStorage` keeps them on
 * disk) and sends them, in order, when the connection comes back.
 *
 * This example cuts the devnet's mixnet link itself, so it always runs on its own embedded devnet.
 *
 *   npx tsx examples/guide/09-offline.ts
 */
import assert from 'node:assert/strict';
import { NotConnectedError, OfflineQueue, type SendOutcome } from 'katzenpost-thin-client';
import { openDevnetExample, randomSeed } from './daemon.js';

const { client, net, close } = await openDevnetExample();
try {
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomSeed());

  net.setMixnetConnected(false); // the daemon loses its gateway; the client hears connectionStatus
  while (client.isConnected()) await new Promise((resolve) => setTimeout(resolve, 10));
  console.log('mixnet connected:', client.isConnected());

  // Local crypto still works offline.
  const w = await client.encryptWrite(
    new TextEncoder().encode('written while offline'),
    writeCap,
    firstMessageIndex,
  );
  // Sending does not wait: it fails at once.
  await assert.rejects(client.startResendingEncryptedMessage({ writeCap, ...w }), NotConnectedError);

  // Queue it instead; the queue flushes by itself when the daemon reports the mixnet again.
  let settle: (outcome: SendOutcome) => void = () => {};
  const settled = new Promise<SendOutcome>((resolve) => {
    settle = resolve;
  });
  const queue = new OfflineQueue(client, { onSettled: (_item, outcome) => settle(outcome) });
  await queue.enqueue({ writeCap, ...w });
  console.log('queued:', await queue.size());
  net.setMixnetConnected(true);
  const outcome = await settled;
  queue.stop();
  assert.ok(outcome.ok, 'the queued write was sent');
  console.log('sent once the mixnet was back');

  const r = await client.encryptRead(readCap, firstMessageIndex);
  const { plaintext } = await client.startResendingEncryptedMessage({
    readCap,
    messageBoxIndex: firstMessageIndex,
    ...r,
  });
  assert.equal(new TextDecoder().decode(plaintext), 'written while offline');
  console.log('read:', new TextDecoder().decode(plaintext));
} finally {
  await close();
}

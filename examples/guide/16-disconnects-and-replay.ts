/**
 * Handle daemon disconnects and restarts. The client redials by itself (with backoff and jitter).
 * When it finds the same daemon (same instance token) the session simply resumes; when the daemon is
 * a new process, the client sends every in-flight operation again, byte for byte, and the callers
 * never notice. The events say what happened.
 *
 * This example restarts the devnet's daemon, so it always runs on its own embedded devnet.
 *
 *   npx tsx examples/guide/16-disconnects-and-replay.ts
 */
import assert from 'node:assert/strict';
import type { DaemonConnectedEvent } from 'katzenpost-thin-client';
import { openDevnetExample, randomSeed } from './daemon.js';

const { client, net, close } = await openDevnetExample({ reconnect: { initialDelayMs: 50 } });
try {
  client.on('daemonDisconnected', (ev) =>
    console.log(ev.isGraceful ? 'daemon shut down gracefully' : `connection lost: ${ev.error?.message}`),
  );
  const reconnected = new Promise<DaemonConnectedEvent>((resolve) => {
    const off = client.on('daemonConnected', (ev) => {
      off();
      resolve(ev);
    });
  });

  // A read is waiting for a box nobody has written yet ...
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomSeed());
  const r = await client.encryptRead(readCap, firstMessageIndex);
  const reading = client.startResendingEncryptedMessage({
    readCap,
    messageBoxIndex: firstMessageIndex,
    ...r,
  });
  while (net.stats().arqsInFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));

  // ... when the daemon restarts: a new process that knows nothing of that read.
  const before = net.instanceToken();
  await net.restartDaemon();
  const ev = await reconnected;
  console.log(`redialled: resumed ${ev.resumed}, operations replayed ${ev.replayed}`);
  assert.equal(ev.resumed, false);
  assert.equal(ev.replayed, 1);
  assert.notDeepEqual(ev.instanceToken, before);

  // The writer writes on the new daemon; the replayed read finds the box, and its caller gets it.
  const w = await client.encryptWrite(
    new TextEncoder().encode('after the restart'),
    writeCap,
    firstMessageIndex,
  );
  await client.startResendingEncryptedMessage({ writeCap, ...w });
  const { plaintext } = await reading;
  console.log('the waiting read completed:', new TextDecoder().decode(plaintext));
  assert.equal(new TextDecoder().decode(plaintext), 'after the restart');
} finally {
  await close();
}

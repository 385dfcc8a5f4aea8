/**
 * Cancel in-flight operations: one by its envelope hash, a copy command by the BLAKE2b-256 hash of its
 * temporary write cap, any call with an AbortSignal, and everything at once with `close()`. The
 * cancelled caller rejects with OperationCancelledError (or the signal's reason, or ClientClosedError).
 *
 *   npx tsx examples/guide/15-cancel.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { blake2b } from '@noble/hashes/blake2.js';
import { ClientClosedError, OperationCancelledError, type ThinClient } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

/** Starts a read of a box nobody writes: the daemon keeps retrying it until it is cancelled. */
async function endlessRead(client: ThinClient, options: { signal?: AbortSignal } = {}) {
  const { readCap, firstMessageIndex } = await client.newKeypair(randomSeed());
  const r = await client.encryptRead(readCap, firstMessageIndex);
  const pending = client.startResendingEncryptedMessage(
    { readCap, messageBoxIndex: firstMessageIndex, ...r },
    options,
  );
  return { pending, envelopeHash: r.envelopeHash };
}

const { client, close } = await openExample();
try {
  // One operation, by its envelope hash.
  const read = await endlessRead(client);
  await client.cancelResendingEncryptedMessage(read.envelopeHash);
  await assert.rejects(read.pending, OperationCancelledError);
  console.log('read cancelled by envelope hash');

  // A copy command, by the hash of its temporary write cap. Nothing was written to the temp stream,
  // so the courier is still looking for it when the cancel (sent right after the start) arrives.
  const temp = await client.newKeypair(randomSeed());
  const copy = client.startResendingCopyCommand(temp.writeCap);
  copy.catch(() => {}); // settled below
  await client.cancelResendingCopyCommand(blake2b(temp.writeCap, { dkLen: 32 }));
  await assert.rejects(copy, OperationCancelledError);
  console.log('copy command cancelled by write-cap hash');

  // Any call, with an AbortSignal: the cancel goes to the daemon, the call rejects with the reason.
  const controller = new AbortController();
  const aborted = await endlessRead(client, { signal: controller.signal });
  controller.abort(new Error('user gave up'));
  await assert.rejects(aborted.pending, /user gave up/);
  console.log('read aborted by its signal');

  // Everything at once: close() ends the session; every pending call rejects with ClientClosedError.
  const last = await endlessRead(client);
  const outcome = last.pending.catch((err: unknown) => err);
  await client.close();
  assert.ok((await outcome) instanceof ClientClosedError);
  console.log('close() rejected the last pending read');
} finally {
  await close(); // closing again is harmless
}

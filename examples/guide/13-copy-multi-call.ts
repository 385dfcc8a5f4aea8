/**
 * Multi-call buffer passing: build one copy stream over several create-courier-envelopes calls,
 * passing each call's `buffer` to the next and keeping it durably between calls, so that a restart
 * can go on where it stopped. Then the same crash recovery done by `resumeCopy` from a checkpoint.
 *
 *   npx tsx examples/guide/13-copy-multi-call.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ClientClosedError,
  copyToChannels,
  FileCheckpointStore,
  pendingCopies,
  resumeCopy,
  ThinClient,
} from 'katzenpost-thin-client';
import { configPath, openExample, randomSeed } from './daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'guide-copy-'));
const { client, net, close } = await openExample();
try {
  const text = new TextEncoder();
  const first = await client.newKeypair(randomSeed());
  const second = await client.newKeypair(randomSeed());
  const temp = await client.newKeypair(randomSeed());
  let tempIndex = temp.firstMessageIndex;
  const writeTemp = async (elements: Uint8Array[]) => {
    for (const element of elements) {
      const w = await client.encryptWrite(element, temp.writeCap, tempIndex);
      await client.startResendingEncryptedMessage({ writeCap: temp.writeCap, ...w });
      tempIndex = w.nextMessageBoxIndex;
    }
  };

  // Call 1 of 2: isStart, not isLast. Keep the buffer (and the temp index) before going on.
  const batch1 = [
    { payload: text.encode('batch one'), writeCap: first.writeCap, startIndex: first.firstMessageIndex },
  ];
  const r1 = await client.createCourierEnvelopesFromMultiPayload(batch1, true, false, null);
  await writeTemp(r1.envelopes);
  writeFileSync(join(dir, 'buffer'), r1.buffer);

  // Call 2 of 2 (after a restart, the buffer comes back from disk): not isStart, isLast.
  const buffer = new Uint8Array(readFileSync(join(dir, 'buffer')));
  const batch2 = [
    { payload: text.encode('batch two'), writeCap: second.writeCap, startIndex: second.firstMessageIndex },
  ];
  const r2 = await client.createCourierEnvelopesFromMultiPayload(batch2, false, true, buffer);
  await writeTemp(r2.envelopes);
  await client.startResendingCopyCommand(temp.writeCap);
  const { data } = await client.readStream(second.readCap, second.firstMessageIndex, 1);
  assert.equal(new TextDecoder().decode(data), 'batch two');
  console.log(
    'two calls, one copy stream: the second destination reads',
    JSON.stringify(new TextDecoder().decode(data)),
  );

  // The helper checkpoints every step. Stop a copy half-way (here: its client closes) ...
  const store = new FileCheckpointStore(join(dir, 'checkpoints'));
  const dest = await client.newKeypair(randomSeed());
  const doomed = await ThinClient.connect(configPath() ?? net!.thinClientConfig);
  const perBox = client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
  const payload = crypto.getRandomValues(new Uint8Array(4 * perBox));
  const interrupted = copyToChannels(
    doomed,
    [{ payload, writeCap: dest.writeCap, startIndex: dest.firstMessageIndex }],
    {
      checkpointStore: store,
      batchBoxes: 1,
      onProgress: () => void doomed.close(),
    },
  );
  await assert.rejects(interrupted, ClientClosedError);

  // ... and let another client (another process, in real life) finish it from the checkpoint.
  const pending = await pendingCopies(store);
  console.log('copies left in the checkpoint store:', pending.length);
  for (const id of pending) await resumeCopy(client, store, id);
  const copied = await client.readStream(
    dest.readCap,
    dest.firstMessageIndex,
    Math.ceil(payload.length / perBox),
  );
  assert.deepEqual(copied.data, payload);
  assert.equal((await pendingCopies(store)).length, 0);
  console.log('resumed and finished the interrupted copy');
} finally {
  await close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A daemon restart with more than a hundred mixed requests in flight (local requests, ARQ writes
 * and reads, a copy stream, a windowed stream), over each transport: every one completes exactly
 * once after the reconnect, every box holds what was written, and nothing rejects unhandled or hangs.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyToChannel, MemoryCheckpointStore, readStream, type ThinClient } from '../../../src/index.js';
import { streamBoxCount } from '../../../src/pigeonhole/streams.js';
import { useDevnetClient } from '../../helpers/devnetClient.js';
import { TRANSPORTS } from '../../helpers/transports.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

const seed = () => new Uint8Array(randomBytes(32));
const text = (s: string) => new TextEncoder().encode(s);

async function channel(client: ThinClient) {
  return client.newKeypair(seed());
}

describe.each(TRANSPORTS)('a daemon restart with requests in flight, over $type', (transport) => {
  const env = useDevnetClient({ listen: transport.listen() });

  it('completes more than a hundred mixed requests exactly once after the reconnect, with every box exact', async () => {
    const client = env.client;
    expect(env.net.thinClientConfig.dial.type).toBe(transport.type);
    const per = client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
    // Boxes written before the restart, to be read while it happens.
    const before = await channel(client);
    const written: Uint8Array[] = [];
    let index = before.firstMessageIndex;
    const indices: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const w = await client.encryptWrite(text(`before ${i}`), before.writeCap, index);
      await client.startResendingEncryptedMessage({ writeCap: before.writeCap, ...w });
      written.push(text(`before ${i}`));
      indices.push(index);
      index = w.nextMessageBoxIndex;
    }
    const reads = await Promise.all(indices.map((i) => client.encryptRead(before.readCap, i)));
    // Writes prepared before the restart, sent while it happens.
    const after = await channel(client);
    const prepared: { envelope: Awaited<ReturnType<ThinClient['encryptWrite']>>; index: Uint8Array }[] = [];
    index = after.firstMessageIndex;
    for (let i = 0; i < 20; i++) {
      const envelope = await client.encryptWrite(text(`during ${i}`), after.writeCap, index);
      prepared.push({ envelope, index });
      index = envelope.nextMessageBoxIndex;
    }
    const copyDest = await channel(client);
    const copyPayload = new Uint8Array(randomBytes(3 * per));
    const streamDest = await channel(client);
    const streamPayload = new Uint8Array(randomBytes(4 * per));

    // ---- everything at once, then the restart ----
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) work.push(client.nextMessageBoxIndex(indices[i % 20]!));
    for (let i = 0; i < 20; i++)
      work.push(client.encryptWrite(text(`local ${i}`), after.writeCap, indices[i]!));
    for (const { envelope } of prepared)
      work.push(client.startResendingEncryptedMessage({ writeCap: after.writeCap, ...envelope }));
    const readResults = reads.map((r, i) =>
      client.startResendingEncryptedMessage({ readCap: before.readCap, messageBoxIndex: indices[i]!, ...r }),
    );
    work.push(...readResults);
    work.push(
      copyToChannel(client, copyPayload, copyDest.writeCap, copyDest.firstMessageIndex, {
        checkpointStore: new MemoryCheckpointStore(),
      }),
    );
    work.push(
      client.writeStream(streamDest.writeCap, streamDest.firstMessageIndex, streamPayload, 0, {
        pacing: false,
      }),
    );
    const inFlight = client.stats();
    expect(
      inFlight.requests + inFlight.operations + inFlight.streams + inFlight.waitingReads,
    ).toBeGreaterThanOrEqual(100);
    const settled = Promise.allSettled(work);
    await env.net.restartDaemon();
    const outcomes = await settled;

    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(failures).toEqual([]);
    expect(outcomes).toHaveLength(102);
    // Reads returned exactly what was written before the restart.
    const plaintexts = await Promise.all(readResults);
    for (const [i, r] of plaintexts.entries()) expect(r.plaintext).toEqual(written[i]);
    // Writes made during the restart hold exactly their message, once.
    for (const [i, { index: at }] of prepared.entries()) {
      const r = await client.encryptRead(after.readCap, at);
      const got = await client.startResendingEncryptedMessage({
        readCap: after.readCap,
        messageBoxIndex: at,
        ...r,
      });
      expect(got.plaintext).toEqual(text(`during ${i}`));
    }
    const copied = await readStream(
      client,
      copyDest.readCap,
      copyDest.firstMessageIndex,
      streamBoxCount(copyPayload.length, per),
      0,
      { pacing: false },
    );
    expect(copied.data).toEqual(copyPayload);
    const streamed = await client.readStream(
      streamDest.readCap,
      streamDest.firstMessageIndex,
      streamBoxCount(streamPayload.length, per),
      0,
      { pacing: false },
    );
    expect(streamed.data).toEqual(streamPayload);
    expect(client.stats()).toMatchObject({ requests: 0, operations: 0, streams: 0, waiting: 0 });
    expect(unhandled).toEqual([]);
  });
});

/**
 * writeStream / readStream against the devnet over a real socket: exact round trips of payloads of
 * every awkward size, interoperation with the guide's per-box loop, automatic windows, aborts that
 * cancel every operation at the daemon, and a tombstoned box in the middle of a read.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ThinClient } from '../../../src/client.js';
import { indexCounter } from '../../../src/crypto/bacap.js';
import { TombstoneError } from '../../../src/errors.js';
import {
  autoWindow,
  readStream,
  resolveWindow,
  type StreamProgress,
  streamBoxCount,
  streamBoxPayloadLength,
  writeStream,
} from '../../../src/pigeonhole/streams.js';
import { useDevnetClients } from '../../helpers/devnetClient.js';

const env = useDevnetClients(2);
let writer: ThinClient;
let reader: ThinClient;
let per: number;

beforeAll(() => {
  [writer, reader] = env.clients as [ThinClient, ThinClient];
  per = streamBoxPayloadLength(writer);
});

async function channel(client = writer) {
  return client.newKeypair(new Uint8Array(randomBytes(32)));
}

const fast = { pacing: false } as const;

describe('writeStream and readStream on the devnet', () => {
  it('returns exactly the bytes written, for payloads of 1 byte, one box, one box + 1 and several boxes', async () => {
    for (const length of [1, per - 1, per, per + 1, 3 * per + 17]) {
      const ch = await channel();
      const payload = new Uint8Array(randomBytes(length));
      const next = await writeStream(writer, ch.writeCap, ch.firstMessageIndex, payload, 3, fast);
      const boxes = streamBoxCount(length, per);
      expect(indexCounter(next) - indexCounter(ch.firstMessageIndex)).toBe(BigInt(boxes));
      const got = await readStream(reader, ch.readCap, ch.firstMessageIndex, boxes, 3, fast);
      expect(got.data).toEqual(payload);
      expect(got.nextIndex).toEqual(next);
    }
  });

  it('writes nothing for an empty payload and returns the start index', async () => {
    const ch = await channel();
    const next = await writeStream(writer, ch.writeCap, ch.firstMessageIndex, new Uint8Array(0), 0, fast);
    expect(next).toEqual(ch.firstMessageIndex);
    const got = await readStream(reader, ch.readCap, ch.firstMessageIndex, 0, 0, fast);
    expect(got.data).toEqual(new Uint8Array(0));
  });

  it("lays boxes down the way the guide's per-box loop reads them, and reads what such a loop wrote", async () => {
    const ch = await channel();
    const payload = new Uint8Array(randomBytes(2 * per + 5));
    await writeStream(writer, ch.writeCap, ch.firstMessageIndex, payload, 2, fast);
    // The guide's loop: one EncryptRead + StartResendingEncryptedMessage per box, in order.
    let index = ch.firstMessageIndex;
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 3; k++) {
      const r = await reader.encryptRead(ch.readCap, index);
      const res = await reader.startResendingEncryptedMessage({
        readCap: ch.readCap,
        messageBoxIndex: index,
        envelopeDescriptor: r.envelopeDescriptor,
        messageCiphertext: r.messageCiphertext,
        envelopeHash: r.envelopeHash,
      });
      parts.push(res.plaintext);
      index = r.nextMessageBoxIndex;
    }
    expect(parts.map((p) => p.length)).toEqual([per, per, 5]);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(payload));

    // And the other way round: boxes written one by one come back from readStream.
    const ch2 = await channel();
    let w = ch2.firstMessageIndex;
    for (const chunk of [
      payload.subarray(0, per),
      payload.subarray(per, 2 * per),
      payload.subarray(2 * per),
    ]) {
      const e = await writer.encryptWrite(chunk, ch2.writeCap, w);
      await writer.startResendingEncryptedMessage({
        writeCap: ch2.writeCap,
        envelopeDescriptor: e.envelopeDescriptor,
        messageCiphertext: e.messageCiphertext,
        envelopeHash: e.envelopeHash,
      });
      w = e.nextMessageBoxIndex;
    }
    const got = await readStream(reader, ch2.readCap, ch2.firstMessageIndex, 3, 0, fast);
    expect(got.data).toEqual(payload);
  });

  it('sizes window 0 from the PKI document (LambdaP, Mu, hop count) and caps it below the daemon queue', () => {
    const doc = writer.pkiDocument()!;
    expect(resolveWindow(writer, 0)).toBe(autoWindow(doc.lambdaP, doc.mu, writer.sphinxGeometry.nrHops));
    expect(autoWindow(0.001, 0.005, 5)).toBe(11); // the docker testnet, paced
    expect(autoWindow(1, 0.001, 5)).toBe(15);
    expect(autoWindow(0, 0.005, 5)).toBe(1);
  });

  it('reports progress box by box up to the total', async () => {
    const ch = await channel();
    const seen: StreamProgress[] = [];
    const payload = new Uint8Array(randomBytes(4 * per));
    await writeStream(writer, ch.writeCap, ch.firstMessageIndex, payload, 2, {
      ...fast,
      onProgress: (p) => seen.push(p),
    });
    expect(seen.map((p) => p.boxesDone)).toEqual([1, 2, 3, 4]);
    expect(seen.every((p) => p.boxCount === 4 && p.inFlight <= 2)).toBe(true);
  });

  it('paces admissions by default and still returns the exact bytes', async () => {
    const ch = await channel();
    const payload = new Uint8Array(randomBytes(3 * per));
    await writeStream(writer, ch.writeCap, ch.firstMessageIndex, payload, 0, { pacing: { meanGapMs: 2 } });
    const got = await readStream(reader, ch.readCap, ch.firstMessageIndex, 3, 0, {
      pacing: { meanGapMs: 2 },
    });
    expect(got.data).toEqual(payload);
  });

  it('rejects with the abort reason and cancels the reads in flight at the daemon when the signal aborts', async () => {
    // Its own session: reads of boxes that do not exist re-poll without end and would hog the others.
    const client = await ThinClient.connect(env.net.thinClientConfig);
    try {
      const ch = await channel(client);
      const controller = new AbortController();
      const reason = new Error('user gave up');
      // One read the daemon has dispatched: the abort cancels it there, with nothing written.
      const single = new AbortController();
      const one = readStream(client, ch.readCap, ch.firstMessageIndex, 1, 1, {
        ...fast,
        signal: single.signal,
      });
      await until(() => env.net.stats().arqsInFlight === 1);
      single.abort(reason);
      await expect(one).rejects.toBe(reason);
      await until(() => env.net.stats().arqsInFlight === 0);

      // Nothing is written there, so the reads wait (the daemon re-polls BoxIDNotFound).
      const aborted = readStream(client, ch.readCap, ch.firstMessageIndex, 8, 4, {
        ...fast,
        signal: controller.signal,
      });
      await until(() => env.net.stats().arqsInFlight >= 2);
      controller.abort(reason);
      await expect(aborted).rejects.toBe(reason);
      // The reads the daemon had dispatched are cancelled there. A start still queued in the daemon when its
      // cancel arrived is dispatched later and runs on (katzenpost client/pigeonhole.go: the cancel runs
      // inline and finds nothing); once the boxes exist it ends too, and nothing is left behind.
      await writeStream(
        writer,
        ch.writeCap,
        ch.firstMessageIndex,
        new Uint8Array(randomBytes(8 * per)),
        4,
        fast,
      );
      await until(() => env.net.stats().arqsInFlight === 0);
    } finally {
      await client.close();
    }
  });

  it('rejects a read that reaches a tombstoned box with TombstoneError', async () => {
    const ch = await channel();
    const payload = new Uint8Array(randomBytes(3 * per));
    const next = await writeStream(writer, ch.writeCap, ch.firstMessageIndex, payload, 3, fast);
    const tomb = await writer.tombstoneRange(ch.writeCap, next, 1);
    for (const e of tomb.envelopes) {
      await writer.startResendingEncryptedMessage({
        writeCap: ch.writeCap,
        envelopeDescriptor: e.envelopeDescriptor,
        messageCiphertext: e.messageCiphertext,
        envelopeHash: e.envelopeHash,
      });
    }
    await expect(readStream(reader, ch.readCap, ch.firstMessageIndex, 4, 2, fast)).rejects.toBeInstanceOf(
      TombstoneError,
    );
  });
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

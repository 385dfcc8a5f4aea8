import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDevnetClient } from '../../helpers/devnetClient.js';

describe("ThinClient.writeStream / readStream (the guide's stream API)", () => {
  const env = useDevnetClient();

  it('returns exactly the bytes written, with the box count derived as the guide says', async () => {
    const { writeCap, readCap, firstMessageIndex } = await env.client.newKeypair(randomBytes(32));
    const payload = randomBytes(4000);
    const next = await env.client.writeStream(writeCap, firstMessageIndex, payload, 0, { pacing: false });
    const perBox = env.client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
    const boxCount = Math.ceil(payload.length / perBox);
    const { data, nextIndex } = await env.client.readStream(readCap, firstMessageIndex, boxCount, 0, {
      pacing: false,
    });
    expect(Buffer.from(data).equals(payload)).toBe(true);
    expect(Buffer.from(nextIndex).equals(Buffer.from(next))).toBe(true);
  });

  it("supports the guide's peek-the-first-box pattern for a length-prefixed payload", async () => {
    const { writeCap, readCap, firstMessageIndex } = await env.client.newKeypair(randomBytes(32));
    const body = randomBytes(3500);
    const framed = new Uint8Array(4 + body.length);
    new DataView(framed.buffer).setUint32(0, body.length, false);
    framed.set(body, 4);
    await env.client.writeStream(writeCap, firstMessageIndex, framed, 2, { pacing: false });

    const perBox = env.client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
    const first = await env.client.readStream(readCap, firstMessageIndex, 1, 0, { pacing: false });
    const total = new DataView(first.data.buffer, first.data.byteOffset).getUint32(0, false) + 4;
    const totalBoxes = Math.ceil(total / perBox);
    const rest = await env.client.readStream(readCap, first.nextIndex, totalBoxes - 1, 0, { pacing: false });
    const payload = new Uint8Array([...first.data, ...rest.data]).subarray(4);
    expect(Buffer.from(payload).equals(body)).toBe(true);
  });

  it("rejects with the signal's reason when aborted", async () => {
    const { writeCap, firstMessageIndex } = await env.client.newKeypair(randomBytes(32));
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(
      env.client.writeStream(writeCap, firstMessageIndex, randomBytes(2000), 0, {
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
  });
});

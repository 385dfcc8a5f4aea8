/**
 * Send a message to a mixnet service (the echo service): the one-call `blockingSendMessage`, and
 * `sendMessage` with its `messageSent` and `messageReply` events. Not part of Pigeonhole.
 *
 *   npx tsx examples/guide/03-echo.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { openExample } from './daemon.js';

const { client, close } = await openExample();
try {
  const [destNode, destQueue] = client.getService('echo').toDestination();
  const ping = new TextEncoder().encode('hello mixnet');

  // One call: a private SURB, resolved with the reply (rejects with TimeoutError after timeoutMs).
  const reply = await client.blockingSendMessage(ping, destNode, destQueue, { timeoutMs: 60_000 });
  // The echo service pads its reply to the full payload length; the request comes first.
  assert.deepEqual(reply.subarray(0, ping.length), ping);
  console.log(
    `echo replied with ${reply.length} bytes:`,
    new TextDecoder().decode(reply.subarray(0, ping.length)),
  );

  // The event-driven form: choose the SURB id, then match the reply by it.
  const surbId = crypto.getRandomValues(new Uint8Array(16));
  const ours = (id: Uint8Array | null) => id !== null && Buffer.from(id).equals(surbId);
  const sent = new Promise<number>((resolve) => {
    const off = client.on('messageSent', (ev) => {
      if (!ours(ev.surbId)) return;
      off();
      resolve(ev.replyEtaMs);
    });
  });
  const replied = new Promise<Uint8Array>((resolve) => {
    const off = client.on('messageReply', (ev) => {
      if (!ours(ev.surbId)) return;
      off();
      resolve(ev.payload);
    });
  });
  await client.sendMessage(surbId, ping, destNode, destQueue);
  console.log('sent; reply expected within', await sent, 'ms');
  assert.deepEqual((await replied).subarray(0, ping.length), ping);
  console.log('reply event matched the SURB id');
} finally {
  await close();
}

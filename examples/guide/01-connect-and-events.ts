/**
 * Connect to the daemon and handle events: a callback with `on`, an async iterator with `events`,
 * and the connection state with `status`.
 *
 *   npx tsx examples/guide/01-connect-and-events.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import { openExample } from './daemon.js';

const { client, close } = await openExample();
try {
  // The handshake is done once connect() resolves: the geometry and the PKI document are known.
  console.log('mixnet connected:', client.isConnected());
  console.log('max plaintext per box:', client.pigeonholeGeometry.maxPlaintextPayloadLength);

  // A callback for one event type; `on` returns the function that unsubscribes it.
  const off = client.on('daemonConnected', (ev) => console.log('daemonConnected, resumed:', ev.resumed));

  // An iterator with its own bounded queue; it ends when the signal aborts or the client closes.
  const stop = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const ev of client.events({ signal: stop.signal })) seen.push(ev.type);
  })();

  // Make something happen: drop the socket (the daemon keeps the session), then dial again.
  // (A socket lost by accident also emits daemonDisconnected; one dropped on purpose does not.)
  await client.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the daemon see the close first
  await client.reconnect();

  // status() yields the current state first, then every change.
  for await (const status of client.status()) {
    console.log('status:', status);
    assert.equal(status.link, 'ready');
    break;
  }

  stop.abort();
  await reading;
  off();
  console.log('events seen:', seen.join(', '));
  // A resumed session: the daemon sends its status and document again, and the client says so.
  for (const type of ['connectionStatus', 'newPkiDocument', 'daemonConnected'] as const) {
    assert.ok(seen.includes(type), `expected a ${type} event`);
  }
} finally {
  await close();
}

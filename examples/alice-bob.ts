/**
 * The guide's complete end-to-end example, on the embedded devnet: Alice creates a channel and
 * writes one message; Bob reads it back with the read capability she shared.
 *
 *   npm start                      # embedded devnet, nothing else to run
 *   npm start -- --config thinclient.toml   # the same against a real kpclientd
 *   npm start -- --inspect                  # also serve the live operation inspector, until Ctrl-C
 *
 * With --inspect the conversation goes on, so the inspector has something live to show: Bob
 * waits for Alice's next message (a read in flight), and each line typed on stdin has Alice
 * write it.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ClientClosedError, startInspectorServer, ThinClient } from 'katzenpost-thin-client';
import { startDevnet } from 'katzenpost-thin-client/devnet';

const { values } = parseArgs({ options: { config: { type: 'string' }, inspect: { type: 'boolean' } } });

const inspector = values.inspect ? await startInspectorServer() : undefined;
if (inspector) console.log(`inspector: ${inspector.url}`);
const net = values.config
  ? undefined
  : await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant' });
const client = await ThinClient.connect(values.config ?? net!.thinClientConfig, {
  // Inspecting, Bob's read waits at the daemon as one operation (its replay after a daemon restart
  // shows), instead of the client's short polls that keep waiting reads from starving other requests.
  ...(inspector ? { inspect: inspector.inspect, waitingReads: false } : {}),
});
const text = new TextEncoder();
const read = new TextDecoder();

/** Alice encrypts `message` for the box at `index` and sends it under ARQ until acknowledged. */
async function write(writeCap: Uint8Array, index: Uint8Array, message: string): Promise<Uint8Array> {
  const w = await client.encryptWrite(text.encode(message), writeCap, index);
  await client.startResendingEncryptedMessage({
    writeCap,
    envelopeDescriptor: w.envelopeDescriptor,
    messageCiphertext: w.messageCiphertext,
    envelopeHash: w.envelopeHash,
  });
  return w.nextMessageBoxIndex;
}

/** Bob reads the box at `index`; the daemon retries until the box has been written. */
async function readBox(readCap: Uint8Array, index: Uint8Array): Promise<string> {
  const r = await client.encryptRead(readCap, index);
  const { plaintext } = await client.startResendingEncryptedMessage({
    readCap,
    messageBoxIndex: index,
    envelopeDescriptor: r.envelopeDescriptor,
    messageCiphertext: r.messageCiphertext,
    envelopeHash: r.envelopeHash,
  });
  return read.decode(plaintext);
}

/** Bob waits for each next message while Alice writes one per line of stdin, until Ctrl-C. */
async function converse(writeCap: Uint8Array, readCap: Uint8Array, from: Uint8Array): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const interrupted = new Promise<'quit'>((resolve) => process.once('SIGINT', () => resolve('quit')));
  let index = from;
  for (let n = 2; ; n++) {
    const bobReads = readBox(readCap, index);
    bobReads.catch(() => {}); // settled below, or rejected by close() on quit
    console.log('Bob is waiting for the next message: press Enter to have Alice write it (Ctrl-C quits)');
    const next = await Promise.race([lines.next(), interrupted]);
    if (next === 'quit') return;
    if (next.done) {
      await interrupted; // stdin ended: keep serving the inspector until Ctrl-C
      return;
    }
    const message = next.value.trim() || `message ${n} from Alice`;
    index = await write(writeCap, index, message);
    console.log('Bob read:', await bobReads);
  }
}

try {
  console.log(values.config ? `connected to ${values.config}` : `devnet listening on ${net!.address}`);

  // Alice creates a channel: a local operation, no network traffic.
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomBytes(32));

  // Alice writes one message: encrypt locally, then send it under ARQ until acknowledged.
  const next = await write(writeCap, firstMessageIndex, 'hello from Alice');
  console.log('Alice wrote: hello from Alice');

  // Bob reads it back with the read cap and first index Alice shared out of band.
  console.log('Bob read:', await readBox(readCap, firstMessageIndex));

  if (inspector) {
    console.log(`inspector serving ${inspector.url}`);
    await converse(writeCap, readCap, next);
  }
} catch (error) {
  if (!(error instanceof ClientClosedError)) throw error;
} finally {
  await inspector?.close();
  await client.close();
  await net?.stop();
  process.stdin.destroy();
}

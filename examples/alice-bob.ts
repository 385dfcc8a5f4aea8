/**
 * The guide's complete end-to-end example, on the embedded devnet: Alice creates a channel and
 * writes one message; Bob reads it back with the read capability she shared.
 *
 *   npm start                      # embedded devnet, nothing else to run
 *   npm start -- --config thinclient.toml   # the same against a real kpclientd
 *   npm start -- --inspect                  # also serve the live operation inspector, until Ctrl-C
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startDevnet } from '../src/devnet/index.js';
import { ThinClient } from '../src/index.js';
import { startInspectorServer } from '../src/inspectorServer.js';

const { values } = parseArgs({ options: { config: { type: 'string' }, inspect: { type: 'boolean' } } });

const inspector = values.inspect ? await startInspectorServer() : undefined;
if (inspector) console.log(`inspector: ${inspector.url}`);
const net = values.config
  ? undefined
  : await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant' });
const client = await ThinClient.connect(values.config ?? net!.thinClientConfig, {
  ...(inspector ? { inspect: inspector.inspect } : {}),
});
try {
  console.log(values.config ? `connected to ${values.config}` : `devnet listening on ${net!.address}`);

  // Alice creates a channel: a local operation, no network traffic.
  const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(randomBytes(32));

  // Alice writes one message: encrypt locally, then send it under ARQ until acknowledged.
  const message = new TextEncoder().encode('hello from Alice');
  const w = await client.encryptWrite(message, writeCap, firstMessageIndex);
  await client.startResendingEncryptedMessage({
    writeCap,
    envelopeDescriptor: w.envelopeDescriptor,
    messageCiphertext: w.messageCiphertext,
    envelopeHash: w.envelopeHash,
  });
  console.log('Alice wrote:', new TextDecoder().decode(message));

  // Bob reads it back with the read cap and first index Alice shared out of band.
  const r = await client.encryptRead(readCap, firstMessageIndex);
  const { plaintext } = await client.startResendingEncryptedMessage({
    readCap,
    messageBoxIndex: firstMessageIndex,
    envelopeDescriptor: r.envelopeDescriptor,
    messageCiphertext: r.messageCiphertext,
    envelopeHash: r.envelopeHash,
  });
  console.log('Bob read:', new TextDecoder().decode(plaintext));
} finally {
  if (inspector) {
    console.log(`inspector still serving ${inspector.url} — Ctrl-C to quit`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
    await inspector.close();
  }
  await client.close();
  await net?.stop();
}

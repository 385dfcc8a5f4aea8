/**
 * The README's example: Alice creates a channel and writes to it, Bob reads it back.
 *
 *   npx tsx examples/quick-start.ts                            # on an embedded devnet
 *   npx tsx examples/quick-start.ts --config thinclient.toml   # on the kpclientd it names
 */
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { ThinClient } from 'katzenpost-thin-client';
import { startDevnet } from 'katzenpost-thin-client/devnet';

const { config } = parseArgs({ options: { config: { type: 'string' } } }).values;
const net = config ? undefined : await startDevnet();
const client = await ThinClient.connect(config ?? net!.thinClientConfig); // thinclient.toml as Go/Python/Rust read it

// Alice creates a channel (local: no network traffic) and writes one message: local encryption,
// then an ARQ operation that survives reconnects and daemon restarts.
const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(
  crypto.getRandomValues(new Uint8Array(32)),
);
const w = await client.encryptWrite(new TextEncoder().encode('hello'), writeCap, firstMessageIndex);
await client.startResendingEncryptedMessage({ writeCap, ...w });

// Bob reads it with the read cap and index Alice shared.
const r = await client.encryptRead(readCap, firstMessageIndex);
const { plaintext } = await client.startResendingEncryptedMessage({
  readCap,
  messageBoxIndex: firstMessageIndex,
  ...r,
});
console.log('Bob read:', new TextDecoder().decode(plaintext));
assert.equal(new TextDecoder().decode(plaintext), 'hello');

await client.close();
await net?.close();

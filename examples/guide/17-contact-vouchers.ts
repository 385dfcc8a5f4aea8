/**
 * Introduce a contact with a voucher. The joiner mints a voucher from the write cap of the stream it
 * will write to, publishes the voucher payload, and hands the 32-byte voucher to the inductor out of
 * band. The inductor derives the rendezvous stream from the voucher alone, checks the payload and
 * seals a reply; the joiner opens it. Both then hold the two halves of one new stream.
 *
 *   npx tsx examples/guide/17-contact-vouchers.ts [--config thinclient.toml]
 */
import assert from 'node:assert/strict';
import type { ThinClient } from 'katzenpost-thin-client';
import { openExample, randomSeed } from './daemon.js';

/** A cap ends with the first index of its stream (104 bytes). */
const firstIndexOf = (cap: Uint8Array) => cap.subarray(cap.length - 104);

async function write(client: ThinClient, writeCap: Uint8Array, index: Uint8Array, data: Uint8Array) {
  const w = await client.encryptWrite(data, writeCap, index);
  await client.startResendingEncryptedMessage({ writeCap, ...w });
}

async function read(client: ThinClient, readCap: Uint8Array, index: Uint8Array): Promise<Uint8Array> {
  const r = await client.encryptRead(readCap, index);
  return (await client.startResendingEncryptedMessage({ readCap, messageBoxIndex: index, ...r })).plaintext;
}

const { client, close } = await openExample(); // one client plays both parts here
try {
  // Joiner: its message stream, a voucher for it, and the payload published in box 0.
  const messages = await client.newKeypair(randomSeed());
  const minted = await client.voucherMint(messages.writeCap, 'Alice');
  const box0 = firstIndexOf(minted.voucherWriteCap);
  await write(client, minted.voucherWriteCap, box0, minted.voucherPayload);

  // Inductor: has only `minted.voucher`. It finds the payload, checks it, and seals a reply into box 1.
  const rendezvous = await client.voucherDeriveStream(minted.voucher);
  const payload = await read(client, rendezvous.voucherReadCap, firstIndexOf(rendezvous.voucherReadCap));
  const inducted = await client.voucherInduct(minted.voucher, payload, new TextEncoder().encode('welcome'));
  console.log('inductor: the voucher introduces', inducted.displayName);
  const box1 = await client.nextMessageBoxIndex(firstIndexOf(rendezvous.voucherWriteCap));
  await write(client, rendezvous.voucherWriteCap, box1, inducted.sealedReply);

  // Joiner: opens the reply with the secret key it kept; the salt gives it the new write cap.
  const sealed = await read(client, minted.voucherReadCap, box1);
  const opened = await client.voucherOpen(minted.voucherSecretKey, sealed, messages.writeCap);
  console.log('joiner: the inductor says', new TextDecoder().decode(opened.whoReply));

  // The joiner writes with the mutated write cap; the inductor reads with the mutated read cap.
  const start = firstIndexOf(opened.mutatedMessageWriteCap);
  await write(client, opened.mutatedMessageWriteCap, start, new TextEncoder().encode('hello from Alice'));
  const received = await read(client, inducted.mutatedMessageReadCap, start);
  console.log('inductor reads:', new TextDecoder().decode(received));
  assert.equal(new TextDecoder().decode(received), 'hello from Alice');
} finally {
  await close();
}

/** Pigeonhole request helpers over the raw test client. */
import { expect } from 'vitest';
import type { RawClient, Reply } from './rawClient.js';

export interface Keys {
  writeCap: Uint8Array;
  readCap: Uint8Array;
  first: Uint8Array;
}

export const text = (s: string) => new TextEncoder().encode(s);
export const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b ?? new Uint8Array(0));

export async function keypair(
  c: RawClient,
  seed: number | Uint8Array = crypto.getRandomValues(new Uint8Array(32)),
): Promise<Keys> {
  const s = typeof seed === 'number' ? new Uint8Array(32).fill(seed) : seed;
  const r = await c.call('new_keypair', { seed: s }, 'new_keypair_reply');
  expect(r.error_code).toBe(0);
  return { writeCap: r.write_cap!, readCap: r.read_cap!, first: r.first_message_index! };
}

export interface Flags {
  noRetry?: boolean;
  noIdempotent?: boolean;
}

export async function encryptWrite(c: RawClient, k: Keys, index: Uint8Array, plaintext: Uint8Array) {
  const w = await c.call(
    'encrypt_write',
    { plaintext, write_cap: k.writeCap, message_box_index: index },
    'encrypt_write_reply',
  );
  expect(w.error_code).toBe(0);
  return w;
}

export async function encryptRead(c: RawClient, k: Keys, index: Uint8Array) {
  const r = await c.call(
    'encrypt_read',
    { read_cap: k.readCap, message_box_index: index },
    'encrypt_read_reply',
  );
  expect(r.error_code).toBe(0);
  return r;
}

/** encrypt_write + start_resending_encrypted_message; resolves with the final reply. */
export async function write(
  c: RawClient,
  k: Keys,
  index: Uint8Array,
  plaintext: Uint8Array,
  flags: Flags = {},
): Promise<Reply<'start_resending_encrypted_message_reply'>> {
  const w = await encryptWrite(c, k, index, plaintext);
  return c.call(
    'start_resending_encrypted_message',
    {
      write_cap: k.writeCap,
      envelope_descriptor: w.envelope_descriptor,
      message_ciphertext: w.message_ciphertext,
      envelope_hash: w.envelope_hash,
      no_idempotent_box_already_exists: flags.noIdempotent,
    },
    'start_resending_encrypted_message_reply',
  );
}

/** encrypt_read + start_resending_encrypted_message; resolves with the final reply. */
export async function read(
  c: RawClient,
  k: Keys,
  index: Uint8Array,
  flags: Flags = {},
): Promise<Reply<'start_resending_encrypted_message_reply'>> {
  const r = await encryptRead(c, k, index);
  return c.call(
    'start_resending_encrypted_message',
    {
      read_cap: k.readCap,
      message_box_index: index,
      envelope_descriptor: r.envelope_descriptor,
      message_ciphertext: r.message_ciphertext,
      envelope_hash: r.envelope_hash,
      no_retry_on_box_id_not_found: flags.noRetry,
    },
    'start_resending_encrypted_message_reply',
  );
}

export async function nextIndex(c: RawClient, index: Uint8Array): Promise<Uint8Array> {
  const r = await c.call(
    'next_message_box_index',
    { message_box_index: index },
    'next_message_box_index_reply',
  );
  expect(r.error_code).toBe(0);
  return r.next_message_box_index!;
}

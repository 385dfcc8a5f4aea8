/**
 * Local requests: answered inline, in order, with no mixnet traffic.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { keypair, text } from './helpers.js';
import { queryId, RawClient } from './rawClient.js';

const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/vectors/newkeypair_selfderived.json', import.meta.url), 'utf8'),
) as {
  vectors: {
    seed_hex: string;
    writecap_hex: string;
    readcap_hex: string;
    first_index_hex: string;
    first_idx64: string;
    next_index_hex: string;
  }[];
};
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

let net: Devnet;
let client: RawClient;

beforeAll(async () => {
  net = await startDevnet({ authorityScheme: 'Ed25519', seed: 'local' });
  client = (await RawClient.session(net.thinClientConfig)).client;
});

afterAll(async () => {
  client.close();
  await net.stop();
});

describe('devnet local requests', () => {
  it('derives caps from a seed exactly as the real daemon does (newkeypair vectors), statelessly', async () => {
    for (const v of vectors.vectors) {
      const r = await client.call('new_keypair', { seed: hex(v.seed_hex) }, 'new_keypair_reply');
      expect(r.error_code).toBe(0);
      expect(r.write_cap).toEqual(hex(v.writecap_hex));
      expect(r.read_cap).toEqual(hex(v.readcap_hex));
      expect(r.first_message_index).toEqual(hex(v.first_index_hex));
      const again = await client.call('new_keypair', { seed: hex(v.seed_hex) }, 'new_keypair_reply');
      expect(again.write_cap).toEqual(r.write_cap);
      const counter = await client.call(
        'get_message_box_index_counter',
        { message_box_index: r.first_message_index },
        'get_message_box_index_counter_reply',
      );
      expect(counter.counter).toBe(BigInt(v.first_idx64));
      const next = await client.call(
        'next_message_box_index',
        { message_box_index: r.first_message_index },
        'next_message_box_index_reply',
      );
      expect(next.next_message_box_index).toEqual(hex(v.next_index_hex));
    }
    expect(net.stats().packetsSent).toBe(0);
  });

  it('refuses seeds that are missing, shorter than 32 bytes or not exactly 32 bytes with InvalidRequest (3)', async () => {
    for (const seed of [undefined, new Uint8Array(31), new Uint8Array(33)]) {
      const r = await client.call('new_keypair', { seed }, 'new_keypair_reply');
      expect(r.error_code).toBe(3);
      expect(r.write_cap).toBeUndefined();
    }
  });

  it('validates encrypt_write: null plaintext 3, over 1549 bytes 3, exactly 1549 fine; replies carry the next index', async () => {
    const k = await keypair(client);
    const nul = await client.call(
      'encrypt_write',
      { write_cap: k.writeCap, message_box_index: k.first },
      'encrypt_write_reply',
    );
    expect(nul.error_code).toBe(3);
    const big = await client.call(
      'encrypt_write',
      { plaintext: new Uint8Array(1550), write_cap: k.writeCap, message_box_index: k.first },
      'encrypt_write_reply',
    );
    expect(big.error_code).toBe(3);
    const max = await client.call(
      'encrypt_write',
      { plaintext: new Uint8Array(1549), write_cap: k.writeCap, message_box_index: k.first },
      'encrypt_write_reply',
    );
    expect(max.error_code).toBe(0);
    expect(max.message_ciphertext!.length).toBe(2000);
    expect(max.envelope_hash!.length).toBe(32);
    const next = await client.call(
      'next_message_box_index',
      { message_box_index: k.first },
      'next_message_box_index_reply',
    );
    expect(max.next_message_box_index).toEqual(next.next_message_box_index);
    const noCap = await client.call(
      'encrypt_write',
      { plaintext: text('x'), message_box_index: k.first },
      'encrypt_write_reply',
    );
    expect(noCap.error_code).toBe(3);
  });

  it('builds reads and writes (and tombstones) of the same 2000-byte size, each with a fresh envelope hash', async () => {
    const k = await keypair(client);
    const r1 = await client.call(
      'encrypt_read',
      { read_cap: k.readCap, message_box_index: k.first },
      'encrypt_read_reply',
    );
    const r2 = await client.call(
      'encrypt_read',
      { read_cap: k.readCap, message_box_index: k.first },
      'encrypt_read_reply',
    );
    const t = await client.call(
      'encrypt_write',
      { plaintext: new Uint8Array(0), write_cap: k.writeCap, message_box_index: k.first },
      'encrypt_write_reply',
    );
    for (const r of [r1, r2, t]) {
      expect(r.error_code).toBe(0);
      expect(r.message_ciphertext!.length).toBe(2000);
    }
    expect(r1.envelope_hash).not.toEqual(r2.envelope_hash);
    const missing = await client.call('encrypt_read', { read_cap: k.readCap }, 'encrypt_read_reply');
    expect(missing.error_code).toBe(3);
  });

  it('answers index requests without an index with 3', async () => {
    expect((await client.call('next_message_box_index', {}, 'next_message_box_index_reply')).error_code).toBe(
      3,
    );
    expect(
      (await client.call('get_message_box_index_counter', {}, 'get_message_box_index_counter_reply'))
        .error_code,
    ).toBe(3);
  });

  it('lists the three directory authorities with PEM keys whose BLAKE2b-256 is identity_key_hash', async () => {
    const r = await client.call('get_directory_authorities', {}, 'get_directory_authorities_reply');
    expect(r.error_code).toBe(0);
    expect(r.authorities).toHaveLength(3);
    r.authorities!.forEach((a, i) => {
      const trusted = net.authorities[i]!;
      expect(a.identifier).toBe(trusted.name);
      expect(a.pki_signature_scheme).toBe('Ed25519');
      expect(a.wire_kem_scheme).toBe('xwing');
      const b64 = a.identity_public_key_pem!.replace(/-----[A-Z0-9 -]+-----|\n/g, '');
      expect(a.identity_public_key_pem!.startsWith('-----BEGIN ED25519 PUBLIC KEY-----\n')).toBe(true);
      expect(Uint8Array.from(Buffer.from(b64, 'base64'))).toEqual(trusted.publicKey);
      expect(a.identity_key_hash).toEqual(blake2b256(trusted.publicKey));
      expect(a.link_public_key_pem!.startsWith('-----BEGIN XWING PUBLIC KEY-----\n')).toBe(true);
    });
  });

  it('answers voucher requests locally, taking any 168 bytes as a write cap as Go does (vouchers.test.ts has the protocol)', async () => {
    const r = await client.call(
      'voucher_derive_stream',
      { voucher: new Uint8Array(32) },
      'voucher_derive_stream_reply',
    );
    expect(r.error_code).toBe(0);
    expect([r.voucher_write_cap!.length, r.voucher_read_cap!.length]).toEqual([168, 136]);
    const m = await client.call(
      'voucher_mint',
      { message_write_cap: new Uint8Array(168), display_name: 'x' },
      'voucher_mint_reply',
    );
    expect(m.error_code).toBe(0);
    expect(m.voucher!.length).toBe(32);
  });

  it('answers local requests strictly in the order they were sent', async () => {
    const ids = Array.from({ length: 20 }, () => queryId());
    ids.forEach((q, i) => {
      if (i % 2 === 0)
        client.send('get_message_box_index_counter', { query_id: q, message_box_index: new Uint8Array(104) });
      else client.send('get_pki_document', { query_id: q, epoch: 0n });
    });
    const got: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const r = await client.nextAny();
      got.push((r.msg as { body: { query_id: Uint8Array } }).body.query_id);
    }
    expect(got).toEqual(ids);
  });
});

/**
 * The copy command: envelope building (single, multi-destination with buffer continuation, tombstone
 * ranges), temp-stream writes, the courier's all-or-nothing copy, failures and cancellation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake2b256 } from '../../../src/crypto/hash.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { type Keys, keypair, nextIndex, read, str, text, write } from './helpers.js';
import { queryId, RawClient } from './rawClient.js';

let net: Devnet;
let client: RawClient;

beforeAll(async () => {
  net = await startDevnet({ authorityScheme: 'Ed25519', seed: 'copy' });
  client = (await RawClient.session(net.thinClientConfig)).client;
});

afterAll(async () => {
  client.close();
  await net.stop();
});

/** Writes element k of a copy stream into temp box k, from the temp cap's first index. */
async function writeTempStream(c: RawClient, temp: Keys, elements: Uint8Array[]): Promise<void> {
  let index = temp.first;
  for (const element of elements) {
    expect(element.length).toBeLessThanOrEqual(1549);
    expect((await write(c, temp, index, element)).error_code).toBe(0);
    index = await nextIndex(c, index);
  }
}

async function copy(c: RawClient, temp: Keys) {
  return c.call(
    'start_resending_copy_command',
    { write_cap: temp.writeCap },
    'start_resending_copy_command_reply',
  );
}

/** Reads `count` consecutive boxes from `start`. */
async function readBoxes(c: RawClient, k: Keys, count: number) {
  const out = [];
  let index = k.first;
  for (let i = 0; i < count; i++) {
    out.push(await read(c, k, index, { noRetry: true }));
    index = await nextIndex(c, index);
  }
  return out;
}

describe('devnet copy command', () => {
  it('copies a payload into consecutive destination boxes (1545-byte chunks) via a temp stream', async () => {
    const dest = await keypair(client);
    const temp = await keypair(client);
    const payload = crypto.getRandomValues(new Uint8Array(1545 * 2 + 910));
    const built = await client.call(
      'create_courier_envelopes_from_payload',
      { payload, dest_write_cap: dest.writeCap, dest_start_index: dest.first, is_start: true, is_last: true },
      'create_courier_envelopes_from_payload_reply',
    );
    expect(built.error_code).toBe(0);
    const elements = built.envelopes!;
    // 3 envelopes × 2003 stream bytes = 6009 → 4 elements: three full (1549) and a Final tail.
    expect(elements.map((e) => e.length)).toEqual([1549, 1549, 1549, 5 + 6009 - 3 * 1544]);
    expect(elements[0]![0]).toBe(0x01);
    expect(elements[3]![0]).toBe(0x02);
    let expectedNext = dest.first;
    for (let i = 0; i < 3; i++) expectedNext = await nextIndex(client, expectedNext);
    expect(built.next_dest_index).toEqual(expectedNext);

    await writeTempStream(client, temp, elements);
    const reply = await copy(client, temp);
    expect(reply.error_code).toBe(0);
    expect(reply.replica_error_code).toBeUndefined();
    const boxes = await readBoxes(client, dest, 3);
    expect(boxes.map((b) => b.error_code)).toEqual([0, 0, 0]);
    const joined = new Uint8Array(payload.length);
    let off = 0;
    for (const b of boxes) {
      joined.set(b.plaintext!, off);
      off += b.plaintext!.length;
    }
    expect(joined).toEqual(payload);
    expect(net.stats().copiesFinished).toBeGreaterThan(0);
  });

  it('without is_last emits the tail without Final, and without is_start the first element lacks Start', async () => {
    const dest = await keypair(client);
    const built = await client.call(
      'create_courier_envelopes_from_payload',
      {
        payload: text('tiny'),
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        is_start: false,
        is_last: false,
      },
      'create_courier_envelopes_from_payload_reply',
    );
    expect(built.envelopes).toHaveLength(2);
    expect(built.envelopes!.map((e) => e[0])).toEqual([0, 0]);
    const none = await client.call(
      'create_courier_envelopes_from_payload',
      {
        payload: new Uint8Array(0),
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        is_start: true,
        is_last: true,
      },
      'create_courier_envelopes_from_payload_reply',
    );
    expect(none.envelopes ?? []).toHaveLength(0);
    expect(none.next_dest_index).toEqual(dest.first);
  });

  it('copies to several destinations from one stream built over two calls with the Buffer continuation', async () => {
    const a = await keypair(client);
    const b = await keypair(client);
    const temp = await keypair(client);
    const first = await client.call(
      'create_courier_envelopes_from_multi_payload',
      {
        destinations: [{ payload: text('to A, box 1'), write_cap: a.writeCap, start_index: a.first }],
        is_start: true,
        is_last: false,
      },
      'create_courier_envelopes_from_multi_payload_reply',
    );
    expect(first.error_code).toBe(0);
    expect(first.buffer).toBeInstanceOf(Uint8Array);
    expect(first.buffer!.length).toBeGreaterThan(0);
    const aNext = first.next_dest_indices![0]!;
    const second = await client.call(
      'create_courier_envelopes_from_multi_payload',
      {
        destinations: [
          { payload: text('to A, box 2'), write_cap: a.writeCap, start_index: aNext },
          { payload: text('to B'), write_cap: b.writeCap, start_index: b.first },
        ],
        is_start: false,
        is_last: true,
        buffer: first.buffer,
      },
      'create_courier_envelopes_from_multi_payload_reply',
    );
    expect(second.error_code).toBe(0);
    expect(second.buffer).toBeUndefined(); // null when is_last
    expect(second.next_dest_indices).toHaveLength(2);
    const elements = [...(first.envelopes ?? []), ...second.envelopes!];
    expect(elements.at(-1)![0]! & 0x02).toBe(0x02);

    await writeTempStream(client, temp, elements);
    expect((await copy(client, temp)).error_code).toBe(0);
    expect((await readBoxes(client, a, 2)).map((r) => str(r.plaintext))).toEqual([
      'to A, box 1',
      'to A, box 2',
    ]);
    expect(str((await read(client, b, b.first)).plaintext)).toBe('to B');
  });

  it('tombstones a range of destination boxes through the copy command', async () => {
    const dest = await keypair(client);
    const temp = await keypair(client);
    expect((await write(client, dest, dest.first, text('one'))).error_code).toBe(0);
    const second = await nextIndex(client, dest.first);
    expect((await write(client, dest, second, text('two'))).error_code).toBe(0);

    const zero = await client.call(
      'create_courier_envelopes_from_tombstone_range',
      {
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        max_count: 0,
        is_start: true,
        is_last: true,
      },
      'create_courier_envelopes_from_tombstone_range_reply',
    );
    expect(zero.envelopes).toBeUndefined();
    expect(zero.next_dest_index).toEqual(dest.first);

    const built = await client.call(
      'create_courier_envelopes_from_tombstone_range',
      {
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        max_count: 2,
        is_start: true,
        is_last: true,
      },
      'create_courier_envelopes_from_tombstone_range_reply',
    );
    expect(built.error_code).toBe(0);
    expect(built.buffer).toBeUndefined();
    expect(built.next_dest_index).toEqual(await nextIndex(client, second));
    await writeTempStream(client, temp, built.envelopes!);
    expect((await copy(client, temp)).error_code).toBe(0);
    expect((await readBoxes(client, dest, 2)).map((r) => r.error_code)).toEqual([11, 11]);
  });

  it('fails with 26, the replica code and the 1-based stream position when a destination box holds other content', async () => {
    const dest = await keypair(client);
    const temp = await keypair(client);
    const second = await nextIndex(client, dest.first);
    expect((await write(client, dest, second, text('already here'))).error_code).toBe(0);
    const built = await client.call(
      'create_courier_envelopes_from_multi_payload',
      {
        destinations: [
          { payload: new Uint8Array(1545 + 10).fill(7), write_cap: dest.writeCap, start_index: dest.first },
        ],
        is_start: true,
        is_last: true,
      },
      'create_courier_envelopes_from_multi_payload_reply',
    );
    await writeTempStream(client, temp, built.envelopes!);
    const reply = await copy(client, temp);
    expect(reply.error_code).toBe(26);
    expect(reply.replica_error_code).toBe(10);
    expect(reply.failed_envelope_index).toBe(2n);
    // Not transactional: the first destination box was written.
    expect((await read(client, dest, dest.first)).error_code).toBe(0);
    expect(str((await read(client, dest, second)).plaintext)).toBe('already here');
  });

  it('fails with 26 and BoxIDNotFound (1) at position 1 when the temp stream is missing', async () => {
    const temp = await keypair(client);
    const reply = await copy(client, temp);
    expect(reply.error_code).toBe(26);
    expect(reply.replica_error_code).toBe(1);
    expect(reply.failed_envelope_index).toBe(1n);
  });

  it('rejects a copy command without a write cap (3) and an empty destination list (3)', async () => {
    expect(
      (await client.call('start_resending_copy_command', {}, 'start_resending_copy_command_reply'))
        .error_code,
    ).toBe(3);
    const r = await client.call(
      'create_courier_envelopes_from_multi_payload',
      { destinations: [], is_start: true, is_last: true },
      'create_courier_envelopes_from_multi_payload_reply',
    );
    expect(r.error_code).toBe(3);
  });
});

describe('devnet copy cancellation', () => {
  it('answers the copy request with 24, then the cancel request, while the courier is still reading', async () => {
    // Slow courier retries: reading a missing temp box keeps the copy InProgress.
    const slow = await startDevnet({
      authorityScheme: 'Ed25519',
      seed: 'copy-cancel',
      timing: { copyBackoffBaseMs: 3_600_000, copyBackoffMaxMs: 3_600_000 },
    });
    const c = (await RawClient.session(slow.thinClientConfig)).client;
    try {
      const temp = await keypair(c);
      const start = queryId();
      c.send('start_resending_copy_command', { query_id: start, write_cap: temp.writeCap });
      while (slow.stats().copiesStarted === 0) await new Promise((r) => setTimeout(r, 1));
      const cancel = queryId();
      c.send('cancel_resending_copy_command', {
        query_id: cancel,
        write_cap_hash: blake2b256(temp.writeCap),
      });
      expect((await c.waitFor('start_resending_copy_command_reply', start)).error_code).toBe(24);
      expect((await c.waitFor('cancel_resending_copy_command_reply', cancel)).error_code).toBe(0);
      expect(c.arrivals.slice(-2)).toEqual([
        'start_resending_copy_command_reply',
        'cancel_resending_copy_command_reply',
      ]);
    } finally {
      c.close();
      await slow.stop();
    }
  });
});

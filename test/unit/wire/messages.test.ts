import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import {
  decodeRequest,
  decodeResponse,
  encodeCbor,
  encodeRequest,
  encodeResponse,
  REQUEST_KEYS,
  RESPONSE_KEYS,
} from '../../../src/wire/index.js';

const qid = new Uint8Array(16).fill(1);

describe('message encoding', () => {
  it('sends a one-key map with byte strings for every binary field', () => {
    const bytes = encodeRequest('encrypt_write', {
      query_id: qid,
      plaintext: new Uint8Array(0),
      write_cap: new Uint8Array(168),
      message_box_index: new Uint8Array(104),
    });
    const decoded = decodeRequest(bytes);
    expect(decoded.key).toBe('encrypt_write');
    // An empty plaintext (a tombstone) must travel as an empty byte string (0x40), never null.
    expect(Buffer.from(bytes).includes(Buffer.from([0x69, ...Buffer.from('plaintext'), 0x40]))).toBe(true);
  });

  it.each([
    [
      'query_id',
      { query_id: new Uint8Array(15), seed: new Uint8Array(32) },
      'new_keypair.query_id: expected 16 bytes, got 15',
    ],
  ] as const)('refuses a wrong-length %s before encoding, naming the field', (_f, body, message) => {
    expect(() => encodeRequest('new_keypair', body)).toThrow(InvalidArgumentError);
    expect(() => encodeRequest('new_keypair', body)).toThrow(message);
  });

  it('refuses a wrong-length write cap, read cap, index and hash', () => {
    expect(() => encodeRequest('encrypt_read', { query_id: qid, read_cap: new Uint8Array(168) })).toThrow(
      'encrypt_read.read_cap: expected 136 bytes, got 168',
    );
    expect(() =>
      encodeRequest('next_message_box_index', { query_id: qid, message_box_index: new Uint8Array(103) }),
    ).toThrow('next_message_box_index.message_box_index: expected 104 bytes, got 103');
    expect(() =>
      encodeRequest('cancel_resending_copy_command', { query_id: qid, write_cap_hash: new Uint8Array(31) }),
    ).toThrow('expected 32 bytes, got 31');
  });

  it('encodes uint64 as the shortest integer and never as a float', () => {
    const small = encodeRequest('get_pki_document', { query_id: qid, epoch: 5n });
    const big = encodeRequest('get_pki_document', { query_id: qid, epoch: 2n ** 40n });
    expect(Buffer.from(small).toString('hex')).toContain('6565706f636805'); // "epoch" 05
    expect(Buffer.from(big).toString('hex')).toContain('6565706f63681b0000010000000000');
    expect((decodeRequest(big) as { body: { epoch: bigint } }).body.epoch).toBe(2n ** 40n);
  });

  it('omits omitempty fields in Go style and fills the rest with null', () => {
    const bytes = encodeResponse(
      'start_resending_copy_command_reply',
      { query_id: qid, error_code: 0 },
      'go',
    );
    const raw = decodeResponse(bytes);
    expect(raw).toEqual({
      key: 'start_resending_copy_command_reply',
      body: { query_id: qid, error_code: 0 },
    });
    expect(Buffer.from(bytes).includes(Buffer.from('replica_error_code'))).toBe(false);
  });

  it('knows the 21 request keys and 25 response keys of the Go structs', () => {
    expect(REQUEST_KEYS).toHaveLength(21);
    expect(RESPONSE_KEYS).toHaveLength(25);
  });
});

describe('message decoding', () => {
  it('dispatches on the first non-null key', () => {
    const bytes = encodeCbor({
      session_token_reply: null,
      new_keypair_reply: { query_id: qid, error_code: 3 },
    });
    expect(decodeResponse(bytes)).toEqual({
      key: 'new_keypair_reply',
      body: { query_id: qid, error_code: 3 },
    });
  });

  it('surfaces a map without a known key as unknown, keeping the raw map', () => {
    expect(decodeResponse(encodeCbor({ future_event: { x: 1 } }))).toEqual({
      key: 'unknown',
      raw: { future_event: { x: 1 } },
    });
  });

  it('returns counters as bigint whatever head the daemon used', () => {
    const r = decodeResponse(
      encodeCbor({ get_message_box_index_counter_reply: { query_id: qid, counter: 7, error_code: 0 } }),
    );
    expect((r as { body: { counter: bigint } }).body.counter).toBe(7n);
  });

  it.each([
    ['text where bytes belong', { new_keypair_reply: { query_id: 'abc' } }],
    ['a 15-byte query id', { new_keypair_reply: { query_id: new Uint8Array(15) } }],
    ['an error code above 255', { new_keypair_reply: { error_code: 300 } }],
    ['a top-level array', [1, 2]],
    ['a body that is not a map', { new_keypair_reply: 5 }],
  ])('rejects %s with ProtocolError', (_name, value) => {
    expect(() => decodeResponse(encodeCbor(value))).toThrow(ProtocolError);
  });

  it('rejects truncated CBOR with ProtocolError', () => {
    const bytes = encodeResponse('new_keypair_reply', { query_id: qid, error_code: 0 });
    expect(() => decodeResponse(bytes.subarray(0, bytes.length - 2))).toThrow(ProtocolError);
  });

  it('pads 16-byte fields like Go when asked to, but never caps or indices', () => {
    const short = encodeCbor({
      cancel_resending_encrypted_message: { query_id: new Uint8Array(3), envelope_hash: new Uint8Array(32) },
    });
    const r = decodeRequest(short, { fixedSize: 'go' }) as { body: { query_id: Uint8Array } };
    expect(r.body.query_id).toHaveLength(16);
    const badCap = encodeCbor({ encrypt_read: { query_id: qid, read_cap: new Uint8Array(10) } });
    expect(() => decodeRequest(badCap, { fixedSize: 'go' })).toThrow(ProtocolError);
  });

  it('returns plain Uint8Array, never Buffer', () => {
    const r = decodeResponse(encodeResponse('new_keypair_reply', { query_id: qid, error_code: 0 })) as {
      body: { query_id: Uint8Array };
    };
    expect(Buffer.isBuffer(r.body.query_id)).toBe(false);
  });
});

describe('codec limits', () => {
  it('refuses a negative or oversized uint64 from the peer', () => {
    expect(() =>
      decodeRequest(encodeCbor({ get_pki_document: { query_id: qid, epoch: -(2n ** 63n) } })),
    ).toThrow(ProtocolError);
    expect(() =>
      decodeResponse(encodeCbor({ get_message_box_index_counter_reply: { query_id: qid, counter: -1 } })),
    ).toThrow(ProtocolError);
  });

  it('refuses CBOR nested deeper than 32 levels, as Go does, and accepts 32', () => {
    const nest = (n: number): unknown => (n === 0 ? 0 : [nest(n - 1)]);
    // The top-level map is level 1, so 31 arrays inside it make 32 levels.
    expect(() => decodeRequest(encodeCbor({ zz: nest(31) }))).not.toThrow();
    expect(() => decodeRequest(encodeCbor({ zz: nest(32) }))).toThrow(/nested deeper than 32/);
  });
});

describe('hostile map keys', () => {
  it('keeps "__proto__" as an ordinary key in both directions', () => {
    const value = JSON.parse('{"__proto__": {"x": 1}, "new_keypair_reply": {"error_code": 3}}');
    const bytes = encodeCbor({ ...value, pad: new Uint8Array(2) });
    const decoded = decodeResponse(bytes);
    expect(decoded.key).toBe('new_keypair_reply');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    const withBytes = encodeCbor(JSON.parse('{"__proto__": 1}'));
    expect(withBytes.length).toBeGreaterThan(0);
  });
});

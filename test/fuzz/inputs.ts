/**
 * fast-check arbitraries for what a hostile or buggy thin client can put on the daemon socket,
 * each labelled with what the real kpclientd does with it (katzenpost client/incoming_conn.go, daemon.go;
 * fxamacker/cbor v2.9.1 default decoding):
 *
 * - `keep`: Go's fxamacker decoder accepts the frame, so the daemon must keep the connection
 *   (and, for a local request whose query_id we know, answer it in order).
 * - `drop`: the frame cannot be decoded into Go's Request struct (malformed or truncated CBOR,
 *   trailing bytes, a top-level value that is not a map, a wrong type for a known field, a cap or
 *   index of the wrong length, integer overflow) or it is thin_close: the connection must close.
 * - `either`: undecided without re-implementing fxamacker bit for bit (random bytes, byte-level
 *   mutations, case-folded keys, duplicate keys). The daemon may do either, but must survive and
 *   keep answering on a connection it keeps.
 *
 * Tail inputs end a connection: oversize length prefixes and zero-length frames (must drop),
 * truncated frames and unframed noise followed by our EOF (must close).
 */
import fc from 'fast-check';
import type { EncodeStyle, Field, FieldType, RequestKey } from '../../src/wire/index.js';
import { encodeCbor, encodeFrame, encodeRequest, REQUESTS, SIZES } from '../../src/wire/index.js';

export type Expect = 'keep' | 'drop' | 'either';

export interface FrameInput {
  kind: 'frame';
  label: string;
  /** Bytes on the wire, prefix included. */
  bytes: Uint8Array;
  expect: Expect;
  /** For a kept local request: the reply key and the query_id as the daemon normalises it. */
  reply?: { key: string; queryId: Uint8Array };
}

export interface TailInput {
  kind: 'tail';
  label: string;
  bytes: Uint8Array;
  /** `drop`: the daemon must close by itself. `eof`: we half-close and the daemon must follow. */
  expect: 'drop' | 'eof';
}

/** Real material from the devnet, so that valid requests are valid all the way down. */
export interface FuzzContext {
  writeCap: Uint8Array;
  readCap: Uint8Array;
  firstIndex: Uint8Array;
  /** An index following firstIndex. */
  nextIndex: Uint8Array;
  /** A box that exists (written at setup) and its write envelope. */
  writtenIndex: Uint8Array;
  writeEnvelope: { descriptor: Uint8Array; ciphertext: Uint8Array; hash: Uint8Array };
  /** A read envelope for the written box. */
  readEnvelope: { descriptor: Uint8Array; ciphertext: Uint8Array; hash: Uint8Array };
  maxPlaintext: number;
  userForwardPayloadLength: number;
}

/** Requests the daemon answers on its reader, in order (katzenpost client/daemon.go). */
const LOCAL = new Set<RequestKey>([
  'new_keypair',
  'encrypt_read',
  'encrypt_write',
  'cancel_resending_encrypted_message',
  'cancel_resending_copy_command',
  'next_message_box_index',
  'get_message_box_index_counter',
  'get_pki_document',
  'get_directory_authorities',
  'create_courier_envelopes_from_payload',
  'create_courier_envelopes_from_multi_payload',
  'create_courier_envelopes_from_tombstone_range',
  'voucher_mint',
  'voucher_induct',
  'voucher_open',
  'voucher_derive_stream',
]);

const frame = (body: Uint8Array) => encodeFrame(body);
const rawFrame = (body: Uint8Array) => {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
};
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const exact = (n: number) => bytes(n, n);
const qid = exact(16);

/** A request that is valid all the way down: real caps and indices, sane sizes. */
type Valid = { key: RequestKey; body: Record<string, unknown> };

export function validRequest(ctx: FuzzContext): fc.Arbitrary<Valid> {
  const index = fc.constantFrom(ctx.firstIndex, ctx.nextIndex, ctx.writtenIndex);
  const smallPayload = bytes(0, 600);
  const r = <K extends RequestKey>(key: K, body: fc.Arbitrary<Record<string, unknown>>) =>
    body.map((b) => ({ key, body: b }) as Valid);
  const dest = fc.record({
    payload: bytes(0, 300),
    write_cap: fc.constant(ctx.writeCap),
    start_index: index,
  });
  // Weights favour cheap requests: the crypto-heavy ones (keypairs, encryption, envelope building)
  // cost the devnet milliseconds each, and the suite must stay fast.
  return fc.oneof(
    { weight: 1, arbitrary: r('new_keypair', fc.record({ query_id: qid, seed: bytes(0, 64) })) },
    {
      weight: 1,
      arbitrary: r(
        'encrypt_write',
        fc.record({
          query_id: qid,
          plaintext: fc.oneof(smallPayload, bytes(ctx.maxPlaintext - 2, ctx.maxPlaintext + 2)),
          write_cap: fc.constant(ctx.writeCap),
          message_box_index: index,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'encrypt_read',
        fc.record({ query_id: qid, read_cap: fc.constant(ctx.readCap), message_box_index: index }),
      ),
    },
    {
      weight: 2,
      arbitrary: r(
        'start_resending_encrypted_message',
        fc.oneof(
          // A repeated write of an existing box: idempotent success (or BoxAlreadyExists).
          // The two real envelopes cost a full ARQ round in the devnet, so they are rarer.
          {
            weight: 1,
            arbitrary: fc.record({
              query_id: qid,
              write_cap: fc.constant(ctx.writeCap),
              envelope_descriptor: fc.constant(ctx.writeEnvelope.descriptor),
              message_ciphertext: fc.constant(ctx.writeEnvelope.ciphertext),
              envelope_hash: fc.constant(ctx.writeEnvelope.hash),
              no_idempotent_box_already_exists: fc.boolean(),
            }),
          },
          // A read of the written box.
          {
            weight: 1,
            arbitrary: fc.record({
              query_id: qid,
              read_cap: fc.constant(ctx.readCap),
              message_box_index: fc.constant(ctx.writtenIndex),
              envelope_descriptor: fc.constant(ctx.readEnvelope.descriptor),
              message_ciphertext: fc.constant(ctx.readEnvelope.ciphertext),
              envelope_hash: fc.constant(ctx.readEnvelope.hash),
            }),
          },
          // Garbage the courier cannot open, and invalid combinations (both caps, no cap).
          {
            weight: 6,
            arbitrary: fc.record({
              query_id: qid,
              write_cap: fc.option(fc.constant(ctx.writeCap), { nil: undefined }),
              read_cap: fc.option(fc.constant(ctx.readCap), { nil: undefined }),
              message_box_index: fc.option(bytes(0, 120), { nil: undefined }),
              envelope_descriptor: bytes(0, 80),
              message_ciphertext: bytes(0, 200),
              envelope_hash: exact(32),
              no_retry_on_box_id_not_found: fc.constant(true),
            }),
          },
        ),
      ),
    },
    {
      weight: 3,
      arbitrary: r(
        'cancel_resending_encrypted_message',
        fc.record({ query_id: qid, envelope_hash: exact(32) }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'start_resending_copy_command',
        fc.record({ query_id: qid, write_cap: fc.constant(ctx.writeCap) }),
      ),
    },
    {
      weight: 3,
      arbitrary: r('cancel_resending_copy_command', fc.record({ query_id: qid, write_cap_hash: exact(32) })),
    },
    {
      weight: 4,
      arbitrary: r('next_message_box_index', fc.record({ query_id: qid, message_box_index: index })),
    },
    {
      weight: 4,
      arbitrary: r('get_message_box_index_counter', fc.record({ query_id: qid, message_box_index: index })),
    },
    {
      weight: 3,
      arbitrary: r(
        'get_pki_document',
        fc.record({
          query_id: qid,
          epoch: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
        }),
      ),
    },
    { weight: 3, arbitrary: r('get_directory_authorities', fc.record({ query_id: qid })) },
    {
      weight: 1,
      arbitrary: r(
        'create_courier_envelopes_from_payload',
        fc.record({
          query_id: qid,
          payload: bytes(0, 1700),
          dest_write_cap: fc.constant(ctx.writeCap),
          dest_start_index: index,
          is_start: fc.boolean(),
          is_last: fc.boolean(),
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'create_courier_envelopes_from_multi_payload',
        fc.record({
          query_id: qid,
          destinations: fc.array(dest, { maxLength: 2 }),
          is_start: fc.boolean(),
          is_last: fc.boolean(),
          buffer: fc.option(bytes(0, 64), { nil: undefined }),
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'create_courier_envelopes_from_tombstone_range',
        fc.record({
          query_id: qid,
          dest_write_cap: fc.constant(ctx.writeCap),
          dest_start_index: index,
          max_count: fc.integer({ min: 0, max: 3 }),
          is_start: fc.boolean(),
          is_last: fc.boolean(),
          buffer: fc.option(bytes(0, 64), { nil: undefined }),
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'voucher_mint',
        fc.record({
          query_id: qid,
          message_write_cap: fc.oneof(fc.constant(ctx.writeCap), bytes(0, 200)),
          display_name: fc.string({ maxLength: 40 }),
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'voucher_induct',
        fc.record({
          query_id: qid,
          voucher: bytes(0, 40),
          voucher_payload: bytes(0, 300),
          who_reply: bytes(0, 200),
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: r(
        'voucher_open',
        fc.record({
          query_id: qid,
          voucher_secret_key: bytes(0, 100),
          sealed_reply: bytes(0, 300),
          message_write_cap: bytes(0, 200),
        }),
      ),
    },
    { weight: 1, arbitrary: r('voucher_derive_stream', fc.record({ query_id: qid, voucher: bytes(0, 40) })) },
    {
      weight: 1,
      arbitrary: r(
        'send_message',
        fc.record({
          id: fc.option(exact(16), { nil: undefined }),
          with_surb: fc.boolean(),
          surbid: exact(16),
          destination_id_hash: exact(32),
          recipient_queue_id: bytes(1, 32),
          payload: bytes(0, Math.min(ctx.userForwardPayloadLength, 500)),
        }),
      ),
    },
    { weight: 1, arbitrary: r('session_token', fc.record({ client_instance_token: exact(16) })) },
  );
}

function expectedReply(v: Valid): FrameInput['reply'] {
  const q = v.body.query_id;
  if (!LOCAL.has(v.key) || !(q instanceof Uint8Array)) return undefined;
  const queryId = new Uint8Array(16);
  queryId.set(q.subarray(0, 16));
  return { key: `${v.key}_reply`, queryId };
}

function encodeValid(v: Valid, style: EncodeStyle): Uint8Array {
  return encodeRequest(v.key, v.body as never, style);
}

const style = fc.constantFrom<EncodeStyle>('minimal', 'go');

/** Valid requests, Go-style (21-key map, every field) or minimal (one key, set fields only). */
function validInputs(ctx: FuzzContext): fc.Arbitrary<FrameInput> {
  return fc.tuple(validRequest(ctx), style).map(([v, s]) => ({
    kind: 'frame',
    label: `valid ${v.key} (${s})`,
    bytes: frame(encodeValid(v, s)),
    expect: 'keep',
    reply: expectedReply(v),
  }));
}

// ---- structural mutations of valid requests ---------------------------------------------------

const fieldsOf = (key: RequestKey) => REQUESTS[key] as readonly Field[];

/** Values of a CBOR type the field's Go type cannot hold, which fxamacker rejects. */
function wrongTypeFor(type: FieldType): fc.Arbitrary<{ value: unknown; expect: Expect; what: string }> {
  const d = (value: unknown, what: string, expect: Expect = 'drop') => ({ value, expect, what });
  switch (type.kind) {
    case 'bytes':
      return fc.oneof(
        fc.integer({ min: 0, max: 1000 }).map((n) => d(n, 'int for bytes')),
        fc.string({ maxLength: 20 }).map((s) => d(s, 'text for bytes')),
        fc.boolean().map((b) => d(b, 'bool for bytes')),
        fc.constant(d({ a: 1 }, 'map for bytes')),
        // fxamacker fills a []byte or [N]byte from an array of small ints: undecided.
        fc
          .array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 })
          .map((a) => d(a, 'array for bytes', 'either')),
        ...(type.size && type.size > 32
          ? // caps and indices are BinaryUnmarshalers with an exact length check
            [
              fc
                .integer({ min: 0, max: type.size + 8 })
                .filter((n) => n !== type.size)
                .chain((n) => exact(n))
                .map((b) => d(b, `bytes(${b.length}) for bytes(${type.size})`)),
            ]
          : []),
      );
    case 'u8':
    case 'u32':
      return fc.oneof(
        fc.constant(d(type.kind === 'u8' ? 256 : 2 ** 32, 'overflow')),
        fc.constant(d(-1, 'negative')),
        fc.constant(d('7', 'text for int')),
        fc.constant(d(new Uint8Array([7]), 'bytes for int')),
        fc.constant(d(true, 'bool for int')),
        fc.constant(d(1.5, 'float for int', 'either')),
      );
    case 'u64':
      return fc.oneof(
        fc.constant(d(-1, 'negative')),
        fc.constant(d(-(2n ** 63n), 'negative -2^63')),
        fc.constant(d('0', 'text for int')),
        fc.constant(d([0], 'array for int')),
      );
    case 'bool':
      return fc.oneof(
        fc.constant(d(1, 'int for bool')),
        fc.constant(d('true', 'text for bool')),
        fc.constant(d(new Uint8Array([1]), 'bytes for bool')),
      );
    case 'text':
      return fc.oneof(
        fc.constant(d(new Uint8Array([0x61]), 'bytes for text')),
        fc.constant(d(5, 'int for text')),
      );
    case 'array':
      return fc.oneof(
        fc.constant(d(5, 'int for array')),
        fc.constant(d('x', 'text for array')),
        fc.constant(d({ payload: 1 }, 'map for array')),
      );
    case 'struct':
      return fc.oneof(fc.constant(d(5, 'int for struct')), fc.constant(d('x', 'text for struct')));
    case 'any':
      return fc.constant(d(null, 'null', 'keep'));
  }
}

/** Go field names are matched case-insensitively; flip the case of some letters. */
const recase = (s: string, seed: number) =>
  [...s].map((c, i) => ((seed >> (i % 16)) & 1 ? c.toUpperCase() : c)).join('');

function structuralMutations(ctx: FuzzContext): fc.Arbitrary<FrameInput> {
  return fc
    .tuple(validRequest(ctx), style, fc.nat())
    .filter(([v]) => fieldsOf(v.key).length > 0)
    .chain(([v, s, pick]) => {
      const fields = fieldsOf(v.key);
      const field = fields[pick % fields.length]!;
      // Start from exactly what a client would send (minimal or Go-style), then change it.
      const base = () => {
        const top: Record<string, unknown> = {};
        const inner: Record<string, unknown> = {};
        for (const f of fields) {
          const value = v.body[f.name];
          if (value !== undefined) inner[f.name] = value;
          else if (s === 'go' && !f.omitempty) inner[f.name] = null;
        }
        top[v.key] = inner;
        return { top, inner };
      };
      const reply = expectedReply(v);
      const mk = (label: string, top: unknown, expect: Expect, withReply = false): FrameInput => ({
        kind: 'frame',
        label: `${v.key}: ${label}`,
        bytes: frame(encodeCbor(top)),
        expect,
        reply: withReply && expect === 'keep' ? reply : undefined,
      });
      return fc.oneof(
        // A field absent or null: Go leaves the zero value; the daemon answers (often code 3).
        fc.constant(null).map(() => {
          const { top, inner } = base();
          delete inner[field.name];
          return mk(`without ${field.name}`, top, 'keep', field.name !== 'query_id');
        }),
        fc.constant(null).map(() => {
          const { top, inner } = base();
          inner[field.name] = null;
          return mk(`${field.name} null`, top, 'keep', field.name !== 'query_id');
        }),
        // A type Go cannot decode into the field.
        wrongTypeFor(field.type).map(({ value, expect, what }) => {
          const { top, inner } = base();
          inner[field.name] = value;
          return mk(`${field.name}: ${what}`, top, expect);
        }),
        // Unknown inner keys are ignored by Go.
        fc
          .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.oneof(fc.integer(), fc.string(), bytes(0, 8)))
          .map(([name, value]) => {
            const { top, inner } = base();
            const known = fields.some((f) => f.name.toLowerCase() === name.toLowerCase());
            // defineProperty: a generated name such as "__proto__" must stay an ordinary key.
            Object.defineProperty(inner, known ? `x_${name}` : name, { value, enumerable: true });
            return mk('unknown inner key', top, 'keep', true);
          }),
        // Wrong-length fixed arrays: Go zero-pads or truncates [16]byte and [32]byte.
        ...(field.type.kind === 'bytes' && (field.type.size === 16 || field.type.size === 32)
          ? [
              bytes(0, 48).map((b) => {
                const { top, inner } = base();
                inner[field.name] = b;
                const fixed = new Uint8Array(16);
                fixed.set(b.subarray(0, 16));
                const withReply = field.name === 'query_id' && reply ? { ...reply, queryId: fixed } : reply;
                return {
                  ...mk(`${field.name} of ${b.length} bytes`, top, 'keep'),
                  reply: withReply,
                };
              }),
            ]
          : []),
        // The request key holding something that is not a map.
        fc
          .constantFrom<[unknown, Expect]>(
            [5, 'drop'],
            ['x', 'drop'],
            [[1, 2], 'drop'],
            [new Uint8Array(3), 'drop'],
            [null, 'keep'],
          )
          .map(([value, expect]) => mk(`body ${JSON.stringify(value)}`, { [v.key]: value }, expect)),
        // Key case folded: Go matches case-insensitively, so this is a real request to it.
        fc.nat().map((n) => {
          const { inner } = base();
          return mk('key case changed', { [recase(v.key, n | 1)]: inner }, 'either');
        }),
        // A second top-level key beside the first: Go decodes both and serves one.
        validRequest(ctx).map((w) => {
          const { top } = base();
          const { top: other } = { top: { [w.key]: w.body } };
          return mk(
            `plus ${w.key}`,
            { ...other, ...top },
            w.key === 'session_token' || v.key === 'session_token' ? 'either' : 'keep',
          );
        }),
      );
    });
}

// ---- byte-level noise -------------------------------------------------------------------------

function byteMutations(ctx: FuzzContext): fc.Arbitrary<FrameInput> {
  return fc
    .tuple(
      validRequest(ctx),
      style,
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 3 })), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([v, s, edits]) => {
      let b = Array.from(encodeValid(v, s));
      for (const [pos, val, op] of edits) {
        const p = pos % (b.length + 1);
        if (op === 0 && b.length > 0) b[p % b.length] = val;
        else if (op === 1 && b.length > 0) b[p % b.length]! ^= 1 << (val % 8);
        else if (op === 2) b.splice(p, 0, val);
        else if (b.length > 1) b.splice(p % b.length, 1);
      }
      if (b.length === 0) b = [0xa0];
      return {
        kind: 'frame',
        label: `bytes mutated ${v.key}`,
        bytes: rawFrame(Uint8Array.from(b)),
        expect: 'either',
      };
    });
}

const kindOf = (v: unknown) =>
  v === null
    ? 'null'
    : v instanceof Uint8Array
      ? 'bytes'
      : Array.isArray(v)
        ? 'array'
        : typeof v === 'object'
          ? 'map'
          : typeof v;

function malformed(ctx: FuzzContext): fc.Arbitrary<FrameInput> {
  const f = (label: string, body: Uint8Array, expect: Expect): FrameInput => ({
    kind: 'frame',
    label,
    bytes: rawFrame(body),
    expect,
  });
  const valid = fc.tuple(validRequest(ctx), style).map(([v, s]) => encodeValid(v, s));
  return fc.oneof(
    { weight: 4, arbitrary: bytes(1, 300).map((b) => f('random bytes', b, 'either')) },
    // A valid body cut short is never valid CBOR.
    {
      weight: 3,
      arbitrary: fc
        .tuple(valid, fc.nat())
        .map(([b, n]) => f('truncated CBOR', b.subarray(0, n % b.length), b.length > 0 ? 'drop' : 'either'))
        .map((x) => (x.bytes.length === 4 ? { ...x, label: 'zero-length frame' } : x)),
    },
    // Go's Unmarshal refuses trailing data.
    {
      weight: 2,
      arbitrary: fc
        .tuple(valid, bytes(1, 8))
        .map(([b, extra]) => f('trailing bytes', Uint8Array.from([...b, ...extra]), 'drop')),
    },
    // Reserved or unexpected initial bytes.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(0x1c, 0x1d, 0x1e, 0x1f, 0xfc, 0xfd, 0xfe, 0xff, 0x5f, 0x7f)
        .map((b) => f(`initial byte 0x${b.toString(16)}`, Uint8Array.of(b), 'drop')),
    },
    // Valid CBOR of the wrong type at the top.
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.integer().map((v) => [v, 'drop'] as const),
          fc.string({ maxLength: 30 }).map((v) => [v, 'drop'] as const),
          bytes(0, 30).map((v) => [v, 'drop'] as const),
          fc.boolean().map((v) => [v, 'drop'] as const),
          fc.double({ noNaN: true }).map((v) => [v, 'drop'] as const),
          fc.array(fc.integer(), { maxLength: 5 }).map((v) => [v, 'drop'] as const),
          // null decodes to an empty Request in Go: no error, no reply.
          fc.constant([null, 'either'] as const),
          // Maps without a known key: queued, then dropped by the daemon without a reply.
          fc.constant([{}, 'keep'] as const),
          fc
            .dictionary(
              fc.string({ minLength: 1, maxLength: 10 }).map((k) => `zz_${k}`),
              fc.oneof(fc.integer(), fc.string()),
              {
                maxKeys: 3,
              },
            )
            .map((v) => [v, 'keep'] as const),
        )
        .map(([v, expect]) => f(`top-level ${kindOf(v)}`, encodeCbor(v), expect)),
    },
    // Nesting: fxamacker refuses more than 32 levels even inside a value it would ignore.
    {
      weight: 1,
      arbitrary: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 40, max: 200 })).map((depth) => {
        // {"zz": [[[...0...]]]}: one map level plus `depth` array levels.
        const body = new Uint8Array(4 + depth + 1);
        body.set([0xa1, 0x62, 0x7a, 0x7a]);
        body.fill(0x81, 4, 4 + depth);
        body[4 + depth] = 0x00;
        return f(`unknown key nested ${depth + 1} deep`, body, depth + 1 > 32 ? 'drop' : 'keep');
      }),
    },
    { weight: 1, arbitrary: fc.constant(f('thin_close', encodeRequest('thin_close', {}), 'drop')) },
  );
}

/** Counterexamples print as labels and a hex prefix, not as kilobytes of Uint8Array literals. */
function labelled<T extends FrameInput | TailInput>(input: T): T {
  const text = `${input.expect} ${input.label} <${Buffer.from(input.bytes.subarray(0, 24)).toString('hex')}${
    input.bytes.length > 24 ? `… ${input.bytes.length} bytes` : ''
  }>`;
  return Object.assign(input, { [fc.toStringMethod]: () => text });
}

export function frameInput(ctx: FuzzContext): fc.Arbitrary<FrameInput> {
  return fc
    .oneof(
      // Weighted so that most inputs are kept: every dropping input costs a reconnect.
      { weight: 6, arbitrary: validInputs(ctx) },
      { weight: 5, arbitrary: structuralMutations(ctx) },
      { weight: 1, arbitrary: byteMutations(ctx) },
      { weight: 1, arbitrary: malformed(ctx) },
    )
    .map(labelled);
}

const MAX = 40 * 1024 * 1024;
const prefix = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
};

export function tailInput(ctx: FuzzContext): fc.Arbitrary<TailInput> {
  const valid = fc.tuple(validRequest(ctx), style).map(([v, s]) => frame(encodeValid(v, s)));
  return fc
    .oneof(
      fc
        .integer({ min: MAX + 1, max: 0xffff_ffff })
        .map(
          (n) =>
            ({ kind: 'tail', label: `oversize prefix ${n}`, bytes: prefix(n), expect: 'drop' }) as TailInput,
        ),
      fc.constant({
        kind: 'tail',
        label: 'zero-length frame',
        bytes: prefix(0),
        expect: 'drop',
      } as TailInput),
      // Exactly the cap is allowed: the daemon must wait for the body, then see our EOF.
      fc.constant({
        kind: 'tail',
        label: 'prefix at the cap, no body',
        bytes: prefix(MAX),
        expect: 'eof',
      } as TailInput),
      fc.tuple(valid, fc.nat()).map(
        ([b, n]) =>
          ({
            kind: 'tail',
            label: 'truncated frame',
            bytes: b.subarray(0, n % b.length),
            expect: 'eof',
          }) as TailInput,
      ),
      bytes(1, 64).map(
        (b) => ({ kind: 'tail', label: 'unframed noise', bytes: b, expect: 'eof' }) as TailInput,
      ),
    )
    .map(labelled);
}

export const FIXED = SIZES;

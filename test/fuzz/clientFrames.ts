/**
 * Inputs and checks for fuzzing the client's side of the wire: golden daemon frames captured from
 * kpclientd (test/fixtures/kpclientd), mutations of them, random byte streams cut into random chunks,
 * and the properties every one must keep (src/wire/index.ts documents them):
 *
 * - the frame decoder never throws from `feed`; a broken stream is a ProtocolError, and the frames it
 *   returns are exactly those a one-shot parse of the same bytes finds, however the bytes are chunked;
 * - it never holds more than the frame being read (plus the chunk that brought it);
 * - decodeResponse returns a message (a known one, or `unknown` for a key it does not know) or throws
 *   ProtocolError, nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { type DecodedResponse, decodeResponse, FrameDecoder, MAX_FRAME_SIZE } from '../../src/wire/index.js';

const FIXTURES = new URL('../fixtures/kpclientd/', import.meta.url);

export interface GoldenFrame {
  kind: string;
  body: Uint8Array;
}

/** Every distinct daemon→client frame body of the captured sessions. */
export function goldenReplies(): GoldenFrame[] {
  const out: GoldenFrame[] = [];
  const seen = new Set<string>();
  for (const file of readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const capture = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as {
      frames: { direction: string; kind: string; hex?: string }[];
    };
    for (const f of capture.frames) {
      if (f.direction !== 'daemon->client' || !f.hex || seen.has(f.hex)) continue;
      seen.add(f.hex);
      out.push({ kind: f.kind, body: Buffer.from(f.hex, 'hex') });
    }
  }
  return out;
}

export function withPrefix(body: Uint8Array, announced = body.length): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, announced);
  out.set(body, 4);
  return out;
}

/** One mutation of a frame body. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

export function mutate(body: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(body);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 'flip' && b.length > 0) b[at]! ^= 1 << m.bit;
    else if (m.op === 'set' && b.length > 0) b[at] = m.value;
    else if (m.op === 'truncate') b = b.slice(0, at);
    else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
  }
  return b;
}

/** A golden frame body with 1-4 mutations. */
export function mutatedGoldenArb(golden: readonly GoldenFrame[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.integer({ min: 0, max: golden.length - 1 }),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
    )
    .map(([i, ms]) => mutate(golden[i]!.body, ms));
}

/** decodeResponse's outcome, or a thrown Error naming what broke the property. */
export function decodeOutcome(body: Uint8Array): DecodedResponse | ProtocolError {
  try {
    return decodeResponse(body);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw new Error(`decodeResponse threw ${String(error)} (not a ProtocolError)`, { cause: error });
  }
}

/** A one-shot parse of `stream`: the complete frames before the first break, and whether it broke. */
export function referenceParse(stream: Uint8Array): { frames: Uint8Array[]; broken: boolean } {
  const frames: Uint8Array[] = [];
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let pos = 0;
  while (stream.length - pos >= 4) {
    const n = dv.getUint32(pos);
    if (n === 0 || n > MAX_FRAME_SIZE) return { frames, broken: true };
    if (stream.length - pos - 4 < n) break;
    frames.push(stream.slice(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  return { frames, broken: false };
}

/**
 * Feeds `stream` to a FrameDecoder in pieces cut at `cuts` and checks it against referenceParse,
 * the buffer bound, and decodeResponse on every frame. Throws on the first violation.
 */
export function checkStream(stream: Uint8Array, cuts: readonly number[]): void {
  const decoder = new FrameDecoder();
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const got: Uint8Array[] = [];
  let broken = false;
  let from = 0;
  for (const to of [...points, stream.length]) {
    const chunk = stream.subarray(from, to);
    from = to;
    const { frames, error } = decoder.feed(chunk);
    got.push(...frames);
    if (error) {
      if (!(error instanceof ProtocolError)) throw new Error(`feed reported ${String(error)}`);
      broken = true;
      break;
    }
    if (decoder.pendingBytes > MAX_FRAME_SIZE + 4 + chunk.length)
      throw new Error(`decoder holds ${decoder.pendingBytes} bytes`);
  }
  const ref = referenceParse(stream);
  if (broken !== ref.broken) throw new Error(`decoder broken=${broken}, reference broken=${ref.broken}`);
  if (got.length !== ref.frames.length)
    throw new Error(`${got.length} frames, reference ${ref.frames.length}`);
  for (let i = 0; i < got.length; i++) {
    if (Buffer.compare(got[i]!, ref.frames[i]!) !== 0)
      throw new Error(`frame ${i} differs from the reference`);
    decodeOutcome(got[i]!);
  }
}

/** Streams of golden, mutated and random frames, some with hostile prefixes, cut anywhere. */
export function streamArb(
  golden: readonly GoldenFrame[],
): fc.Arbitrary<{ stream: Uint8Array; cuts: number[] }> {
  const frame = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.integer({ min: 0, max: golden.length - 1 }).map((i) => withPrefix(golden[i]!.body)),
    },
    { weight: 3, arbitrary: mutatedGoldenArb(golden).map((b) => withPrefix(b)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => withPrefix(b)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constant(0), fc.constant(MAX_FRAME_SIZE + 1), fc.integer({ min: 1, max: 0xffff_ffff }))
        .map((n) => withPrefix(new Uint8Array(0), n)),
    },
  );
  return fc
    .tuple(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }))
    .map(([frames, cuts]) => ({ stream: Buffer.concat(frames), cuts }));
}

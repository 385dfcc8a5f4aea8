/**
 * create_courier_envelopes_from_payload / _from_multi_payload / _from_tombstone_range: one shape. Each
 * names destinations (a write cap, a start index and the boxes to write there), every box becomes a write
 * envelope, and the envelopes are cut into copy-stream elements for the temporary channel. The variants
 * differ only in where the boxes come from and in how the stream ends:
 *
 * - from_payload: a fresh encoder per call; IsLast → Final, else the tail goes out without Final;
 * - multi_payload and tombstone_range: the encoder's state travels in `buffer` between calls; IsLast
 *   flushes the Final element and returns no buffer.
 */
import { nextIndex } from '../../crypto/bacap.js';
import { ThinCode } from '../../wire/errorCodes.js';
import { CopyStreamEncoder } from '../pigeonhole/copyStream.js';
import { writeEnvelope } from './envelopes.js';
import { type LocalContext, type LocalHandlers, refuse } from './localHandler.js';

/** Payloads are capped at 10 MiB per destination. */
const MAX_COPY_PAYLOAD = 10 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

interface Destination {
  writeCap: Uint8Array;
  startIndex: Uint8Array;
  /** Plaintext of each box in turn; an empty one is a tombstone. */
  boxes: Iterable<Uint8Array>;
}

interface StreamStart {
  /** The residual encoder state from the previous call. */
  buffer?: Uint8Array;
  isStart: boolean | undefined;
}

interface EncodedStream {
  encoder: CopyStreamEncoder;
  elements: Uint8Array[];
  /** Per destination, the index after its last box. */
  nextIndices: Uint8Array[];
}

/** A destination for `payload`, cut into boxes of the copy chunk size. */
function payloadDestination(
  writeCap: Uint8Array | undefined,
  startIndex: Uint8Array | undefined,
  payload: Uint8Array | undefined,
  chunk: number,
): Destination {
  const bytes = payload ?? EMPTY;
  if (!writeCap || !startIndex || bytes.length > MAX_COPY_PAYLOAD) refuse();
  return { writeCap, startIndex, boxes: chunks(bytes, chunk) };
}

function* chunks(payload: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let off = 0; off < payload.length; off += size) yield payload.subarray(off, off + size);
}

function* tombstones(count: number): Iterable<Uint8Array> {
  for (let i = 0; i < count; i++) yield EMPTY;
}

async function encodeStream(
  ctx: LocalContext,
  start: StreamStart,
  dests: Destination[],
): Promise<EncodedStream> {
  const encoder = new CopyStreamEncoder(ctx.sizes.maxPlaintext);
  if (start.buffer && start.buffer.length > 0) encoder.setBuffer(start.buffer);
  if (!start.isStart) encoder.suppressStart();
  const elements: Uint8Array[] = [];
  const nextIndices: Uint8Array[] = [];
  for (const dest of dests) {
    let index = dest.startIndex;
    for (const plaintext of dest.boxes) {
      const envelope = writeEnvelope(ctx.directory(), ctx.sizes, ctx.rng, dest.writeCap, index, plaintext);
      elements.push(...encoder.addEnvelope(envelope.bytes));
      index = nextIndex(index);
      await ctx.yieldSometimes();
    }
    nextIndices.push(index);
  }
  return { encoder, elements, nextIndices };
}

/**
 * The end of a call: the last one flushes the Final element; otherwise a buffered stream returns the
 * encoder's residual state and an unbuffered one flushes its tail without Final.
 */
function finishStream(
  s: EncodedStream,
  isLast: boolean | undefined,
  buffered: boolean,
): { envelopes: Uint8Array[]; buffer?: Uint8Array } {
  if (isLast) return { envelopes: [...s.elements, ...s.encoder.flush()] };
  if (buffered) return { envelopes: s.elements, buffer: s.encoder.getBuffer() };
  return { envelopes: [...s.elements, ...s.encoder.flushWithoutFinal()] };
}

export const COURIER_ENVELOPE_REQUESTS: Pick<
  LocalHandlers,
  | 'create_courier_envelopes_from_payload'
  | 'create_courier_envelopes_from_multi_payload'
  | 'create_courier_envelopes_from_tombstone_range'
> = {
  create_courier_envelopes_from_payload: {
    async answer(body, ctx) {
      const dest = payloadDestination(
        body.dest_write_cap,
        body.dest_start_index,
        body.payload,
        ctx.sizes.copyChunk,
      );
      const s = await encodeStream(ctx, { isStart: body.is_start }, [dest]);
      return {
        envelopes: finishStream(s, body.is_last, false).envelopes,
        next_dest_index: s.nextIndices[0],
        error_code: ThinCode.Success,
      };
    },
  },
  create_courier_envelopes_from_multi_payload: {
    async answer(body, ctx) {
      const list = body.destinations ?? [];
      if (list.length === 0) refuse();
      const dests = list.map((d) =>
        payloadDestination(d?.write_cap, d?.start_index, d?.payload, ctx.sizes.copyChunk),
      );
      const s = await encodeStream(ctx, { buffer: body.buffer, isStart: body.is_start }, dests);
      return {
        ...finishStream(s, body.is_last, true),
        next_dest_indices: s.nextIndices,
        error_code: ThinCode.Success,
      };
    },
  },
  create_courier_envelopes_from_tombstone_range: {
    async answer(body, ctx) {
      if (!body.dest_write_cap || !body.dest_start_index) refuse();
      const count = body.max_count ?? 0;
      // [quirk] returns at once: Buffer and IsLast are ignored.
      if (count === 0) return { next_dest_index: body.dest_start_index, error_code: ThinCode.Success };
      const dest = {
        writeCap: body.dest_write_cap,
        startIndex: body.dest_start_index,
        boxes: tombstones(count),
      };
      const s = await encodeStream(ctx, { buffer: body.buffer, isStart: body.is_start }, [dest]);
      return {
        ...finishStream(s, body.is_last, true),
        next_dest_index: s.nextIndices[0],
        error_code: ThinCode.Success,
      };
    },
  },
};

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import {
  chunkPayload,
  FrameReassembler,
  framedBoxCount,
  framePayload,
  LENGTH_PREFIX_SIZE,
  MAX_FRAMED_PAYLOAD_LENGTH,
  readLengthPrefix,
  reassemblePayload,
} from '../../../src/pigeonhole/framing.js';

const bytes = (...v: number[]) => new Uint8Array(v);

function thrown(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('multi-box framing: writing', () => {
  it('prefixes the payload with its length as a 4-byte big-endian integer', () => {
    expect(framePayload(bytes(0xaa, 0xbb, 0xcc))).toEqual(bytes(0, 0, 0, 3, 0xaa, 0xbb, 0xcc));
    const big = framePayload(new Uint8Array(0x0304));
    expect(big.subarray(0, 4)).toEqual(bytes(0, 0, 0x03, 0x04));
  });

  it('frames an empty payload as the single non-empty box 00 00 00 00, never a tombstone', () => {
    expect(chunkPayload(new Uint8Array(0), 1549)).toEqual([bytes(0, 0, 0, 0)]);
    expect(framedBoxCount(0, 1549)).toBe(1);
  });

  it('fills every box but the last to MaxPlaintextPayloadLength, prefix included in the first', () => {
    const payload = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    const boxes = chunkPayload(payload, 6);
    expect(boxes).toEqual([bytes(0, 0, 0, 10, 1, 2), bytes(3, 4, 5, 6, 7, 8), bytes(9, 10)]);
    expect(framedBoxCount(10, 6)).toBe(3);
  });

  it('needs one more box exactly when prefix plus payload crosses a box boundary', () => {
    expect(framedBoxCount(1545, 1549)).toBe(1);
    expect(framedBoxCount(1546, 1549)).toBe(2);
    expect(framedBoxCount(2 * 1549 - 4, 1549)).toBe(2);
    expect(framedBoxCount(2 * 1549 - 3, 1549)).toBe(3);
  });

  it('returns fresh arrays that do not alias the caller payload', () => {
    const payload = bytes(1, 2, 3);
    const [box] = chunkPayload(payload, 100);
    payload[0] = 9;
    expect(box).toEqual(bytes(0, 0, 0, 3, 1, 2, 3));
  });

  it('rejects a box capacity that cannot hold the length prefix, with an exact message', () => {
    expect(thrown(() => chunkPayload(bytes(1), 3)).message).toBe(
      'maxPlaintextPayloadLength: must be an integer of at least 4, got 3',
    );
    expect(thrown(() => framedBoxCount(1, 4.5)).message).toBe(
      'maxPlaintextPayloadLength: must be an integer of at least 4, got 4.5',
    );
    expect(thrown(() => framedBoxCount(1, Number.NaN)).field).toBe('maxPlaintextPayloadLength');
  });

  it('rejects a payload that is not a Uint8Array and lengths the prefix cannot express', () => {
    expect(thrown(() => framePayload('hello' as unknown as Uint8Array)).message).toBe(
      'payload: must be a Uint8Array',
    );
    expect(thrown(() => framedBoxCount(-1, 100)).message).toBe(
      'payloadLength: must be a non-negative integer, got -1',
    );
    expect(thrown(() => framedBoxCount(MAX_FRAMED_PAYLOAD_LENGTH + 1, 100)).message).toBe(
      'payloadLength: is 4294967296 bytes; the 4-byte length prefix allows at most 4294967295',
    );
  });
});

describe('multi-box framing: reading', () => {
  it('reads the big-endian length prefix from the first box', () => {
    expect(readLengthPrefix(bytes(0x01, 0x02, 0x03, 0x04, 0xff))).toBe(0x01020304);
    expect(thrown(() => readLengthPrefix(bytes(0, 0, 1))).message).toBe(
      'firstBox: is 3 bytes; the length prefix needs 4',
    );
  });

  it('completes exactly when it holds the prefix plus the announced number of bytes', () => {
    const r = new FrameReassembler({ maxPlaintextPayloadLength: 6 });
    expect(r.push(bytes(0, 0, 0, 10, 1, 2))).toBe(false);
    expect(r.payloadLength).toBe(10);
    expect(r.boxesExpected).toBe(3);
    expect(r.push(bytes(3, 4, 5, 6, 7, 8))).toBe(false);
    expect(r.push(bytes(9, 10))).toBe(true);
    expect(r.complete).toBe(true);
    expect(r.boxesReceived).toBe(3);
    expect(r.payload()).toEqual(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
  });

  it('completes on the first box for an empty payload, where the guide loop would spin forever', () => {
    const r = new FrameReassembler();
    expect(r.push(bytes(0, 0, 0, 0))).toBe(true);
    expect(r.payload()).toEqual(new Uint8Array(0));
  });

  it('accepts a length prefix split across boxes written by another convention-following client', () => {
    expect(reassemblePayload([bytes(0, 0), bytes(0, 2, 7), bytes(8)])).toEqual(bytes(7, 8));
  });

  it('refuses bytes past the announced end and stays usable afterwards', () => {
    const r = new FrameReassembler();
    r.push(bytes(0, 0, 0, 3, 1));
    expect(thrown(() => r.push(bytes(2, 3, 4, 5))).message).toBe(
      'box: carries 2 bytes past the end of the 3-byte payload the prefix announces',
    );
    expect(r.bytesReceived).toBe(5);
    expect(r.push(bytes(2, 3))).toBe(true);
    expect(r.payload()).toEqual(bytes(1, 2, 3));
  });

  it('refuses an empty box, because an empty box is a tombstone', () => {
    expect(thrown(() => new FrameReassembler().push(new Uint8Array(0))).message).toBe(
      'box: is empty; an empty box is a tombstone, not part of a payload',
    );
  });

  it('refuses a box longer than the network box capacity', () => {
    const r = new FrameReassembler({ maxPlaintextPayloadLength: 4 });
    expect(thrown(() => r.push(bytes(0, 0, 0, 1, 9))).message).toBe(
      'box: is 5 bytes, more than maxPlaintextPayloadLength 4',
    );
  });

  it('refuses a prefix announcing more than the reader is willing to hold', () => {
    const r = new FrameReassembler({ maxPayloadLength: 1000 });
    expect(thrown(() => r.push(bytes(0, 0, 0x03, 0xe9))).message).toBe(
      'box: the length prefix announces 1001 bytes, more than maxPayloadLength 1000',
    );
    expect(r.bytesReceived).toBe(0);
  });

  it('refuses a push after completion and a payload() before it', () => {
    const r = new FrameReassembler();
    expect(thrown(() => r.payload()).message).toBe('payload: incomplete: the length prefix has not arrived');
    r.push(bytes(0, 0, 0, 2, 1));
    expect(thrown(() => r.payload()).message).toBe('payload: incomplete: 1 of 2 bytes received');
    r.push(bytes(2));
    expect(thrown(() => r.push(bytes(3))).message).toBe('box: the payload is already complete');
    expect(thrown(() => r.push([1] as unknown as Uint8Array)).message).toBe('box: must be a Uint8Array');
  });

  it('round-trips any payload through any box capacity', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: LENGTH_PREFIX_SIZE, max: 64 }),
        (payload, capacity) => {
          const boxes = chunkPayload(payload, capacity);
          expect(boxes.length).toBe(framedBoxCount(payload.length, capacity));
          expect(boxes.every((b) => b.length > 0 && b.length <= capacity)).toBe(true);
          const r = new FrameReassembler({ maxPlaintextPayloadLength: capacity });
          boxes.forEach((b, i) => {
            expect(r.push(b)).toBe(i === boxes.length - 1);
          });
          expect(r.payload()).toEqual(payload);
        },
      ),
    );
  });
});

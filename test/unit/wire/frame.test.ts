import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { encodeFrame, FrameDecoder, MAX_FRAME_SIZE } from '../../../src/wire/index.js';

const prefix = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
};

describe('FrameDecoder', () => {
  it('reassembles frames split at every byte boundary', () => {
    const a = encodeFrame(new Uint8Array([0xa0]));
    const b = encodeFrame(new Uint8Array([1, 2, 3, 4, 5]));
    const stream = new Uint8Array([...a, ...b]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(frames).toEqual([new Uint8Array([0xa0]), new Uint8Array([1, 2, 3, 4, 5])]);
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('returns several frames from one chunk, in order', () => {
    const frames = new FrameDecoder().push(
      new Uint8Array([
        ...encodeFrame(Uint8Array.of(1)),
        ...encodeFrame(Uint8Array.of(2)),
        ...encodeFrame(Uint8Array.of(3)),
      ]),
    );
    expect(frames.map((f) => f[0])).toEqual([1, 2, 3]);
  });

  it('rejects a length prefix over 40 MiB from the prefix alone, before the body arrives', () => {
    const d = new FrameDecoder();
    expect(() => d.push(prefix(MAX_FRAME_SIZE + 1))).toThrow(ProtocolError);
    expect(() => d.push(new Uint8Array(1))).toThrow(/already failed/);
  });

  it('accepts a frame of exactly the maximum size prefix without failing early', () => {
    const d = new FrameDecoder();
    expect(d.push(prefix(MAX_FRAME_SIZE))).toEqual([]);
  });

  it('rejects a zero-length frame', () => {
    expect(() => new FrameDecoder().push(prefix(0))).toThrow(ProtocolError);
  });

  it('returns copies that do not alias the pushed chunk', () => {
    const chunk = encodeFrame(Uint8Array.of(7, 8));
    const [frame] = new FrameDecoder().push(chunk);
    chunk[4] = 0;
    expect(frame).toEqual(Uint8Array.of(7, 8));
  });
});

describe('encodeFrame', () => {
  it('prefixes the body with its big-endian length', () => {
    expect(Array.from(encodeFrame(new Uint8Array(258)).subarray(0, 4))).toEqual([0, 0, 1, 2]);
  });
});

describe('FrameDecoder.feed', () => {
  it('returns the frames that preceded a broken prefix together with the error', () => {
    const good = encodeFrame(Uint8Array.of(0xa0));
    const { frames, error } = new FrameDecoder().feed(
      new Uint8Array([...good, ...prefix(MAX_FRAME_SIZE + 1)]),
    );
    expect(frames).toEqual([Uint8Array.of(0xa0)]);
    expect(error).toBeInstanceOf(ProtocolError);
  });
});

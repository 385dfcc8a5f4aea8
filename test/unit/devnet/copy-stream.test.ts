import { describe, expect, it } from 'vitest';
import {
  CopyStreamDecoder,
  CopyStreamEncoder,
  FLAG_FINAL,
  FLAG_START,
} from '../../../src/devnet/pigeonhole/copyStream.js';

const MAX = 1549;
const env = (n: number, v: number) => new Uint8Array(n).fill(v);

function decodeAll(elements: Uint8Array[]): { envelopes: Uint8Array[]; final: boolean } {
  const d = new CopyStreamDecoder(MAX, 2000);
  const envelopes: Uint8Array[] = [];
  for (const e of elements) {
    d.addBoxData(e);
    envelopes.push(...d.decodeEnvelopes());
  }
  return { envelopes, final: d.sawFinal };
}

describe('copy stream encoding', () => {
  it('emits full elements of exactly MaxPlaintextPayloadLength and keeps a tail for Flush to mark Final', () => {
    const e = new CopyStreamEncoder(MAX);
    const out = [...e.addEnvelope(env(1999, 1)), ...e.addEnvelope(env(1999, 2))];
    // 2 × 2003 stream bytes = 4006 → two full elements of 1544 data bytes, 918 left buffered.
    expect(out.map((x) => x.length)).toEqual([MAX, MAX]);
    expect(out[0]![0]).toBe(FLAG_START);
    expect(out[1]![0]).toBe(0);
    expect(e.getBuffer().length).toBe(4006 - 2 * 1544);
    const tail = e.flush();
    expect(tail.length).toBe(1);
    expect(tail[0]![0]).toBe(FLAG_FINAL);
    expect(decodeAll([...out, ...tail])).toEqual({ envelopes: [env(1999, 1), env(1999, 2)], final: true });
  });

  it('continues a stream across calls through the residual buffer, byte-identical to one call', () => {
    const one = new CopyStreamEncoder(MAX);
    const single = [
      ...one.addEnvelope(env(1999, 1)),
      ...one.addEnvelope(env(1999, 2)),
      ...one.addEnvelope(env(1999, 3)),
      ...one.flush(),
    ];

    const first = new CopyStreamEncoder(MAX);
    const a = [...first.addEnvelope(env(1999, 1))];
    const buffer = first.getBuffer();
    const second = new CopyStreamEncoder(MAX);
    second.setBuffer(buffer);
    second.suppressStart();
    const b = [...second.addEnvelope(env(1999, 2)), ...second.addEnvelope(env(1999, 3)), ...second.flush()];
    expect([...a, ...b]).toEqual(single);
  });

  it('flushWithoutFinal emits a short unmarked element; an empty encoder flushes nothing', () => {
    const e = new CopyStreamEncoder(MAX);
    e.suppressStart();
    e.addEnvelope(env(100, 1));
    const out = e.flushWithoutFinal();
    expect(out.length).toBe(1);
    expect(out[0]![0]).toBe(0);
    expect(out[0]!.length).toBe(5 + 104);
    expect(new CopyStreamEncoder(MAX).flush()).toEqual([]);
    expect(decodeAll(out)).toEqual({ envelopes: [env(100, 1)], final: false });
  });

  it('refuses an element or envelope length beyond the geometry before allocating', () => {
    const d = new CopyStreamDecoder(MAX, 2000);
    const bad = new Uint8Array(10);
    new DataView(bad.buffer).setUint32(1, 0xffff_fff0);
    d.addBoxData(bad);
    expect(() => d.decodeEnvelopes()).toThrow(/exceeds/);
    const d2 = new CopyStreamDecoder(MAX, 2000);
    const el = new Uint8Array(5 + 4);
    new DataView(el.buffer).setUint32(1, 4);
    new DataView(el.buffer).setUint32(5, 5000);
    d2.addBoxData(el);
    expect(() => d2.decodeEnvelopes()).toThrow(/exceeds/);
  });
});

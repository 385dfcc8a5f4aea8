import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { decodeCbor, encodeCbor } from '../../../src/wire/index.js';

describe('decodeCbor byte strings', () => {
  it('returns plain Uint8Arrays that do not share memory with the frame, from a Buffer or a Uint8Array', () => {
    const frame = encodeCbor({ a: new Uint8Array([1, 2, 3]), b: [new Uint8Array([4])] });
    for (const input of [Buffer.from(frame), new Uint8Array(frame)]) {
      const v = decodeCbor(input) as { a: Uint8Array; b: Uint8Array[] };
      expect(Object.getPrototypeOf(v.a)).toBe(Uint8Array.prototype);
      expect(Object.getPrototypeOf(v.b[0])).toBe(Uint8Array.prototype);
      expect(v.a.buffer).not.toBe(input.buffer);
      expect(v.a.buffer.byteLength).toBe(3);
      input.fill(0);
      expect([...v.a]).toEqual([1, 2, 3]);
    }
  });
});

describe('decodeCbor values beyond plain maps and arrays', () => {
  it('turns a tagged value into a plain map of its fields, as before', () => {
    // Tag 1000 is unknown to cbor-x: it decodes to a Tag instance, which the wire exposes as a map.
    const bytes = new Uint8Array([0xd9, 0x03, 0xe8, 0x43, 1, 2, 3]);
    const v = decodeCbor(bytes) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(v.tag).toBe(1000);
    expect(v.value).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('applies the nesting limit inside a tagged value too', () => {
    const deep: unknown[] = [];
    let cur = deep;
    for (let i = 0; i < 40; i++) {
      const next: unknown[] = [];
      cur.push(next);
      cur = next;
    }
    const raw = new Encoder({ useRecords: false }).encode(deep);
    const tagged = new Uint8Array([0xd9, 0x03, 0xe8, ...raw]);
    expect(() => decodeCbor(tagged)).toThrow(ProtocolError);
  });
});

describe('encodeCbor', () => {
  it('drops undefined fields at any depth and keeps everything else byte for byte', () => {
    const withUndefined = encodeCbor({ a: 1, b: undefined, c: { d: undefined, e: new Uint8Array([9]) } });
    const without = encodeCbor({ a: 1, c: { e: new Uint8Array([9]) } });
    expect(Buffer.from(withUndefined).equals(Buffer.from(without))).toBe(true);
  });

  it('encodes an own "__proto__" key as an ordinary key', () => {
    const bytes = encodeCbor(JSON.parse('{"__proto__": 1, "x": 2}'));
    expect(Buffer.from(bytes).includes(Buffer.from('__proto__'))).toBe(true);
  });
});

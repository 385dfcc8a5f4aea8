/**
 * A small CBOR encoder that writes what Go's fxamacker/cbor (v2.9) writes, for the devnet's signing side.
 *
 * It is deliberately separate from the client's decoder (a faithful stranger): values are built as explicit
 * CBOR items, so nothing depends on guessing whether a JS number is an integer or a float.
 *
 * Two modes:
 * - `canonical` = `cbor.CanonicalEncOptions()`: map entries (struct fields included) sorted length-first, then
 *   bytewise, by their encoded key; floats in the shortest of float16/float32/float64 that keeps the value
 *   (x448/float16 `PrecisionFromfloat32` exactness rules: float16 subnormals are not used); NaN as f9 7e00,
 *   infinities as float16. This is what `ccbor` in core/pki and core/cert writes.
 * - `go-default` = `cbor.Marshal` defaults: map entries in the order given (struct declaration order), every
 *   float64 as 8 bytes.
 * Integers always use the shortest head; lengths are always definite.
 */
import { joinBytes } from '../bytes.js';

export type CborItem =
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'array'; readonly items: readonly CborItem[] }
  | { readonly kind: 'map'; readonly entries: readonly (readonly [CborItem, CborItem])[] }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' }
  | { readonly kind: 'float64'; readonly value: number };

export type CborEncoding = 'canonical' | 'go-default';

const UINT64_MAX = (1n << 64n) - 1n;

/** Builders for CBOR items. */
export const cbor = {
  uint(value: bigint | number): CborItem {
    const v = BigInt(value);
    if (v < 0n || v > UINT64_MAX) throw new RangeError(`not a uint64: ${value}`);
    return { kind: 'uint', value: v };
  },
  bytes(value: Uint8Array): CborItem {
    return { kind: 'bytes', value };
  },
  text(value: string): CborItem {
    return { kind: 'text', value };
  },
  array(items: readonly CborItem[]): CborItem {
    return { kind: 'array', items };
  },
  map(entries: readonly (readonly [CborItem, CborItem])[]): CborItem {
    return { kind: 'map', entries };
  },
  /** A Go struct: text field names in declaration order; `undefined` values are omitted (omitempty). */
  struct(fields: readonly (readonly [string, CborItem | undefined])[]): CborItem {
    const entries: [CborItem, CborItem][] = [];
    for (const [name, value] of fields) if (value !== undefined) entries.push([cbor.text(name), value]);
    return { kind: 'map', entries };
  },
  bool(value: boolean): CborItem {
    return { kind: 'bool', value };
  },
  null(): CborItem {
    return { kind: 'null' };
  },
  /** A Go float64. */
  float64(value: number): CborItem {
    return { kind: 'float64', value };
  },
  /** A Go `[]byte` that may be nil: null → CBOR null. */
  nullableBytes(value: Uint8Array | null | undefined): CborItem {
    return value == null ? cbor.null() : cbor.bytes(value);
  },
};

class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  head(major: number, value: bigint): void {
    const m = major << 5;
    if (value < 24n) this.push(Uint8Array.of(m | Number(value)));
    else if (value <= 0xffn) this.push(Uint8Array.of(m | 24, Number(value)));
    else if (value <= 0xffffn) {
      const b = new Uint8Array(3);
      b[0] = m | 25;
      new DataView(b.buffer).setUint16(1, Number(value));
      this.push(b);
    } else if (value <= 0xffff_ffffn) {
      const b = new Uint8Array(5);
      b[0] = m | 26;
      new DataView(b.buffer).setUint32(1, Number(value));
      this.push(b);
    } else {
      const b = new Uint8Array(9);
      b[0] = m | 27;
      new DataView(b.buffer).setBigUint64(1, value);
      this.push(b);
    }
  }

  result(): Uint8Array {
    return joinBytes(this.chunks);
  }
}

/** float16 bits for a float32-exact value, or undefined when float16 would not be exact (x448 rules). */
function float16Bits(value: number): number | undefined {
  const f32 = new DataView(new ArrayBuffer(4));
  f32.setFloat32(0, value);
  const u32 = f32.getUint32(0);
  const sign = (u32 >>> 16) & 0x8000;
  if ((u32 & 0x7fff_ffff) === 0) return sign; // ±0
  const exp = ((u32 >>> 23) & 0xff) - 127;
  const coef = u32 & 0x7f_ffff;
  if (exp < -14 || exp > 15) return undefined; // x448 reports float16 subnormals as "unknown": not used
  if ((coef & 0x1fff) !== 0) return undefined; // would drop mantissa bits
  return sign | ((exp + 15) << 10) | (coef >>> 13);
}

function writeFloat(w: Writer, value: number, mode: CborEncoding): void {
  if (mode === 'canonical') {
    if (Number.isNaN(value)) {
      w.push(Uint8Array.of(0xf9, 0x7e, 0x00));
      return;
    }
    if (value === Number.POSITIVE_INFINITY) {
      w.push(Uint8Array.of(0xf9, 0x7c, 0x00));
      return;
    }
    if (value === Number.NEGATIVE_INFINITY) {
      w.push(Uint8Array.of(0xf9, 0xfc, 0x00));
      return;
    }
    if (Object.is(Math.fround(value), value)) {
      const half = float16Bits(value);
      if (half !== undefined) {
        w.push(Uint8Array.of(0xf9, half >>> 8, half & 0xff));
        return;
      }
      const b = new Uint8Array(5);
      b[0] = 0xfa;
      new DataView(b.buffer).setFloat32(1, value);
      w.push(b);
      return;
    }
  }
  const b = new Uint8Array(9);
  b[0] = 0xfb;
  new DataView(b.buffer).setFloat64(1, value);
  w.push(b);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function write(w: Writer, item: CborItem, mode: CborEncoding): void {
  switch (item.kind) {
    case 'uint':
      w.head(0, item.value);
      return;
    case 'bytes':
      w.head(2, BigInt(item.value.length));
      w.push(item.value.slice());
      return;
    case 'text': {
      const utf8 = new TextEncoder().encode(item.value);
      w.head(3, BigInt(utf8.length));
      w.push(utf8);
      return;
    }
    case 'array':
      w.head(4, BigInt(item.items.length));
      for (const x of item.items) write(w, x, mode);
      return;
    case 'map': {
      let entries = item.entries.map(([k, v]) => [encodeCbor(k, mode), v] as const);
      if (mode === 'canonical') {
        // Length-first, then bytewise (fxamacker SortLengthFirst = SortCanonical).
        entries = [...entries].sort(([a], [b]) => a.length - b.length || compareBytes(a, b));
      }
      w.head(5, BigInt(entries.length));
      for (const [k, v] of entries) {
        w.push(k);
        write(w, v, mode);
      }
      return;
    }
    case 'bool':
      w.push(Uint8Array.of(item.value ? 0xf5 : 0xf4));
      return;
    case 'null':
      w.push(Uint8Array.of(0xf6));
      return;
    case 'float64':
      writeFloat(w, item.value, mode);
      return;
  }
}

export function encodeCbor(item: CborItem, mode: CborEncoding = 'canonical'): Uint8Array {
  const w = new Writer();
  write(w, item, mode);
  return w.result();
}

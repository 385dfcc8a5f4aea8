/**
 * The "shape" of a CBOR frame and a readable comparison of two shapes, for pinning the devnet's frames
 * to the golden frames captured from the real kpclientd (pinned-to-kpclientd.test.ts).
 *
 * The parser is independent of cbor-x and of src/wire on purpose: it keeps what a decoder throws away
 * (map key order, the exact CBOR major type of every value, null versus absent, byte lengths).
 */

export type Shape =
  | { t: 'uint'; v: bigint }
  | { t: 'nint'; v: bigint }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'text'; v: string }
  | { t: 'array'; items: Shape[] }
  | { t: 'map'; entries: [Shape, Shape][] }
  | { t: 'tag'; tag: bigint; item: Shape }
  | { t: 'bool'; v: boolean }
  | { t: 'null' }
  | { t: 'undefined' }
  | { t: 'float'; v: number };

/** Parses exactly one CBOR item (trailing bytes throw). */
export function parseShape(bytes: Uint8Array): Shape {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new Error(`CBOR: truncated at ${pos}`);
  };
  const argument = (info: number): bigint | null => {
    if (info < 24) return BigInt(info);
    if (info === 24) {
      need(1);
      return BigInt(bytes[pos++]!);
    }
    if (info === 25) {
      need(2);
      const v = view.getUint16(pos);
      pos += 2;
      return BigInt(v);
    }
    if (info === 26) {
      need(4);
      const v = view.getUint32(pos);
      pos += 4;
      return BigInt(v);
    }
    if (info === 27) {
      need(8);
      const v = view.getBigUint64(pos);
      pos += 8;
      return v;
    }
    if (info === 31) return null; // indefinite
    throw new Error(`CBOR: reserved additional info ${info} at ${pos}`);
  };
  const isBreak = () => {
    if (bytes[pos] !== 0xff) return false;
    pos++;
    return true;
  };
  const chunks = (major: number, info: number): Uint8Array => {
    const n = argument(info);
    if (n !== null) {
      need(Number(n));
      const out = bytes.slice(pos, pos + Number(n));
      pos += Number(n);
      return out;
    }
    const parts: Uint8Array[] = [];
    while (!isBreak()) {
      need(1);
      const h = bytes[pos++]!;
      if (h >> 5 !== major) throw new Error('CBOR: bad chunk in indefinite string');
      parts.push(chunks(major, h & 0x1f));
    }
    return Buffer.concat(parts);
  };
  const item = (): Shape => {
    need(1);
    const head = bytes[pos++]!;
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
        return { t: 'uint', v: argument(info)! };
      case 1:
        return { t: 'nint', v: -1n - argument(info)! };
      case 2:
        return { t: 'bytes', v: chunks(2, info) };
      case 3:
        return { t: 'text', v: new TextDecoder('utf-8', { fatal: true }).decode(chunks(3, info)) };
      case 4: {
        const n = argument(info);
        const items: Shape[] = [];
        if (n === null) while (!isBreak()) items.push(item());
        else for (let i = 0n; i < n; i++) items.push(item());
        return { t: 'array', items };
      }
      case 5: {
        const n = argument(info);
        const entries: [Shape, Shape][] = [];
        if (n === null) while (!isBreak()) entries.push([item(), item()]);
        else for (let i = 0n; i < n; i++) entries.push([item(), item()]);
        return { t: 'map', entries };
      }
      case 6:
        return { t: 'tag', tag: argument(info)!, item: item() };
      default: {
        if (info === 20 || info === 21) return { t: 'bool', v: info === 21 };
        if (info === 22) return { t: 'null' };
        if (info === 23) return { t: 'undefined' };
        if (info === 25) {
          need(2);
          const v = half(view.getUint16(pos));
          pos += 2;
          return { t: 'float', v };
        }
        if (info === 26) {
          need(4);
          const v = view.getFloat32(pos);
          pos += 4;
          return { t: 'float', v };
        }
        if (info === 27) {
          need(8);
          const v = view.getFloat64(pos);
          pos += 8;
          return { t: 'float', v };
        }
        throw new Error(`CBOR: unsupported simple value ${info} at ${pos - 1}`);
      }
    }
  };
  const out = item();
  if (pos !== bytes.length) throw new Error(`CBOR: ${bytes.length - pos} trailing bytes`);
  return out;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A short description: `bytes(16)`, `text "Ed25519"`, `uint 3`, `map{a,b}`, `array(2)`, `null`. */
export function describeShape(s: Shape, withValue = false): string {
  switch (s.t) {
    case 'uint':
    case 'nint':
      return withValue ? `${s.t} ${s.v}` : s.t;
    case 'bytes':
      return `bytes(${s.v.length})`;
    case 'text':
      return withValue ? `text ${JSON.stringify(s.v)}` : `text(${s.v.length})`;
    case 'array':
      return `array(${s.items.length})`;
    case 'map':
      return `map{${s.entries.map(([k]) => keyName(k)).join(',')}}`;
    case 'tag':
      return `tag(${s.tag})`;
    case 'bool':
      return `bool ${s.v}`;
    case 'float':
      return withValue ? `float ${s.v}` : 'float';
    default:
      return s.t;
  }
}

/** How a map key is identified when two maps are compared: text by value, anything else by shape. */
function keyId(k: Shape): string {
  return k.t === 'text' ? k.v : `<${describeShape(k)}>`;
}

export function keyName(k: Shape): string {
  if (k.t === 'text') return k.v;
  if (k.t === 'uint' || k.t === 'nint') return String(k.v);
  if (k.t === 'bytes') return `h'${Buffer.from(k.v).toString('hex').slice(0, 16)}…'`;
  return describeShape(k);
}

/** The value under text key `key` of a map shape (undefined when absent or not a map). */
export function field(s: Shape | undefined, key: string): Shape | undefined {
  if (s?.t !== 'map') return undefined;
  return s.entries.find(([k]) => k.t === 'text' && k.v === key)?.[1];
}

export function mapKeys(s: Shape | undefined): string[] {
  return s?.t === 'map' ? s.entries.map(([k]) => keyName(k)) : [];
}

/**
 * What to compare at a path (paths look like `get_pki_document_reply.payload` or
 * `connection_status_event.sphinx_geometry.NrHops`; array items add `[]`).
 *
 * - `shape` (the default): the CBOR major type; byte strings and arrays also their length, maps their
 *   key list in order (then each value, recursively); bool values always.
 * - `value`: additionally the exact value of integers, floats and text (and the bytes themselves).
 * - `length`: for text, additionally its length (PEM keys of the same type); otherwise like `shape`.
 * - `type`: only the CBOR major type (for a byte string or array: not its length). Every use must say why.
 * - `cbor`: a byte string holding CBOR: its length, then the decoded contents compared recursively
 *   under `<path>{}` (an explicit rule for `<path>{}` may relax the length check of the outer bytes).
 * - `skip`: nothing at all. Every use must say why.
 */
export type Check = 'shape' | 'value' | 'length' | 'type' | 'cbor' | 'cbor-any-length' | 'skip';

export interface Rule {
  /** An exact path, or a RegExp tested against the full path. */
  path: string | RegExp;
  check: Check;
  /** Why the check differs from `shape`: mandatory for `type`, `skip`, `cbor-any-length`. */
  why?: string;
}

/** Compares two shapes; returns one readable line per difference (empty when they agree). */
export function diffShapes(real: Shape, devnet: Shape, path: string, rules: readonly Rule[]): string[] {
  const out: string[] = [];
  walk(real, devnet, path, rules, out);
  return out;
}

function ruleFor(path: string, rules: readonly Rule[]): Check {
  for (const r of rules) {
    if (typeof r.path === 'string' ? r.path === path : r.path.test(path)) {
      if ((r.check === 'type' || r.check === 'skip' || r.check === 'cbor-any-length') && !r.why) {
        throw new Error(`rule for ${path} relaxes a check without saying why`);
      }
      return r.check;
    }
  }
  return 'shape';
}

function walk(real: Shape, dev: Shape, path: string, rules: readonly Rule[], out: string[]): void {
  const check = ruleFor(path, rules);
  if (check === 'skip') return;
  const withValue = check === 'value';
  const mismatch = () =>
    out.push(`${path}: real ${describeShape(real, withValue)}, devnet ${describeShape(dev, withValue)}`);
  if (real.t !== dev.t) {
    mismatch();
    return;
  }
  switch (real.t) {
    case 'uint':
    case 'nint':
    case 'float':
      if (withValue && real.v !== (dev as typeof real).v) mismatch();
      return;
    case 'bool':
      if (real.v !== (dev as typeof real).v) mismatch();
      return;
    case 'text':
      if (withValue && real.v !== (dev as typeof real).v) mismatch();
      if (check === 'length' && real.v.length !== (dev as typeof real).v.length) mismatch();
      return;
    case 'bytes': {
      const d = dev as typeof real;
      if (check === 'type') return;
      if (check !== 'cbor-any-length' && real.v.length !== d.v.length) {
        out.push(`${path}: real bytes(${real.v.length}), devnet bytes(${d.v.length})`);
        if (check !== 'cbor') return;
      }
      if (withValue && Buffer.compare(real.v, d.v) !== 0) {
        out.push(
          `${path}: real h'${Buffer.from(real.v).toString('hex')}', devnet h'${Buffer.from(d.v).toString('hex')}'`,
        );
      }
      if (check === 'cbor' || check === 'cbor-any-length') {
        let r: Shape;
        let v: Shape;
        try {
          r = parseShape(real.v);
        } catch (e) {
          out.push(`${path}: the real bytes are not CBOR (${(e as Error).message})`);
          return;
        }
        try {
          v = parseShape(d.v);
        } catch (e) {
          out.push(`${path}: real CBOR, devnet bytes are not CBOR (${(e as Error).message})`);
          return;
        }
        walk(r, v, `${path}{}`, rules, out);
      }
      return;
    }
    case 'array': {
      const d = dev as typeof real;
      if (check === 'type') return;
      if (real.items.length !== d.items.length) {
        out.push(`${path}: real array(${real.items.length}), devnet array(${d.items.length})`);
        return;
      }
      real.items.forEach((it, i) => {
        walk(it, d.items[i]!, `${path}[]`, rules, out);
      });
      return;
    }
    case 'map': {
      const d = dev as typeof real;
      if (check === 'type') return;
      // Text keys are compared by value; other keys (epochs, key hashes) by their shape only, and their
      // entries are then paired by position.
      const rk = real.entries.map(([k]) => keyId(k));
      const dk = d.entries.map(([k]) => keyId(k));
      const same = rk.join('\u0000') === dk.join('\u0000');
      if (!same) {
        const missing = rk.filter((k) => !dk.includes(k));
        const extra = dk.filter((k) => !rk.includes(k));
        const parts = [];
        if (missing.length) parts.push(`missing in devnet: ${missing.join(', ')}`);
        if (extra.length) parts.push(`only in devnet: ${extra.join(', ')}`);
        if (!missing.length && !extra.length) parts.push('same keys, different order or count');
        out.push(
          `${path}: keys differ (${parts.join('; ')}) — real [${rk.join(', ')}], devnet [${dk.join(', ')}]`,
        );
      }
      real.entries.forEach(([k, v], i) => {
        const other = same
          ? d.entries[i]
          : k.t === 'text'
            ? d.entries.find(([k2]) => keyId(k2) === k.v)
            : undefined;
        if (other) walk(v, other[1], `${path}.${keyId(k)}`, rules, out);
      });
      return;
    }
    case 'tag': {
      const d = dev as typeof real;
      if (real.tag !== d.tag) mismatch();
      else walk(real.item, d.item, `${path}<tag>`, rules, out);
      return;
    }
    default:
      return;
  }
}

/** The 25-key Go `Response` map: the selected key and its body. Throws on anything else. */
export function topLevel(frame: Shape): { keys: string[]; selected: string; body: Shape; nonNull: string[] } {
  if (frame.t !== 'map') throw new Error(`frame is ${describeShape(frame)}, not a map`);
  const keys = frame.entries.map(([k]) => keyName(k));
  const nonNull = frame.entries.filter(([, v]) => v.t !== 'null').map(([k]) => keyName(k));
  const selected = nonNull[0];
  if (selected === undefined) throw new Error('frame has no non-null key');
  return { keys, selected, body: field(frame, selected)!, nonNull };
}

/**
 * Compares two whole daemon frames: the same selected key, the same full top-level key list in the
 * same order with every other entry null, then the body by `diffShapes`.
 */
export function diffFrames(realBytes: Uint8Array, devnetBytes: Uint8Array, rules: readonly Rule[]): string[] {
  const real = topLevel(parseShape(realBytes));
  let dev: ReturnType<typeof topLevel>;
  try {
    dev = topLevel(parseShape(devnetBytes));
  } catch (e) {
    return [`devnet frame: ${(e as Error).message}`];
  }
  const out: string[] = [];
  if (real.selected !== dev.selected) {
    return [`top level: real ${real.selected}, devnet ${dev.selected}`];
  }
  if (real.keys.join(',') !== dev.keys.join(',')) {
    out.push(
      `top level: keys differ — real ${real.keys.length} [${real.keys.join(', ')}], devnet ${dev.keys.length} [${dev.keys.join(', ')}]`,
    );
  }
  if (dev.nonNull.length !== 1) out.push(`top level: devnet has non-null entries ${dev.nonNull.join(', ')}`);
  if (real.nonNull.length !== 1) out.push(`top level: real has non-null entries ${real.nonNull.join(', ')}`);
  out.push(...diffShapes(real.body, dev.body, real.selected, rules));
  return out;
}

/**
 * Deterministic randomness for the devnet. One seed drives everything (keys, tokens, AppIDs, courier and
 * replica choices, delays, loss), so a seeded network is reproducible. Each subsystem takes its own
 * labelled child stream, so that what one subsystem draws does not shift another's numbers.
 *
 * The stream is ChaCha20 keyed by BLAKE2b-256 of the seed material; it is not used for anything secret
 * beyond the simulated network itself.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { blake2b256 } from '../crypto/hash.js';

const BLOCK = 64;
const CHUNK_BLOCKS = 64;
const encoder = new TextEncoder();

export class Drbg {
  private readonly key: Uint8Array;
  private buffer = new Uint8Array(0);
  private offset = 0;
  private counter = 0;

  /** `seed`: any bytes; it is hashed to the 32-byte stream key. */
  constructor(seed: Uint8Array) {
    this.key = blake2b256(seed);
  }

  /** A fresh random generator (no seed given). */
  static random(): Drbg {
    return new Drbg(crypto.getRandomValues(new Uint8Array(32)));
  }

  /** An independent child stream named `label`. */
  fork(label: string): Drbg {
    const l = encoder.encode(label);
    const m = new Uint8Array(this.key.length + 1 + l.length);
    m.set(this.key);
    m[this.key.length] = 0x2f;
    m.set(l, this.key.length + 1);
    return new Drbg(m);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.offset >= this.buffer.length) this.refill();
      const k = Math.min(n - filled, this.buffer.length - this.offset);
      out.set(this.buffer.subarray(this.offset, this.offset + k), filled);
      this.offset += k;
      filled += k;
    }
    return out;
  }

  /** Uniform in [0, 1), 53 bits. */
  float(): number {
    if (this.offset + 7 > this.buffer.length) this.refill();
    const b = this.buffer;
    const o = this.offset;
    this.offset += 7;
    const hi = ((b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!) & 0x1f_ffff;
    const lo = ((b[o + 3]! << 24) | (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!) >>> 0;
    return (hi * 2 ** 32 + lo) / 2 ** 53;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`int(${n})`);
    return Math.min(n - 1, Math.floor(this.float() * n));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    if (!(p > 0)) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  /** Exponentially distributed with the given mean (0 when the mean is 0). */
  exp(mean: number): number {
    if (!(mean > 0)) return 0;
    return -mean * Math.log(1 - this.float());
  }

  /** Uniform in [0, max). */
  uniform(max: number): number {
    return max > 0 ? this.float() * max : 0;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  private refill(): void {
    const nonce = new Uint8Array(12);
    const view = new DataView(nonce.buffer);
    // The high part of the block counter goes in the nonce, so streams never repeat.
    view.setUint32(8, Math.floor(this.counter / 2 ** 32), true);
    this.buffer = chacha20(
      this.key,
      nonce,
      new Uint8Array(BLOCK * CHUNK_BLOCKS),
      undefined,
      this.counter % 2 ** 32,
    );
    this.counter += CHUNK_BLOCKS;
    this.offset = 0;
  }
}

/** Turns the `seed` option into bytes: strings are UTF-8, numbers and bigints their decimal text. */
export function seedBytes(seed: Uint8Array | string | number | bigint): Uint8Array {
  if (seed instanceof Uint8Array) return new Uint8Array(seed);
  return encoder.encode(typeof seed === 'string' ? seed : `n:${String(seed)}`);
}

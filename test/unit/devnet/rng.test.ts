import { describe, expect, it } from 'vitest';
import { Drbg, seedBytes } from '../../../src/devnet/rng.js';

describe('devnet randomness', () => {
  it('is reproducible from a seed and independent per labelled child stream', () => {
    const a = new Drbg(seedBytes('seed'));
    const b = new Drbg(seedBytes('seed'));
    expect(a.fork('x').bytes(100)).toEqual(b.fork('x').bytes(100));
    expect(a.fork('x').bytes(32)).not.toEqual(a.fork('y').bytes(32));
    // Drawing from one child does not shift another.
    const c = new Drbg(seedBytes('seed'));
    c.fork('y').bytes(1000);
    expect(c.fork('x').bytes(16)).toEqual(new Drbg(seedBytes('seed')).fork('x').bytes(16));
  });

  it('spans chunk boundaries without repeating', () => {
    const r = new Drbg(seedBytes(1));
    const first = r.bytes(4096);
    const second = r.bytes(4096);
    expect(first).not.toEqual(second);
  });

  it('draws floats in [0,1), ints in range, and exponential delays with the right mean', () => {
    const r = new Drbg(seedBytes('stats'));
    let sum = 0;
    let min = 1;
    let max = 0;
    let badInt = 0;
    for (let i = 0; i < 20000; i++) {
      const f = r.float();
      min = Math.min(min, f);
      max = Math.max(max, f);
      sum += r.exp(200);
      const n = r.int(5);
      if (!(n >= 0 && n < 5 && Number.isInteger(n))) badInt++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(badInt).toBe(0);
    expect(sum / 20000).toBeGreaterThan(190);
    expect(sum / 20000).toBeLessThan(210);
    expect(r.exp(0)).toBe(0);
    expect(r.chance(0)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { blake2b256, hkdfBlake2b512 } from '../../../src/crypto/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('blake2b256', () => {
  it('hashes the empty string to the BLAKE2b-256 check value', () => {
    expect(hex(blake2b256(new Uint8Array(0)))).toBe(
      '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
    );
  });

  it('uses digest length 32 rather than truncating BLAKE2b-512', () => {
    // RFC 7693 Appendix A gives BLAKE2b-512("abc"); its first 32 bytes are not BLAKE2b-256("abc").
    const abc = new TextEncoder().encode('abc');
    expect(hex(blake2b256(abc))).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
    expect(hex(blake2b256(abc))).not.toBe('ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1');
  });

  it('returns a plain Uint8Array for a Buffer input', () => {
    const out = blake2b256(Buffer.from('x'));
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
  });
});

describe('hkdfBlake2b512', () => {
  it('treats an empty salt like an absent (Go nil) salt', () => {
    const ikm = new Uint8Array(32).fill(1);
    const info = new Uint8Array(8);
    expect(hkdfBlake2b512(ikm, new Uint8Array(0), info, 96)).toEqual(
      hkdfBlake2b512(ikm, undefined, info, 96),
    );
    expect(hkdfBlake2b512(ikm, new Uint8Array(64), info, 96)).toEqual(
      hkdfBlake2b512(ikm, undefined, info, 96),
    );
  });

  it('yields a stream whose prefix is the shorter output, like successive Go reads', () => {
    const ikm = new Uint8Array(32).fill(2);
    expect(hkdfBlake2b512(ikm, undefined, undefined, 96).subarray(0, 32)).toEqual(
      hkdfBlake2b512(ikm, undefined, undefined, 32),
    );
  });
});

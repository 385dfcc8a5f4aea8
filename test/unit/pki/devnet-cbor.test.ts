import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { cbor, encodeCbor, encodeCertificate } from '../../../src/devnet/pki/index.js';

const hex = (item: Parameters<typeof encodeCbor>[0], mode?: 'canonical' | 'go-default') =>
  bytesToHex(encodeCbor(item, mode));

describe('devnet CBOR encoder (fxamacker-compatible)', () => {
  it('writes integers with the shortest head, up to 2^64 − 1', () => {
    expect(hex(cbor.uint(0))).toBe('00');
    expect(hex(cbor.uint(23))).toBe('17');
    expect(hex(cbor.uint(24))).toBe('1818');
    expect(hex(cbor.uint(256))).toBe('190100');
    expect(hex(cbor.uint(65536))).toBe('1a00010000');
    expect(hex(cbor.uint((1n << 64n) - 1n))).toBe('1bffffffffffffffff');
    expect(() => cbor.uint(-1)).toThrow(RangeError);
  });

  it('writes canonical floats in the shortest exact width, without float16 subnormals', () => {
    expect(hex(cbor.float64(0))).toBe('f90000');
    expect(hex(cbor.float64(-0))).toBe('f98000');
    expect(hex(cbor.float64(1.5))).toBe('f93e00');
    expect(hex(cbor.float64(65504))).toBe('f97bff');
    expect(hex(cbor.float64(100000))).toBe('fa47c35000');
    expect(hex(cbor.float64(2 ** -24))).toBe('fa33800000'); // float16 subnormal: x448 says "unknown"
    expect(hex(cbor.float64(0.005))).toBe('fb3f747ae147ae147b');
    expect(hex(cbor.float64(Number.NaN))).toBe('f97e00');
    expect(hex(cbor.float64(Number.NEGATIVE_INFINITY))).toBe('f9fc00');
  });

  it('writes every float as 8 bytes in Go’s default mode', () => {
    expect(hex(cbor.float64(0), 'go-default')).toBe('fb0000000000000000');
    expect(hex(cbor.float64(1.5), 'go-default')).toBe('fb3ff8000000000000');
  });

  it('sorts canonical map keys length-first, then bytewise, and keeps declaration order otherwise', () => {
    const s = cbor.struct([
      ['Version', cbor.uint(0)],
      ['Expiration', cbor.uint(1)],
      ['KeyType', cbor.text('')],
      ['Certified', cbor.bytes(new Uint8Array(0))],
      ['Omitted', undefined],
    ]);
    const keys = (mode: 'canonical' | 'go-default') => {
      const b = encodeCbor(s, mode);
      const names: string[] = [];
      for (let i = 1; i < b.length; ) {
        const len = b[i]! - 0x60;
        names.push(new TextDecoder().decode(b.subarray(i + 1, i + 1 + len)));
        i += 1 + len;
        i += b[i] === 0x40 || b[i] === 0x60 || b[i]! < 0x18 ? 1 : 0;
      }
      return names;
    };
    expect(keys('canonical')).toEqual(['KeyType', 'Version', 'Certified', 'Expiration']);
    expect(keys('go-default')).toEqual(['Version', 'Expiration', 'KeyType', 'Certified']);
    // Integer keys sort numerically (shorter encodings first); byte-string keys bytewise.
    const m = cbor.map([
      [cbor.uint(300), cbor.null()],
      [cbor.uint(2), cbor.null()],
      [cbor.uint(25), cbor.null()],
    ]);
    expect(hex(m)).toBe('a302f61819f619012cf6');
  });

  it('encodes a certificate like cert.Marshal: KeyType, Version, Certified, Expiration, Signatures', () => {
    const key = new Uint8Array(32).fill(1);
    const bytes = encodeCertificate({
      expiration: 5,
      keyType: 'Ed25519',
      certified: Uint8Array.of(0xaa),
      signatures: [{ key, payload: Uint8Array.of(0xbb) }],
    });
    const expected = [
      'a5', // map(5)
      '674b657954797065 6745643235353139', // "KeyType": "Ed25519"
      '6756657273696f6e 00', // "Version": 0
      '69436572746966696564 41aa', // "Certified": h'aa'
      '6a45787069726174696f6e 05', // "Expiration": 5
      '6a5369676e617475726573 a1', // "Signatures": map(1)
      `5820${'01'.repeat(32)} a2`, // h'0101…': map(2)
      '675061796c6f6164 41bb', // "Payload": h'bb'
      `6f5075626c69634b657953756d323536 5820${'01'.repeat(32)}`, // "PublicKeySum256": h'0101…'
    ]
      .join('')
      .replaceAll(' ', '');
    expect(bytesToHex(bytes)).toBe(expected);
  });
});

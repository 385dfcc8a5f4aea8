import { describe, expect, it } from 'vitest';
import {
  advanceIndexTo,
  BacapError,
  type BacapFailure,
  boxIdFor,
  decryptFromBox,
  deriveMessageBoxId,
  encryptForBox,
  firstIndexOf,
  indexCounter,
  isValidBoxId,
  mutateKdfState,
  newWriteCapFromSeed,
  nextIndex,
  parseMessageBoxIndex,
  parseReadCap,
  parseWriteCap,
  rootPublicKeyOf,
  serializeMessageBoxIndex,
  signBox,
  signTombstone,
  verifyBox,
  verifyTombstone,
  writeCapFromEntropy,
  writeCapToReadCap,
} from '../../../src/crypto/index.js';
import { InvalidArgumentError } from '../../../src/errors.js';

const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = b.slice();
  c[at]! ^= 1;
  return c;
};

const alice = newWriteCapFromSeed(seed(1));
const aliceRead = writeCapToReadCap(alice);
const aliceIndex = firstIndexOf(alice);
const bob = newWriteCapFromSeed(seed(2));
const bobRead = writeCapToReadCap(bob);
const message = text('a padded Pigeonhole payload');
const sealed = encryptForBox(alice, aliceIndex, message);

function expectBacapError(fn: () => unknown, reason: BacapFailure): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BacapError);
    expect((err as BacapError).reason).toBe(reason);
    expect((err as BacapError).code).toBe('ERR_BACAP');
    return;
  }
  throw new Error(`expected a BacapError (${reason})`);
}

function expectInvalid(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe(message);
    return;
  }
  throw new Error(`expected InvalidArgumentError: ${message}`);
}

describe('newWriteCapFromSeed', () => {
  it('gives the same caps for the same seed and different caps for different seeds', () => {
    expect(newWriteCapFromSeed(seed(1))).toEqual(alice);
    expect(bob).not.toEqual(alice);
  });

  it('starts the counter in [1, 2^63-1] and stores the ReadCap index as the WriteCap index', () => {
    const counter = indexCounter(aliceIndex);
    expect(counter >= 1n && counter <= (1n << 63n) - 1n).toBe(true);
    expect(firstIndexOf(aliceRead)).toEqual(aliceIndex);
    expect(rootPublicKeyOf(alice)).toEqual(rootPublicKeyOf(aliceRead));
  });

  it('keeps the start counter below 2^63 even when every entropy byte is 0xff', () => {
    const wc = writeCapFromEntropy(new Uint8Array(80).fill(0xff));
    // Two halves of 2^62-1 each, plus the one ratchet step.
    expect(indexCounter(firstIndexOf(wc))).toBe((1n << 63n) - 1n);
  });
});

describe('encryptForBox / decryptFromBox', () => {
  it('opens what the writer sealed, with the ReadCap or with the WriteCap', () => {
    expect(decryptFromBox(aliceRead, aliceIndex, sealed)).toEqual(message);
    expect(decryptFromBox(alice, aliceIndex, sealed)).toEqual(message);
    expect(decryptFromBox(aliceRead, aliceIndex, { ...sealed, boxId: sealed.boxId })).toEqual(message);
  });

  it('seals to the box ID that boxIdFor gives, with a 16-byte longer ciphertext', () => {
    expect(sealed.boxId).toEqual(boxIdFor(aliceRead, aliceIndex));
    expect(sealed.ciphertext.length).toBe(message.length + 16);
    expect(sealed.signature.length).toBe(64);
  });

  it('is deterministic, so a re-encryption is byte-identical (replica idempotency)', () => {
    expect(encryptForBox(alice, aliceIndex, message)).toEqual(sealed);
  });

  it('gives a different box and ciphertext at the next index', () => {
    const next = encryptForBox(alice, nextIndex(aliceIndex), message);
    expect(next.boxId).not.toEqual(sealed.boxId);
    expect(next.ciphertext).not.toEqual(sealed.ciphertext);
  });

  it('rejects another cap, another index and another context as a bad signature', () => {
    const { ciphertext, signature } = sealed;
    const reply = { ciphertext, signature };
    expectBacapError(() => decryptFromBox(bobRead, aliceIndex, reply), 'signature_invalid');
    expectBacapError(() => decryptFromBox(aliceRead, nextIndex(aliceIndex), reply), 'signature_invalid');
    expectBacapError(() => decryptFromBox(aliceRead, aliceIndex, reply, text('other')), 'signature_invalid');
  });

  it('rejects another cap, another index and another context as a box mismatch when given the box ID', () => {
    expectBacapError(() => decryptFromBox(bobRead, aliceIndex, sealed), 'box_mismatch');
    expectBacapError(() => decryptFromBox(aliceRead, nextIndex(aliceIndex), sealed), 'box_mismatch');
    expectBacapError(() => decryptFromBox(aliceRead, aliceIndex, sealed, text('other')), 'box_mismatch');
  });

  it('rejects a tampered ciphertext and a tampered signature', () => {
    expectBacapError(
      () => decryptFromBox(aliceRead, aliceIndex, { ...sealed, ciphertext: flip(sealed.ciphertext, 0) }),
      'signature_invalid',
    );
    expectBacapError(
      () => decryptFromBox(aliceRead, aliceIndex, { ...sealed, signature: flip(sealed.signature, 5) }),
      'signature_invalid',
    );
  });

  it('rejects a box ID that does not belong to the cap and index before checking anything else', () => {
    const other = encryptForBox(alice, nextIndex(aliceIndex), message);
    expectBacapError(() => decryptFromBox(aliceRead, aliceIndex, other), 'box_mismatch');
  });

  it('reports a correctly signed ciphertext that does not open as a decryption failure', () => {
    const garbage = new Uint8Array(48).fill(9);
    const signed = signBox(alice, aliceIndex, garbage);
    expect(verifyBox(signed.boxId, garbage, signed.signature)).toBe(true);
    expectBacapError(
      () => decryptFromBox(aliceRead, aliceIndex, { ciphertext: garbage, signature: signed.signature }),
      'decrypt_failed',
    );
  });

  it('encrypts an empty plaintext to a 16-byte ciphertext that opens to empty', () => {
    const empty = encryptForBox(alice, aliceIndex, new Uint8Array(0));
    expect(empty.ciphertext.length).toBe(16);
    expect(decryptFromBox(aliceRead, aliceIndex, empty).length).toBe(0);
  });

  it('rejects a WriteCap whose stored public key is not its private key', () => {
    const forged = alice.slice();
    forged.set(rootPublicKeyOf(bob), 32);
    const msg = 'writeCap: public key does not match the private key';
    expectInvalid(() => encryptForBox(forged, aliceIndex, message), msg);
    expectInvalid(() => signTombstone(forged, aliceIndex), msg);
    expectInvalid(() => writeCapToReadCap(forged), msg);
    expectInvalid(() => parseWriteCap(forged), msg);
  });
});

describe('tombstones', () => {
  const tomb = signTombstone(alice, aliceIndex);

  it('signs the empty payload at the box of the index, and the reader and replica accept it', () => {
    expect(tomb.boxId).toEqual(boxIdFor(aliceRead, aliceIndex));
    expect(verifyTombstone(aliceRead, aliceIndex, tomb.signature)).toBe(true);
    expect(verifyBox(tomb.boxId, new Uint8Array(0), tomb.signature)).toBe(true);
    const opened = decryptFromBox(aliceRead, aliceIndex, { ...tomb, ciphertext: new Uint8Array(0) });
    expect(opened.length).toBe(0);
  });

  it('does not verify for another index, another cap or a tampered signature', () => {
    expect(verifyTombstone(aliceRead, nextIndex(aliceIndex), tomb.signature)).toBe(false);
    expect(verifyTombstone(bobRead, aliceIndex, tomb.signature)).toBe(false);
    expect(verifyTombstone(aliceRead, aliceIndex, flip(tomb.signature, 5))).toBe(false);
  });

  it("rejects a valid tombstone of another box when opened at this index (hpqc's box_mismatch)", () => {
    const later = signTombstone(alice, nextIndex(aliceIndex));
    expectBacapError(
      () => decryptFromBox(aliceRead, aliceIndex, { ...later, ciphertext: new Uint8Array(0) }),
      'box_mismatch',
    );
    expectBacapError(
      () =>
        decryptFromBox(aliceRead, aliceIndex, { ciphertext: new Uint8Array(0), signature: later.signature }),
      'signature_invalid',
    );
  });

  it('is not a valid signature over a non-empty payload', () => {
    expect(verifyBox(tomb.boxId, sealed.ciphertext, tomb.signature)).toBe(false);
  });
});

describe('verifyBox and isValidBoxId (the replica checks)', () => {
  it('accepts a sealed box and rejects it after any change', () => {
    expect(verifyBox(sealed.boxId, sealed.ciphertext, sealed.signature)).toBe(true);
    expect(verifyBox(flip(sealed.boxId, 3), sealed.ciphertext, sealed.signature)).toBe(false);
    expect(verifyBox(sealed.boxId, flip(sealed.ciphertext, 0), sealed.signature)).toBe(false);
    expect(verifyBox(sealed.boxId, sealed.ciphertext, flip(sealed.signature, 40))).toBe(false);
  });

  it('returns false rather than throwing for wrong lengths and non-points', () => {
    const offCurve = new Uint8Array(32);
    offCurve[0] = 2; // y = 2 has no x on edwards25519
    expect(verifyBox(sealed.boxId.subarray(0, 31), sealed.ciphertext, sealed.signature)).toBe(false);
    expect(verifyBox(sealed.boxId, sealed.ciphertext, sealed.signature.subarray(0, 63))).toBe(false);
    expect(verifyBox(offCurve, sealed.ciphertext, sealed.signature)).toBe(false);
    expect(isValidBoxId(offCurve)).toBe(false);
    expect(isValidBoxId(sealed.boxId)).toBe(true);
    expect(isValidBoxId(new Uint8Array(31))).toBe(false);
  });

  it('derives the context-free DeriveMessageBoxID differently from the Pigeonhole box ID', () => {
    expect(deriveMessageBoxId(aliceRead, aliceIndex)).not.toEqual(boxIdFor(aliceRead, aliceIndex));
  });
});

describe('MessageBoxIndex', () => {
  it('advances the counter by one with nextIndex and never repeats keys', () => {
    const next = nextIndex(aliceIndex);
    const a = parseMessageBoxIndex(aliceIndex);
    const b = parseMessageBoxIndex(next);
    expect(b.counter).toBe(a.counter + 1n);
    expect(b.blindingFactor).not.toEqual(a.blindingFactor);
    expect(b.encryptionKey).not.toEqual(a.encryptionKey);
    expect(b.hkdfState).not.toEqual(a.hkdfState);
  });

  it('returns an equal copy when advancing to the current counter', () => {
    const same = advanceIndexTo(aliceIndex, indexCounter(aliceIndex));
    expect(same).toEqual(aliceIndex);
    expect(same).not.toBe(aliceIndex);
  });

  it('refuses to rewind', () => {
    expectBacapError(() => advanceIndexTo(aliceIndex, indexCounter(aliceIndex) - 1n), 'cannot_rewind');
  });

  it('reaches counter 2^64-1 and then reports the index as exhausted', () => {
    const max = (1n << 64n) - 1n;
    const nearEnd = serializeMessageBoxIndex({ ...parseMessageBoxIndex(aliceIndex), counter: max - 1n });
    const last = nextIndex(nearEnd);
    expect(indexCounter(last)).toBe(max);
    expectBacapError(() => nextIndex(last), 'index_exhausted');
  });

  it('round-trips through parse and serialize, little-endian counter first', () => {
    const parts = parseMessageBoxIndex(aliceIndex);
    expect(serializeMessageBoxIndex(parts)).toEqual(aliceIndex);
    const one = serializeMessageBoxIndex({ ...parts, counter: 0x0102n });
    expect(Array.from(one.subarray(0, 8))).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('keeps the counter and changes every key when mutated by a salt', () => {
    const mutated = parseMessageBoxIndex(mutateKdfState(aliceIndex, new Uint8Array(32).fill(0x11)));
    const a = parseMessageBoxIndex(aliceIndex);
    expect(mutated.counter).toBe(a.counter);
    expect(mutated.hkdfState).not.toEqual(a.hkdfState);
    expect(mutated.blindingFactor).not.toEqual(a.blindingFactor);
  });
});

describe('caps', () => {
  it('parses a ReadCap into its root key and index', () => {
    const parts = parseReadCap(aliceRead);
    expect(parts.rootPublicKey).toEqual(rootPublicKeyOf(alice));
    expect(parts.index).toEqual(aliceIndex);
  });

  it('rejects a ReadCap whose root key is not a curve point', () => {
    const bad = aliceRead.slice();
    bad.fill(0, 0, 32);
    bad[0] = 2;
    const msg = 'readCap: root public key is not a valid Ed25519 point';
    expectInvalid(() => parseReadCap(bad), msg);
    expectInvalid(() => boxIdFor(bad, aliceIndex), msg);
    expectInvalid(() => decryptFromBox(bad, aliceIndex, sealed), msg);
  });

  it('returns plain Uint8Arrays that do not share memory with Buffer inputs', () => {
    const wcBuf = Buffer.from(alice);
    const rc = writeCapToReadCap(wcBuf);
    const idx = firstIndexOf(wcBuf);
    const out = [
      rc,
      idx,
      newWriteCapFromSeed(Buffer.from(seed(1))),
      nextIndex(Buffer.from(aliceIndex)),
      advanceIndexTo(Buffer.from(aliceIndex), indexCounter(aliceIndex)),
      encryptForBox(wcBuf, Buffer.from(aliceIndex), Buffer.from(message)).ciphertext,
      decryptFromBox(Buffer.from(aliceRead), Buffer.from(aliceIndex), sealed),
      parseWriteCap(wcBuf).privateKey,
    ];
    for (const o of out) expect(Object.getPrototypeOf(o)).toBe(Uint8Array.prototype);
    idx[0]! ^= 0xff;
    rc[0]! ^= 0xff;
    expect(wcBuf.equals(Buffer.from(alice))).toBe(true);
  });
});

describe('length checks', () => {
  const short = new Uint8Array(12);
  const cases: [string, () => unknown, string][] = [
    ['newWriteCapFromSeed', () => newWriteCapFromSeed(new Uint8Array(31)), 'seed: expected 32 bytes, got 31'],
    ['newWriteCapFromSeed', () => newWriteCapFromSeed(new Uint8Array(33)), 'seed: expected 32 bytes, got 33'],
    ['writeCapFromEntropy', () => writeCapFromEntropy(short), 'entropy: expected 80 bytes, got 12'],
    ['writeCapToReadCap', () => writeCapToReadCap(short), 'writeCap: expected 168 bytes, got 12'],
    ['writeCapToReadCap', () => writeCapToReadCap(aliceRead), 'writeCap: expected 168 bytes, got 136'],
    ['parseWriteCap', () => parseWriteCap(short), 'writeCap: expected 168 bytes, got 12'],
    ['parseReadCap', () => parseReadCap(alice), 'readCap: expected 136 bytes, got 168'],
    [
      'parseMessageBoxIndex',
      () => parseMessageBoxIndex(short),
      'messageBoxIndex: expected 104 bytes, got 12',
    ],
    ['indexCounter', () => indexCounter(new Uint8Array(0)), 'messageBoxIndex: expected 104 bytes, got 0'],
    ['nextIndex', () => nextIndex(new Uint8Array(105)), 'messageBoxIndex: expected 104 bytes, got 105'],
    ['advanceIndexTo', () => advanceIndexTo(short, 5n), 'messageBoxIndex: expected 104 bytes, got 12'],
    ['advanceIndexTo', () => advanceIndexTo(aliceIndex, -1n), 'counter: expected a bigint in [0, 2^64)'],
    [
      'advanceIndexTo',
      () => advanceIndexTo(aliceIndex, 1n << 64n),
      'counter: expected a bigint in [0, 2^64)',
    ],
    ['mutateKdfState', () => mutateKdfState(short, seed(1)), 'messageBoxIndex: expected 104 bytes, got 12'],
    [
      'firstIndexOf',
      () => firstIndexOf(short),
      'cap: expected 168 (WriteCap) or 136 (ReadCap) bytes, got 12',
    ],
    [
      'boxIdFor',
      () => boxIdFor(short, aliceIndex),
      'cap: expected 168 (WriteCap) or 136 (ReadCap) bytes, got 12',
    ],
    ['boxIdFor', () => boxIdFor(aliceRead, short), 'messageBoxIndex: expected 104 bytes, got 12'],
    [
      'encryptForBox',
      () => encryptForBox(short, aliceIndex, message),
      'writeCap: expected 168 bytes, got 12',
    ],
    [
      'encryptForBox',
      () => encryptForBox(aliceRead, aliceIndex, message),
      'writeCap: expected 168 bytes, got 136',
    ],
    [
      'encryptForBox',
      () => encryptForBox(alice, short, message),
      'messageBoxIndex: expected 104 bytes, got 12',
    ],
    ['signTombstone', () => signTombstone(alice, short), 'messageBoxIndex: expected 104 bytes, got 12'],
    [
      'decryptFromBox',
      () => decryptFromBox(aliceRead, aliceIndex, { ...sealed, signature: short }),
      'signature: expected 64 bytes, got 12',
    ],
    [
      'decryptFromBox',
      () => decryptFromBox(aliceRead, aliceIndex, { ...sealed, boxId: short }),
      'boxId: expected 32 bytes, got 12',
    ],
    [
      'decryptFromBox',
      () => decryptFromBox(aliceRead, short, sealed),
      'messageBoxIndex: expected 104 bytes, got 12',
    ],
    [
      'verifyTombstone',
      () => verifyTombstone(aliceRead, aliceIndex, short),
      'signature: expected 64 bytes, got 12',
    ],
    [
      'serializeMessageBoxIndex',
      () => serializeMessageBoxIndex({ ...parseMessageBoxIndex(aliceIndex), hkdfState: short }),
      'hkdfState: expected 32 bytes, got 12',
    ],
    [
      'encryptForBox',
      () => encryptForBox(alice, aliceIndex, 'hello' as unknown as Uint8Array),
      'plaintext: expected a Uint8Array, got string',
    ],
  ];

  it.each(cases.map(([name, fn, msg]) => [name, msg, fn] as const))(
    '%s rejects with "%s"',
    (_name, msg, fn) => {
      expectInvalid(fn, msg);
    },
  );

  it('carries the field name and the stable code on the error', () => {
    try {
      writeCapToReadCap(short);
    } catch (err) {
      expect((err as InvalidArgumentError).field).toBe('writeCap');
      expect((err as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
      return;
    }
    throw new Error('expected a throw');
  });
});

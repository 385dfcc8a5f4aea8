/**
 * Every vector of vectors/bacap_vectors.json (hpqc's own vectors, from hpqc `testvectors/bacap/`) and
 * vectors/newkeypair_selfderived.json (seed → caps, as kpclientd's NewKeypair derives them).
 *
 * The vector files live with the design docs. They are looked up in $KATZENPOST_VECTORS_DIR, then
 * test/fixtures/vectors, then ../shared/vectors next to the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  advanceIndexTo,
  boxIdFor,
  decryptFromBox,
  deriveMessageBoxId,
  encryptForBox,
  firstIndexOf,
  hkdfBlake2b512,
  indexCounter,
  mutateKdfState,
  newWriteCapFromSeed,
  nextIndex,
  parseWriteCap,
  serializeMessageBoxIndex,
  signTombstone,
  verifyTombstone,
  writeCapFromEntropy,
  writeCapToReadCap,
} from '../../../src/crypto/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const vectorsDir = [
  process.env.KATZENPOST_VECTORS_DIR,
  resolve(repoRoot, 'test/fixtures/vectors'),
  resolve(repoRoot, '../shared/vectors'),
].find((d): d is string => d !== undefined && existsSync(resolve(d, 'bacap_vectors.json')));
if (vectorsDir === undefined) throw new Error('BACAP vector files not found; set KATZENPOST_VECTORS_DIR');

function load<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(vectorsDir as string, name), 'utf8')) as T;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Contexts and short plaintexts are ASCII; show them as text in test names. */
const show = (h: string): string => JSON.stringify(Buffer.from(h, 'hex').toString('utf8'));

interface BacapVectors {
  cap_fixed_wc: string;
  cap_random_start_wc: string;
  cap_random_start_idx64: string;
  cap_near_2_63_wc: string;
  /** [steps past cap_fixed's index, resulting index] */
  advance: [number, string][];
  /** [steps past cap_fixed's index, context or null for DeriveMessageBoxID, box ID] */
  boxid: [number, string | null, string][];
  /** [cap, steps, context, plaintext, box ID, ciphertext, signature] */
  encrypt: [string, number, string, string, string, string, string][];
  encrypt_long: {
    cap: string;
    advance: number;
    ctx: string;
    pt_byte: number;
    pt_len: number;
    box: string;
    sig: string;
    ct_prefix: string;
    ct_suffix: string;
  };
  /** [cap, steps, salt, read context, mutated index, box ID of the mutated index] */
  mutate: [string, number, string, string, string, string][];
  /** [cap, steps, context, box ID, signature over the empty payload] */
  tombstone: [string, number, string, string, string][];
}

interface NewKeypairVector {
  name: string;
  seed_hex: string;
  writecap_hex: string;
  readcap_hex: string;
  first_index_hex: string;
  first_idx64: string;
  box_id_pigeonhole_ctx_hex: string;
  encrypt_plaintext_hex: string;
  encrypt_ciphertext_hex: string;
  encrypt_signature_hex: string;
  next_index_hex: string;
}

const v = load<BacapVectors>('bacap_vectors.json');
const nk = load<{ vectors: NewKeypairVector[] }>('newkeypair_selfderived.json').vectors;

const caps: Record<string, Uint8Array> = {
  cap_fixed: unhex(v.cap_fixed_wc),
  cap_random_start: unhex(v.cap_random_start_wc),
  cap_near_2_63: unhex(v.cap_near_2_63_wc),
};

function cap(name: string): Uint8Array {
  const wc = caps[name];
  if (wc === undefined) throw new Error(`unknown cap ${name}`);
  return wc;
}

/** The cap's own index advanced by `steps`, as hpqc's generator does. */
function indexAt(wc: Uint8Array, steps: number): Uint8Array {
  const first = firstIndexOf(wc);
  return advanceIndexTo(first, indexCounter(first) + BigInt(steps));
}

/** hpqc testvectors' deterministicBytes(label, name, n) (hpqc `testvectors/cmd/generate`). */
function deterministicBytes(label: string, name: string, n: number): Uint8Array {
  return hkdfBlake2b512(utf8(`hpqc-vector-seed-${label}`), undefined, utf8(name), n);
}

describe('bacap_vectors.json: layout and cap derivation', () => {
  it.each(Object.keys(caps))(
    'splits %s into key, public key and index, and its ReadCap is bytes 32..168',
    (name) => {
      const wc = cap(name);
      const parts = parseWriteCap(wc);
      expect(hex(parts.privateKey)).toBe(hex(wc.subarray(0, 64)));
      expect(hex(parts.rootPublicKey)).toBe(hex(ed25519.getPublicKey(wc.subarray(0, 32))));
      expect(hex(parts.index)).toBe(hex(wc.subarray(64)));
      expect(hex(writeCapToReadCap(wc))).toBe(hex(wc.subarray(32)));
      expect(hex(firstIndexOf(writeCapToReadCap(wc)))).toBe(hex(firstIndexOf(wc)));
    },
  );

  it('reads counter 1 from cap_fixed and the pinned counter from cap_random_start', () => {
    expect(indexCounter(firstIndexOf(cap('cap_fixed')))).toBe(1n);
    expect(indexCounter(firstIndexOf(cap('cap_random_start')))).toBe(BigInt(v.cap_random_start_idx64));
  });

  it('derives cap_random_start from its 80 entropy bytes with the bytes-7-and-15 Irwin-Hall mask', () => {
    // Input labels from hpqc testvectors/bacap/inputs.json: seed, HKDF state, then 16 start bytes.
    const entropy = new Uint8Array(80);
    entropy.set(deterministicBytes('bacap-cap-seed', 'cap_random_start', 32), 0);
    entropy.set(deterministicBytes('bacap-cap-hkdf', 'cap_random_start', 32), 32);
    entropy.set(deterministicBytes('bacap-start', 'cap_random_start', 16), 64);
    const wc = writeCapFromEntropy(entropy);
    expect(hex(wc)).toBe(v.cap_random_start_wc);
    expect(indexCounter(firstIndexOf(wc))).toBe(BigInt(v.cap_random_start_idx64));
  });

  it('derives cap_near_2_63 as one ratchet step past start counter 2^63-4', () => {
    const edSeed = deterministicBytes('bacap-cap-seed', 'cap_near_2_63', 32);
    const start = (1n << 63n) - 4n;
    const startIndex = serializeMessageBoxIndex({
      counter: start,
      blindingFactor: new Uint8Array(32),
      encryptionKey: new Uint8Array(32),
      hkdfState: deterministicBytes('bacap-cap-hkdf', 'cap_near_2_63', 32),
    });
    const wc = cap('cap_near_2_63');
    expect(hex(wc.subarray(0, 32))).toBe(hex(edSeed));
    expect(hex(wc.subarray(32, 64))).toBe(hex(ed25519.getPublicKey(edSeed)));
    expect(hex(firstIndexOf(wc))).toBe(hex(advanceIndexTo(startIndex, start + 1n)));
  });
});

describe('bacap_vectors.json: index ratchet', () => {
  it.each(v.advance)('advances cap_fixed by %i steps to the recorded index', (steps, expected) => {
    expect(hex(indexAt(cap('cap_fixed'), steps))).toBe(expected);
  });

  it('reaches the same indexes with repeated nextIndex as with advanceIndexTo', () => {
    let index = firstIndexOf(cap('cap_fixed'));
    const byStep = new Map(v.advance.map(([steps, expected]) => [steps, expected]));
    for (let steps = 1; steps <= 5; steps++) {
      index = nextIndex(index);
      const expected = byStep.get(steps);
      if (expected !== undefined) expect(hex(index)).toBe(expected);
    }
  });
});

describe('bacap_vectors.json: box IDs', () => {
  it.each(v.boxid.map((r) => [r[0], r[1] === null ? 'none' : show(r[1]), r] as const))(
    'derives the box ID of cap_fixed after %i steps with context %s',
    (_s, _x, [steps, ctx, expected]) => {
      const wc = cap('cap_fixed');
      const rc = writeCapToReadCap(wc);
      const index = indexAt(wc, steps);
      if (ctx === null) {
        expect(hex(deriveMessageBoxId(rc, index))).toBe(expected);
        expect(hex(deriveMessageBoxId(wc, index))).toBe(expected);
      } else {
        expect(hex(boxIdFor(rc, index, unhex(ctx)))).toBe(expected);
        expect(hex(boxIdFor(wc, index, unhex(ctx)))).toBe(expected);
      }
    },
  );
});

describe('bacap_vectors.json: encryption', () => {
  it.each(v.encrypt.map((r) => [r[0], r[1], show(r[2]), show(r[3]), r] as const))(
    'encrypts for %s after %i steps (context %s, plaintext %s) to the recorded box, ciphertext and signature',
    (_c, _s, _x, _p, [capName, steps, ctx, pt, box, ct, sig]) => {
      const wc = cap(capName);
      const index = indexAt(wc, steps);
      const sealed = encryptForBox(wc, index, unhex(pt), unhex(ctx));
      expect(hex(sealed.boxId)).toBe(box);
      expect(hex(sealed.ciphertext)).toBe(ct);
      expect(hex(sealed.signature)).toBe(sig);
      const opened = decryptFromBox(writeCapToReadCap(wc), index, sealed, unhex(ctx));
      expect(hex(opened)).toBe(pt);
    },
  );

  it('encrypts the 1024-byte payload of encrypt_long to the recorded box, signature and ciphertext ends', () => {
    const e = v.encrypt_long;
    const wc = cap(e.cap);
    const index = indexAt(wc, e.advance);
    const pt = new Uint8Array(e.pt_len).fill(e.pt_byte);
    const sealed = encryptForBox(wc, index, pt, unhex(e.ctx));
    expect(hex(sealed.boxId)).toBe(e.box);
    expect(hex(sealed.signature)).toBe(e.sig);
    expect(sealed.ciphertext.length).toBe(e.pt_len + 16);
    expect(hex(sealed.ciphertext).startsWith(e.ct_prefix)).toBe(true);
    expect(hex(sealed.ciphertext).endsWith(e.ct_suffix)).toBe(true);
    expect(decryptFromBox(writeCapToReadCap(wc), index, sealed, unhex(e.ctx))).toEqual(pt);
  });
});

describe('bacap_vectors.json: MutateKDFState', () => {
  it.each(v.mutate.map((r) => [r[0], r[1], r[2].slice(0, 8), r] as const))(
    'mutates the index of %s after %i steps with salt %s… to the recorded index and box ID',
    (_c, _s, _x, [capName, steps, salt, ctx, expectedIndex, expectedBox]) => {
      const wc = cap(capName);
      const index = indexAt(wc, steps);
      const mutated = mutateKdfState(index, unhex(salt));
      expect(hex(mutated)).toBe(expectedIndex);
      expect(indexCounter(mutated)).toBe(indexCounter(index));
      expect(hex(boxIdFor(writeCapToReadCap(wc), mutated, unhex(ctx)))).toBe(expectedBox);
    },
  );
});

describe('bacap_vectors.json: tombstones', () => {
  it.each(v.tombstone.map((r) => [r[0], r[1], show(r[2]), r] as const))(
    'signs the tombstone of %s after %i steps (context %s) to the recorded box and signature',
    (_c, _s, _x, [capName, steps, ctx, box, sig]) => {
      const wc = cap(capName);
      const rc = writeCapToReadCap(wc);
      const index = indexAt(wc, steps);
      const t = signTombstone(wc, index, unhex(ctx));
      expect(hex(t.boxId)).toBe(box);
      expect(hex(t.signature)).toBe(sig);
      expect(verifyTombstone(rc, index, unhex(sig), unhex(ctx))).toBe(true);
      const opened = decryptFromBox(
        rc,
        index,
        { boxId: unhex(box), ciphertext: new Uint8Array(0), signature: unhex(sig) },
        unhex(ctx),
      );
      expect(opened.length).toBe(0);
    },
  );
});

describe('newkeypair_selfderived.json', () => {
  it.each(nk.map((x) => [x.name, x] as const))('derives the caps of %s from the seed', (_name, x) => {
    const wc = newWriteCapFromSeed(unhex(x.seed_hex));
    expect(hex(wc)).toBe(x.writecap_hex);
    expect(hex(writeCapToReadCap(wc))).toBe(x.readcap_hex);
    expect(hex(firstIndexOf(wc))).toBe(x.first_index_hex);
    expect(indexCounter(firstIndexOf(wc))).toBe(BigInt(x.first_idx64));
  });

  it.each(nk.map((x) => [x.name, x] as const))(
    'derives box ID, encryption and next index of %s in the pigeonhole context',
    (_name, x) => {
      const wc = unhex(x.writecap_hex);
      const rc = unhex(x.readcap_hex);
      const index = unhex(x.first_index_hex);
      expect(hex(boxIdFor(rc, index))).toBe(x.box_id_pigeonhole_ctx_hex);
      const sealed = encryptForBox(wc, index, unhex(x.encrypt_plaintext_hex));
      expect(hex(sealed.boxId)).toBe(x.box_id_pigeonhole_ctx_hex);
      expect(hex(sealed.ciphertext)).toBe(x.encrypt_ciphertext_hex);
      expect(hex(sealed.signature)).toBe(x.encrypt_signature_hex);
      expect(hex(decryptFromBox(rc, index, sealed))).toBe(x.encrypt_plaintext_hex);
      expect(hex(nextIndex(index))).toBe(x.next_index_hex);
    },
  );
});

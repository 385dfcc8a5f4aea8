import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ecb } from '@noble/ciphers/aes.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  ed25519Scheme,
  falconPadded512Ed25519Scheme,
  getSignatureScheme,
  SIGNATURE_SCHEME_NAMES,
  type SignatureKeypair,
} from '../../../src/crypto/sign.js';
import { InvalidArgumentError } from '../../../src/errors.js';

// Copies of /work/shared/vectors (hpqc testvectors and the PQClean KAT).
const VECTORS = fileURLToPath(new URL('./fixtures', import.meta.url));

interface HybridVector {
  name: string;
  pk: string;
  msg: string;
  sig: string;
}

const hybridVectors: HybridVector[] = JSON.parse(
  readFileSync(`${VECTORS}/falcon_padded_512_ed25519_first3.json`, 'utf8'),
);

const kat: Record<string, string> = Object.fromEntries(
  readFileSync(`${VECTORS}/falcon_padded_512_kat_count0.txt`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' = ').map((s) => s.trim()) as [string, string]),
);

/** hpqc's testvectors `deterministicBytes(label, name, n)`. */
function deterministicBytes(label: string, name: string, n: number): Uint8Array {
  const enc = new TextEncoder();
  return hkdf(blake2b, enc.encode(`hpqc-vector-seed-${label}`), undefined, enc.encode(name), n);
}

/** The NIST AES-256-CTR DRBG that PQClean's KAT generator uses as `randombytes`. */
class NistDrbg {
  private key = new Uint8Array(32);
  private v = new Uint8Array(16);
  constructor(entropy: Uint8Array) {
    this.update(entropy);
  }
  private increment(): void {
    for (let j = 15; j >= 0; j--) {
      if (this.v[j] === 0xff) this.v[j] = 0;
      else {
        this.v[j]! += 1;
        break;
      }
    }
  }
  private block(): Uint8Array {
    this.increment();
    return ecb(this.key, { disablePadding: true }).encrypt(this.v);
  }
  private update(data: Uint8Array | null): void {
    const t = new Uint8Array(48);
    for (let i = 0; i < 3; i++) t.set(this.block(), 16 * i);
    if (data) for (let i = 0; i < 48; i++) t[i]! ^= data[i]!;
    this.key = t.slice(0, 32);
    this.v = t.slice(32, 48);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 16) out.set(this.block().subarray(0, Math.min(16, n - o)), o);
    this.update(null);
    return out;
  }
}

describe('signature scheme registry', () => {
  it('offers Ed25519 and Falcon-padded-512-Ed25519 under their hpqc names, case-insensitively', () => {
    expect(SIGNATURE_SCHEME_NAMES).toEqual(['Ed25519', 'Falcon-padded-512-Ed25519']);
    expect(getSignatureScheme('Ed25519')).toBe(ed25519Scheme);
    expect(getSignatureScheme('ed25519')).toBe(ed25519Scheme);
    expect(getSignatureScheme('FALCON-PADDED-512-ED25519')).toBe(falconPadded512Ed25519Scheme);
  });

  it('rejects an unknown scheme name with InvalidArgumentError', () => {
    expect(() => getSignatureScheme('Ed448')).toThrow(InvalidArgumentError);
  });

  it('declares the hpqc sizes of both schemes', () => {
    expect(ed25519Scheme).toMatchObject({
      publicKeySize: 32,
      secretKeySize: 64,
      signatureSize: 64,
      seedSize: 32,
    });
    expect(falconPadded512Ed25519Scheme).toMatchObject({
      publicKeySize: 929,
      secretKeySize: 1345,
      signatureSize: 730,
      seedSize: 80,
    });
  });
});

describe('Ed25519', () => {
  // RFC 8032 §7.1, test 1.
  const seed = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pub = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
  const sig =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

  it('derives the Go layout secret key (seed ‖ public key) and reproduces RFC 8032 test 1', () => {
    const kp = ed25519Scheme.keypairFromSeed(seed);
    expect(bytesToHex(kp.publicKey)).toBe(pub);
    expect(bytesToHex(kp.secretKey)).toBe(bytesToHex(seed) + pub);
    expect(bytesToHex(ed25519Scheme.sign(kp.secretKey, new Uint8Array(0)))).toBe(sig);
    expect(ed25519Scheme.verify(kp.publicKey, new Uint8Array(0), hexToBytes(sig))).toBe(true);
  });

  it('refuses a secret key whose stored public half does not belong to its seed', () => {
    const kp = ed25519Scheme.keypairFromSeed(seed);
    const bad = kp.secretKey.slice();
    bad[40]! ^= 1;
    expect(() => ed25519Scheme.sign(bad, new Uint8Array(1))).toThrow(InvalidArgumentError);
  });

  it('returns false instead of throwing for wrong lengths and tampered input', () => {
    const kp = ed25519Scheme.keypairFromSeed(seed);
    const s = hexToBytes(sig);
    expect(ed25519Scheme.verify(kp.publicKey, new Uint8Array(0), s.subarray(0, 63))).toBe(false);
    expect(ed25519Scheme.verify(kp.publicKey.subarray(1), new Uint8Array(0), s)).toBe(false);
    expect(ed25519Scheme.verify(kp.publicKey, new Uint8Array([1]), s)).toBe(false);
    expect(ed25519Scheme.verify(new Uint8Array(32).fill(0xff), new Uint8Array(0), s)).toBe(false);
    expect(ed25519Scheme.verify(kp.publicKey, new Uint8Array(0), new Uint8Array(64).fill(0xff))).toBe(false);
  });
});

describe('Falcon-padded-512 (PQClean KAT count 0)', () => {
  it('reproduces the KAT public key, secret key and signature from the DRBG seed', () => {
    const drbg = new NistDrbg(hexToBytes(kat.seed!));
    const keygenSeed = drbg.bytes(48);
    // Through the hybrid: Falcon half from the KAT randomness, any Ed25519 half.
    const kp = falconPadded512Ed25519Scheme.keypairFromSeed(
      Uint8Array.from([...keygenSeed, ...new Uint8Array(32).fill(7)]),
    );
    expect(bytesToHex(kp.publicKey.subarray(0, 897))).toBe(kat.pk!.toLowerCase());
    expect(bytesToHex(kp.secretKey.subarray(0, 1281))).toBe(kat.sk!.toLowerCase());
    const msg = hexToBytes(kat.msg!);
    const sig = falconPadded512Ed25519Scheme.sign(kp.secretKey, msg, { falconRandom: (n) => drbg.bytes(n) });
    // PQClean's signed message is signature (666) ‖ message.
    const sm = hexToBytes(kat.sm!);
    expect(bytesToHex(sig.subarray(0, 666))).toBe(bytesToHex(sm.subarray(0, 666)));
    expect(bytesToHex(sm.subarray(666))).toBe(bytesToHex(msg));
    expect(falconPadded512Ed25519Scheme.verify(kp.publicKey, msg, sig)).toBe(true);
  });
});

describe('Falcon-padded-512-Ed25519 (hpqc vectors)', () => {
  for (const v of hybridVectors) {
    it(`verifies hpqc vector ${v.name} and rejects it once a byte of either half is flipped`, () => {
      const pk = hexToBytes(v.pk);
      const msg = hexToBytes(v.msg);
      const sig = hexToBytes(v.sig);
      expect(pk.length).toBe(929);
      expect(sig.length).toBe(730);
      expect(falconPadded512Ed25519Scheme.verify(pk, msg, sig)).toBe(true);
      for (const at of [1, 100, 700]) {
        const bad = sig.slice();
        bad[at]! ^= 0x01;
        expect(falconPadded512Ed25519Scheme.verify(pk, msg, bad)).toBe(false);
      }
      const badPk = pk.slice();
      badPk[920]! ^= 0x01;
      expect(falconPadded512Ed25519Scheme.verify(badPk, msg, sig)).toBe(false);
    });
  }

  // Keygen is the slow part (~0.2-0.5 s): regenerate one vector, and reuse its keypair below.
  let regenerated: SignatureKeypair | undefined;

  it('regenerates hpqc vector vec_2_short_ascii byte for byte from the vector recipe', () => {
    const v = hybridVectors.find((x) => x.name === 'vec_2_short_ascii')!;
    const stream = deterministicBytes('falcon_padded_512_ed25519_falcon', v.name, 48 + 40 + 48);
    const edSeed = deterministicBytes('falcon_padded_512_ed25519_ed25519', v.name, 32);
    const seed = new Uint8Array(80);
    seed.set(stream.subarray(0, 48));
    seed.set(edSeed, 48);
    const kp = falconPadded512Ed25519Scheme.keypairFromSeed(seed);
    regenerated = kp;
    expect(bytesToHex(kp.publicKey)).toBe(v.pk);
    let offset = 48;
    const falconRandom = (n: number) => {
      const out = stream.slice(offset, offset + n);
      offset += n;
      return out;
    };
    expect(
      bytesToHex(falconPadded512Ed25519Scheme.sign(kp.secretKey, hexToBytes(v.msg), { falconRandom })),
    ).toBe(v.sig);
  });

  it('returns false for a signature or key of the wrong length, and for halves from different keys', () => {
    const v = hybridVectors[1]!;
    const pk = hexToBytes(v.pk);
    const msg = hexToBytes(v.msg);
    const sig = hexToBytes(v.sig);
    expect(falconPadded512Ed25519Scheme.verify(pk, msg, sig.subarray(0, 729))).toBe(false);
    expect(falconPadded512Ed25519Scheme.verify(pk, msg, new Uint8Array([...sig, 0]))).toBe(false);
    expect(falconPadded512Ed25519Scheme.verify(pk.subarray(0, 897), msg, sig)).toBe(false);
    expect(falconPadded512Ed25519Scheme.verify(new Uint8Array(0), msg, new Uint8Array(0))).toBe(false);
    // Falcon half of vector 2 with the Ed25519 half of vector 3: both halves must verify.
    const other = hybridVectors[2]!;
    const mixedPk = Uint8Array.from([...pk.subarray(0, 897), ...hexToBytes(other.pk).subarray(897)]);
    expect(falconPadded512Ed25519Scheme.verify(mixedPk, msg, sig)).toBe(false);
  });

  it('makes randomized signatures that verify, two of the same message differing', () => {
    const kp = regenerated ?? falconPadded512Ed25519Scheme.generateKeypair();
    const msg = new TextEncoder().encode('hello');
    const a = falconPadded512Ed25519Scheme.sign(kp.secretKey, msg);
    const b = falconPadded512Ed25519Scheme.sign(kp.secretKey, msg);
    expect(a.length).toBe(730);
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
    expect(falconPadded512Ed25519Scheme.verify(kp.publicKey, msg, a)).toBe(true);
    expect(falconPadded512Ed25519Scheme.verify(kp.publicKey, msg, b)).toBe(true);
    expect(falconPadded512Ed25519Scheme.verify(kp.publicKey, new TextEncoder().encode('hellO'), a)).toBe(
      false,
    );
  });
});

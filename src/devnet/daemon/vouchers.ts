/**
 * Contact Vouchers (`voucher_mint`, `voucher_induct`, `voucher_open`, `voucher_derive_stream`): the four
 * local, synchronous operations kpclientd serves from hpqc's `voucher` package (hpqc v0.0.85, which the
 * captured v0.0.99 daemon was built against; katzenpost client/voucher.go).
 *
 * Faithful: every CBOR message (canonical encoding, length-first key order, nil byte slices as null), the
 * voucher `BLAKE2b-256(VoucherPayload)`, the Ed25519 please-add signature (Go's `ed25519.Sign`, which
 * hashes the stored public half), the VoucherStream caps (`NewWriteCap(SHAKE256(voucher))`), the salt's
 * `MutateKDFState` on both caps, the order of every check and the error each one gives (28 hash mismatch,
 * 29 bad signature, 30 seal not opened, 3 anything else), and how Go's decoder reads the CBOR it is given
 * (unknown keys ignored, case-insensitive field names, null as the zero value, trailing bytes refused).
 *
 * Stand-in: the VoucherKeypair and the seal are CTIDH1024-X25519 and MKEM over it, which cannot be done in
 * JavaScript; they use the devnet's MKEM stand-in (../pigeonhole/mkem.ts: the real MKEM construction over
 * X25519, keys padded to the real 160/162 bytes), so every size is the real one but a real daemon's keys
 * and sealed replies are not interchangeable with the devnet's. Randomness (VoucherKeypair, salt, seal)
 * comes from the devnet's seeded generator instead of crypto/rand.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { shake256 } from '@noble/hashes/sha3.js';
import {
  mutateKdfState,
  READ_CAP_SIZE,
  WRITE_CAP_ENTROPY_SIZE,
  WRITE_CAP_SIZE,
  writeCapFromEntropy,
} from '../../crypto/bacap.js';
import { blake2b256 } from '../../crypto/hash.js';
import { decodeCbor } from '../../wire/codec.js';
import { ThinCode } from '../../wire/errorCodes.js';
import { joinBytes } from '../bytes.js';
import { MKEM_PRIVKEY_SIZE } from '../geometry.js';
import { decapsulate, encapsulate, isValidPublicKey, nikeKeypair } from '../pigeonhole/mkem.js';
import { type CborItem, cbor, encodeCbor } from '../pki/cbor.js';
import type { Drbg } from '../rng.js';

/** `VoucherSaltSize`. */
export const VOUCHER_SALT_SIZE = 32;
/** `hash.HashSize`: a Voucher is BLAKE2b-256 of its payload. */
export const VOUCHER_SIZE = 32;

/** Thin-client error codes of the voucher handlers (`voucherErrorCode`). */
export const VoucherCode = {
  /** ErrVoucherHashMismatch. */
  HashMismatch: 28,
  /** ErrSignatureVerificationFailed. */
  SignatureInvalid: 29,
  /** ErrSealOpenFailed. */
  SealOpenFailed: 30,
  /** ErrInvalidArgument and every other error. */
  InvalidRequest: ThinCode.InvalidRequest,
} as const;

/** A voucher operation refused its input; `code` is what the daemon answers. */
export class VoucherError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'VoucherError';
  }
}

const invalid = (what: string) =>
  new VoucherError(VoucherCode.InvalidRequest, `voucher: invalid argument (${what})`);
const sealFailed = (what: string) =>
  new VoucherError(VoucherCode.SealOpenFailed, `voucher: could not open sealed reply (${what})`);

export interface MintResult {
  voucher: Uint8Array;
  voucherPayload: Uint8Array;
  voucherWriteCap: Uint8Array;
  voucherReadCap: Uint8Array;
  voucherSecretKey: Uint8Array;
  voucherPublicKey: Uint8Array;
}

export interface InductResult {
  displayName: string;
  mutatedMessageReadCap: Uint8Array;
  sealedReply: Uint8Array;
  voucherWriteCap: Uint8Array;
  voucherReadCap: Uint8Array;
  salt: Uint8Array;
}

export interface OpenReplyResult {
  /** `undefined` where Go has a nil slice (the inductor sent no who_reply): null on the wire. */
  whoReply: Uint8Array | undefined;
  salt: Uint8Array | undefined;
  mutatedMessageWriteCap: Uint8Array;
}

export interface VoucherStream {
  voucherWriteCap: Uint8Array;
  voucherReadCap: Uint8Array;
}

// ---- Go's view of CBOR ------------------------------------------------------------------------------------

/** A Go `[]byte` (nil = undefined), a Go `[][]byte`, or a Go `string`. */
type GoKind = 'bytes' | 'bytesList' | 'text';
type GoValue<K extends GoKind> = K extends 'bytes'
  ? Uint8Array | undefined
  : K extends 'bytesList'
    ? (Uint8Array | undefined)[] | undefined
    : string;

class GoTypeError extends Error {}

/** A CBOR byte string, null, or an array of small uints, as fxamacker fills a `[]byte`. */
function goBytes(v: unknown): Uint8Array | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    const out = new Uint8Array(v.length);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) throw new GoTypeError();
      out[i] = x;
    });
    return out;
  }
  throw new GoTypeError();
}

/**
 * `cbor.Unmarshal(data, &struct)` with fxamacker's default options, for structs of byte-slice and string
 * fields: a map fills fields by name (exact, else case-insensitive; unknown keys ignored; a later key
 * overwrites an earlier one), null/undefined leaves the zero value, anything else (or empty input, a type
 * mismatch, trailing bytes, malformed CBOR) is an error: null is returned.
 */
function goUnmarshal<F extends Record<string, GoKind>>(
  data: Uint8Array | undefined,
  fields: F,
): { [K in keyof F]: GoValue<F[K]> } | null {
  const names = Object.keys(fields);
  const out: Record<string, unknown> = {};
  for (const n of names) out[n] = fields[n] === 'text' ? '' : undefined;
  if (!data || data.length === 0) return null;
  let value: unknown;
  try {
    value = decodeCbor(data);
  } catch {
    return null;
  }
  if (value === null || value === undefined) return out as { [K in keyof F]: GoValue<F[K]> };
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array))
    entries = Object.entries(value);
  else return null;
  try {
    for (const [k, v] of entries) {
      if (typeof k !== 'string') continue;
      const name = names.find((n) => n === k) ?? names.find((n) => n.toLowerCase() === k.toLowerCase());
      if (name === undefined) continue;
      switch (fields[name]) {
        case 'bytes':
          out[name] = goBytes(v);
          break;
        case 'bytesList':
          if (v === null || v === undefined) out[name] = undefined;
          else if (Array.isArray(v)) out[name] = v.map(goBytes);
          else throw new GoTypeError();
          break;
        case 'text':
          // Null leaves a string as it was; a byte string is not converted (ByteStringToStringForbidden).
          if (v === null || v === undefined) break;
          if (typeof v !== 'string') throw new GoTypeError();
          out[name] = v;
          break;
      }
    }
  } catch {
    return null;
  }
  return out as { [K in keyof F]: GoValue<F[K]> };
}

/** A Go struct in canonical CBOR (`cbor.CanonicalEncOptions`): nil byte slices are null. */
function canonical(fields: [string, CborItem][]): Uint8Array {
  return encodeCbor(cbor.map(fields.map(([k, v]) => [cbor.text(k), v] as const)), 'canonical');
}
const bytesOrNull = (b: Uint8Array | undefined): CborItem => (b === undefined ? cbor.null() : cbor.bytes(b));

// ---- Ed25519 as Go's crypto/ed25519 does it -------------------------------------------------------------

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

const concat = (...parts: Uint8Array[]): Uint8Array => joinBytes(parts);

/**
 * Go's `ed25519.Sign(priv, msg)` for a 64-byte `seed ‖ public` key: the scalar and nonce come from the
 * seed, and the challenge hashes the STORED public half (which a mismatched cap makes unverifiable).
 */
export function goEd25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  const h = sha512(privateKey.subarray(0, 32));
  const a = h.slice(0, 32);
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64;
  const s = bytesToNumberLE(a) % L;
  const r = bytesToNumberLE(sha512(concat(h.subarray(32, 64), message))) % L;
  const R = Point.BASE.multiply(r).toBytes();
  const k = bytesToNumberLE(sha512(concat(R, privateKey.subarray(32, 64), message))) % L;
  return concat(R, numberToBytesLE((r + k * s) % L, 32));
}

/** Go's `ed25519.Verify`: false for a bad point, a signature that is not 64 bytes, or a wrong signature. */
function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array | undefined,
): boolean {
  if (signature?.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// ---- the four operations ----------------------------------------------------------------------------------

/** `deriveStream`: `bacap.NewWriteCap(SHAKE256(voucher))` and its read cap. */
export function deriveVoucherStream(voucher: Uint8Array | undefined): VoucherStream {
  if (!voucher || voucher.length !== VOUCHER_SIZE) throw invalid('voucher is not 32 bytes');
  const writeCap = writeCapFromEntropy(shake256(voucher, { dkLen: WRITE_CAP_ENTROPY_SIZE }));
  return { voucherWriteCap: writeCap, voucherReadCap: writeCap.slice(32) };
}

/**
 * The VoucherPayload for a message write cap, a display name and a VoucherKeypair public key:
 * `{VoucherPubKey, SignedPleaseAdd: {PleaseAdd: {DisplayName, MessageReadCap}, Signature}}`, and its hash.
 */
export function voucherPayloadFor(
  messageWriteCap: Uint8Array | undefined,
  displayName: string,
  voucherPublicKey: Uint8Array,
): { voucher: Uint8Array; voucherPayload: Uint8Array } {
  if (!messageWriteCap || messageWriteCap.length !== WRITE_CAP_SIZE) throw invalid('message write cap');
  // WriteCap.ReadCap(): the stored public half and the same index, unchecked.
  const readCap = messageWriteCap.slice(32);
  const pleaseAdd = canonical([
    ['DisplayName', cbor.text(displayName)],
    ['MessageReadCap', cbor.bytes(readCap)],
  ]);
  const signature = goEd25519Sign(messageWriteCap.subarray(0, 64), pleaseAdd);
  const signedPleaseAdd = canonical([
    ['PleaseAdd', cbor.bytes(pleaseAdd)],
    ['Signature', cbor.bytes(signature)],
  ]);
  const voucherPayload = canonical([
    ['SignedPleaseAdd', cbor.bytes(signedPleaseAdd)],
    ['VoucherPubKey', cbor.bytes(voucherPublicKey)],
  ]);
  return { voucher: blake2b256(voucherPayload), voucherPayload };
}

/** `VoucherMint(messageWriteCap, displayName, nil)`: a fresh VoucherKeypair from `rng`. */
export function voucherMint(
  rng: Drbg,
  messageWriteCap: Uint8Array | undefined,
  displayName: string,
): MintResult {
  if (!messageWriteCap || messageWriteCap.length !== WRITE_CAP_SIZE) throw invalid('message write cap');
  const keypair = nikeKeypair(rng.bytes(32));
  const { voucher, voucherPayload } = voucherPayloadFor(messageWriteCap, displayName, keypair.publicKey);
  const stream = deriveVoucherStream(voucher);
  return {
    voucher,
    voucherPayload,
    ...stream,
    voucherSecretKey: keypair.privateKey,
    voucherPublicKey: keypair.publicKey,
  };
}

/** What a VoucherPayload says once its hash and signature check out. */
export interface VerifiedPayload {
  displayName: string;
  messageReadCap: Uint8Array;
  voucherPublicKey: Uint8Array | undefined;
}

/** The checks of `VoucherInduct` before the seal, in Go's order: 3, 28, 3 (three parses, the cap), 29. */
export function verifyVoucherPayload(
  voucher: Uint8Array | undefined,
  voucherPayload: Uint8Array | undefined,
): VerifiedPayload {
  if (!voucher || voucher.length !== VOUCHER_SIZE) throw invalid('voucher is not 32 bytes');
  if (!equalBytes(blake2b256(voucherPayload ?? new Uint8Array(0)), voucher)) {
    throw new VoucherError(VoucherCode.HashMismatch, 'voucher: payload does not hash to the voucher');
  }
  const vp = goUnmarshal(voucherPayload, { SignedPleaseAdd: 'bytes', VoucherPubKey: 'bytes' });
  if (!vp) throw invalid('voucher payload');
  const spa = goUnmarshal(vp.SignedPleaseAdd, { PleaseAdd: 'bytes', Signature: 'bytes' });
  if (!spa) throw invalid('signed please-add');
  const pa = goUnmarshal(spa.PleaseAdd, { DisplayName: 'text', MessageReadCap: 'bytes' });
  if (!pa) throw invalid('please-add');
  const readCap = pa.MessageReadCap;
  if (!readCap || readCap.length !== READ_CAP_SIZE) throw invalid('message read cap');
  // spa.PleaseAdd is non-empty here: it decoded.
  if (!ed25519Verify(readCap.subarray(0, 32), spa.PleaseAdd!, spa.Signature)) {
    throw new VoucherError(VoucherCode.SignatureInvalid, 'voucher: signed please-add did not verify');
  }
  return { displayName: pa.DisplayName, messageReadCap: readCap, voucherPublicKey: vp.VoucherPubKey };
}

/** A cap with its MessageBoxIndex (the last 104 bytes) re-seeded by `salt` (`MutateKDFState`). */
export function mutateCap(cap: Uint8Array, salt: Uint8Array | undefined): Uint8Array {
  const head = cap.length - 104;
  return concat(cap.subarray(0, head), mutateKdfState(cap.subarray(head), salt ?? new Uint8Array(0)));
}

/**
 * `VoucherInduct(voucher, payload, whoReply, nil, nil)`: verify, draw a salt, seal `{WhoReply, VoucherSalt}`
 * to the VoucherKeypair, mutate the joiner's read cap by the salt. `fixedSalt` is for tests (hpqc's vectors).
 */
export function voucherInduct(
  rng: Drbg,
  voucher: Uint8Array | undefined,
  voucherPayload: Uint8Array | undefined,
  whoReply: Uint8Array | undefined,
  fixedSalt?: Uint8Array,
): InductResult {
  const verified = verifyVoucherPayload(voucher, voucherPayload);
  // Drawn after the checks, as Go reads crypto/rand only then.
  const salt = fixedSalt ?? rng.bytes(VOUCHER_SALT_SIZE);
  if (salt.length !== VOUCHER_SALT_SIZE) throw invalid('salt');
  const recipient = verified.voucherPublicKey;
  if (!recipient || !isValidPublicKey(recipient)) throw invalid('voucher public key');
  const plaintext = canonical([
    ['WhoReply', bytesOrNull(whoReply)],
    ['VoucherSalt', cbor.bytes(salt)],
  ]);
  const sealed = encapsulate(rng, [recipient], plaintext);
  const sealedReply = canonical([
    ['EphemeralPublicKey', cbor.bytes(sealed.publicKey)],
    ['DEKCiphertexts', cbor.array(sealed.deks.map((d) => cbor.bytes(d)))],
    ['Envelope', cbor.bytes(sealed.envelope)],
  ]);
  const stream = deriveVoucherStream(voucher);
  return {
    displayName: verified.displayName,
    mutatedMessageReadCap: mutateCap(verified.messageReadCap, salt),
    sealedReply,
    ...stream,
    salt,
  };
}

/**
 * `VoucherOpenReply(secretKey, sealedReply, messageWriteCap)`: 3 for a malformed secret key, 30 when the
 * seal does not parse, open or decode, then 3 for a malformed write cap (checked last, as in Go).
 */
export function voucherOpenReply(
  voucherSecretKey: Uint8Array | undefined,
  sealedReply: Uint8Array | undefined,
  messageWriteCap: Uint8Array | undefined,
): OpenReplyResult {
  if (!voucherSecretKey || voucherSecretKey.length !== MKEM_PRIVKEY_SIZE) throw invalid('voucher secret key');
  const ct = goUnmarshal(sealedReply, {
    EphemeralPublicKey: 'bytes',
    DEKCiphertexts: 'bytesList',
    Envelope: 'bytes',
  });
  if (!ct) throw sealFailed('not a ciphertext');
  const ephemeral = ct.EphemeralPublicKey;
  if (!ephemeral || !isValidPublicKey(ephemeral)) throw sealFailed('bad ephemeral public key');
  let plaintext: Uint8Array | null = null;
  for (const dek of ct.DEKCiphertexts ?? []) {
    if (!dek || !ct.Envelope) continue;
    plaintext = decapsulate(voucherSecretKey, ephemeral, dek, ct.Envelope);
    if (plaintext) break;
  }
  if (!plaintext) throw sealFailed('failed to trial decrypt');
  const reply = goUnmarshal(plaintext, { WhoReply: 'bytes', VoucherSalt: 'bytes' });
  if (!reply) throw sealFailed('not a voucher reply');
  if (!messageWriteCap || messageWriteCap.length !== WRITE_CAP_SIZE) throw invalid('message write cap');
  return {
    whoReply: reply.WhoReply,
    salt: reply.VoucherSalt,
    mutatedMessageWriteCap: mutateCap(messageWriteCap, reply.VoucherSalt),
  };
}

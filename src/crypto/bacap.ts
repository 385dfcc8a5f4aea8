/**
 * BACAP (Blinding-And-Capability scheme), the box crypto under Pigeonhole, byte-exact with the hpqc version
 * Katzenpost pins (hpqc v0.0.85-0.20260715190213-e598e7ee2843 in katzenpost go.mod: `bacap/bacap.go`,
 * `bacap/bacap_impl.go`; 12-byte GCM-SIV nonce, start mask 0x3f on bytes 7 and 15, MutateKDFState).
 * Every function takes and returns the wire blobs themselves
 * (WriteCap 168 bytes, ReadCap 136, MessageBoxIndex 104), checks their exact lengths, and returns fresh,
 * plain `Uint8Array`s (never views of the caller's buffers, never Node `Buffer`s).
 *
 * Layouts (hpqc bacap/bacap.go, MessageBoxIndex, WriteCap and ReadCap MarshalBinary):
 *   MessageBoxIndex = u64le counter ‖ K (blinding factor, 32) ‖ E (encryption key, 32) ‖ H (HKDF state, 32)
 *   WriteCap        = Ed25519 seed (32) ‖ root public key (32) ‖ MessageBoxIndex
 *   ReadCap         = root public key (32) ‖ MessageBoxIndex
 */
import { gcmsiv } from '@noble/ciphers/aes.js';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, concatBytes, equalBytes, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512, sha512_256 } from '@noble/hashes/sha2.js';
import { InvalidArgumentError, ThinClientError } from '../errors.js';
import { hkdfBlake2b512 } from './hash.js';

export const MESSAGE_BOX_INDEX_SIZE = 104;
export const WRITE_CAP_SIZE = 168;
export const READ_CAP_SIZE = 136;
export const BOX_ID_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const SEED_SIZE = 32;
/** Bytes of deterministic randomness `writeCapFromEntropy` consumes (hpqc bacap `NewWriteCap`). */
export const WRITE_CAP_ENTROPY_SIZE = 80;
/** Ciphertext overhead of one box: the AES-GCM-SIV tag. */
export const BOX_CIPHERTEXT_OVERHEAD = 16;

/** The BACAP context Pigeonhole uses for every box ID, encryption and tombstone (`kp:client/constants`). */
export const PIGEONHOLE_CONTEXT = 'pigeonhole context';

const encoder = new TextEncoder();
const PIGEONHOLE_CTX = encoder.encode(PIGEONHOLE_CONTEXT);
const MUTATE_LABEL = encoder.encode('bacap-mutate-kdf-state-v1');
const EMPTY = new Uint8Array(0);
const MAX_COUNTER = (1n << 64n) - 1n;
const Point = ed25519.Point;
const L = Point.Fn.ORDER;

/** Why a BACAP operation refused its input; names follow hpqc's negative vector categories. */
export type BacapFailure =
  | 'signature_invalid'
  | 'decrypt_failed'
  | 'box_mismatch'
  | 'cannot_rewind'
  | 'index_exhausted';

/** A box failed verification or decryption, or an index cannot move where asked. */
export class BacapError extends ThinClientError {
  readonly reason: BacapFailure;
  constructor(reason: BacapFailure, message: string, options: { cause?: unknown } = {}) {
    super('ERR_BACAP', message, options);
    this.reason = reason;
  }
}

/** The parts of a MessageBoxIndex. */
export interface MessageBoxIndexParts {
  /** `Idx64`, the message counter. */
  counter: bigint;
  /** K_i (`CurBlindingFactor`). */
  blindingFactor: Uint8Array;
  /** E_i (`CurEncryptionKey`). */
  encryptionKey: Uint8Array;
  /** H (`HKDFState`), which produces the next index. */
  hkdfState: Uint8Array;
}

export interface WriteCapParts {
  /** Go's 64-byte Ed25519 private key: seed ‖ public key. */
  privateKey: Uint8Array;
  rootPublicKey: Uint8Array;
  /** The cap's own (first) MessageBoxIndex. */
  index: Uint8Array;
}

export interface ReadCapParts {
  rootPublicKey: Uint8Array;
  index: Uint8Array;
}

/** A written box: what goes into a ReplicaWrite. */
export interface SealedBox {
  boxId: Uint8Array;
  signature: Uint8Array;
  ciphertext: Uint8Array;
}

/** A box ID and the blinded signature over a payload (for a tombstone, the empty payload). */
export interface SignedBox {
  boxId: Uint8Array;
  signature: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------
// Checks and byte helpers

function need(value: Uint8Array, size: number, field: string): void {
  needBytes(value, field);
  if (value.length !== size) {
    throw new InvalidArgumentError(field, `expected ${size} bytes, got ${value.length}`);
  }
}

function needBytes(value: Uint8Array, field: string): void {
  if (!(value instanceof Uint8Array)) {
    const got = value === null ? 'null' : typeof value;
    throw new InvalidArgumentError(field, `expected a Uint8Array, got ${got}`);
  }
}

/** A plain Uint8Array copy, even when the input is a Node Buffer (whose slice() would be a shared Buffer). */
function copy(src: Uint8Array, start = 0, end = src.length): Uint8Array {
  return new Uint8Array(src.subarray(start, end));
}

function u64le(n: bigint): Uint8Array {
  return numberToBytesLE(n, 8);
}

function readU64le(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset + off, 8).getBigUint64(0, true);
}

function checkCounter(counter: bigint, field: string): void {
  if (typeof counter !== 'bigint' || counter < 0n || counter > MAX_COUNTER) {
    throw new InvalidArgumentError(field, 'expected a bigint in [0, 2^64)');
  }
}

// ---------------------------------------------------------------------------------------------------------
// MessageBoxIndex

/** Splits a 104-byte MessageBoxIndex (layout above); the parts are copies. */
export function parseMessageBoxIndex(index: Uint8Array, field = 'messageBoxIndex'): MessageBoxIndexParts {
  need(index, MESSAGE_BOX_INDEX_SIZE, field);
  return {
    counter: readU64le(index, 0),
    blindingFactor: copy(index, 8, 40),
    encryptionKey: copy(index, 40, 72),
    hkdfState: copy(index, 72, 104),
  };
}

/** Builds the 104-byte MessageBoxIndex blob from its parts. */
export function serializeMessageBoxIndex(parts: MessageBoxIndexParts): Uint8Array {
  checkCounter(parts.counter, 'counter');
  need(parts.blindingFactor, 32, 'blindingFactor');
  need(parts.encryptionKey, 32, 'encryptionKey');
  need(parts.hkdfState, 32, 'hkdfState');
  return concatBytes(u64le(parts.counter), parts.blindingFactor, parts.encryptionKey, parts.hkdfState);
}

/** `GetMessageBoxIndexCounter`: the little-endian u64 in the first 8 bytes. */
export function indexCounter(index: Uint8Array): bigint {
  need(index, MESSAGE_BOX_INDEX_SIZE, 'messageBoxIndex');
  return readU64le(index, 0);
}

/**
 * hpqc bacap `AdvanceIndexTo`: ratchets forward to `counter`, one HKDF-BLAKE2b-512 call per step,
 * so the cost is linear in the distance. Advancing to the current counter returns an equal copy.
 * Throws BacapError `cannot_rewind` when `counter` is below the index's counter.
 */
export function advanceIndexTo(index: Uint8Array, counter: bigint): Uint8Array {
  need(index, MESSAGE_BOX_INDEX_SIZE, 'messageBoxIndex');
  checkCounter(counter, 'counter');
  let i = readU64le(index, 0);
  if (counter < i) {
    throw new BacapError('cannot_rewind', `cannot rewind a MessageBoxIndex from ${i} to ${counter}`);
  }
  if (counter === i) return copy(index);
  let h = index.subarray(72, 104);
  let okm: Uint8Array = EMPTY;
  while (i < counter) {
    // info is the pre-increment counter; the 96 bytes are read as H, then E, then K.
    okm = hkdfBlake2b512(h, undefined, u64le(i), 96);
    h = okm.subarray(0, 32);
    i += 1n;
  }
  return concatBytes(u64le(counter), okm.subarray(64, 96), okm.subarray(32, 64), okm.subarray(0, 32));
}

/** `NextIndex`: one ratchet step. Throws BacapError `index_exhausted` at counter 2^64-1 (Go's uint64 wrap). */
export function nextIndex(index: Uint8Array): Uint8Array {
  const i = indexCounter(index);
  if (i === MAX_COUNTER) {
    throw new BacapError('index_exhausted', 'MessageBoxIndex counter 2^64-1 has no successor');
  }
  return advanceIndexTo(index, i + 1n);
}

/**
 * hpqc bacap `MutateKDFState(salt)` (used by Contact Vouchers, hpqc `voucher/`): re-derives K, E and H
 * from H and `salt` (info `bacap-mutate-kdf-state-v1`), keeping the counter.
 */
export function mutateKdfState(index: Uint8Array, salt: Uint8Array): Uint8Array {
  need(index, MESSAGE_BOX_INDEX_SIZE, 'messageBoxIndex');
  needBytes(salt, 'salt');
  const okm = hkdfBlake2b512(index.subarray(72, 104), salt, MUTATE_LABEL, 96);
  return concatBytes(index.subarray(0, 8), okm.subarray(64, 96), okm.subarray(32, 64), okm.subarray(0, 32));
}

// ---------------------------------------------------------------------------------------------------------
// Caps

function rootScalar(edSeed: Uint8Array): bigint {
  // Go's PrivateKey.Blind starts from the RFC 8032 clamped scalar (hpqc sign/ed25519/blinded25519.go).
  return clampedScalar(sha512(edSeed).subarray(0, 32));
}

function clampedScalar(b32: Uint8Array): bigint {
  const b = copy(b32);
  b[0]! &= 248;
  b[31]! &= 127;
  b[31]! |= 64;
  return bytesToNumberLE(b) % L;
}

/** Throws unless the stored public half equals the key the seed gives (newer hpqc rejects such caps too). */
function checkWriteCapKeys(writeCap: Uint8Array): void {
  const expected = ed25519.getPublicKey(writeCap.subarray(0, 32));
  if (!equalBytes(expected, writeCap.subarray(32, 64))) {
    throw new InvalidArgumentError('writeCap', 'public key does not match the private key');
  }
}

function decodePoint(pub: Uint8Array, field: string) {
  try {
    // zip215 decoding accepts non-canonical y like Go's edwards25519 SetBytes.
    return Point.fromBytes(pub, true);
  } catch (cause) {
    const err = new InvalidArgumentError(field, 'root public key is not a valid Ed25519 point');
    err.cause = cause;
    throw err;
  }
}

/** Splits a 168-byte WriteCap and checks that its public key belongs to its private key. Parts are copies. */
export function parseWriteCap(writeCap: Uint8Array): WriteCapParts {
  need(writeCap, WRITE_CAP_SIZE, 'writeCap');
  checkWriteCapKeys(writeCap);
  return {
    privateKey: copy(writeCap, 0, 64),
    rootPublicKey: copy(writeCap, 32, 64),
    index: copy(writeCap, 64),
  };
}

/** Splits a 136-byte ReadCap and checks that its root public key is a curve point. Parts are copies. */
export function parseReadCap(readCap: Uint8Array): ReadCapParts {
  need(readCap, READ_CAP_SIZE, 'readCap');
  decodePoint(readCap.subarray(0, 32), 'readCap');
  return { rootPublicKey: copy(readCap, 0, 32), index: copy(readCap, 32) };
}

/**
 * hpqc `NewWriteCap(rng)` (bacap/bacap_impl.go) over an 80-byte stream: Ed25519 seed (32) ‖ HKDF state (32) ‖
 * 16 Irwin-Hall bytes. The start counter is the sum of two u64le halves whose top bits (bytes 7 and 15, mask
 * 0x3f) are cleared, and the cap's index is one ratchet step past it.
 */
export function writeCapFromEntropy(entropy: Uint8Array): Uint8Array {
  need(entropy, WRITE_CAP_ENTROPY_SIZE, 'entropy');
  const edSeed = entropy.subarray(0, 32);
  const b = copy(entropy, 64, 80);
  b[7]! &= 0x3f;
  b[15]! &= 0x3f;
  const start = readU64le(b, 0) + readU64le(b, 8);
  const zero = new Uint8Array(32);
  const startIndex = concatBytes(u64le(start), zero, zero, entropy.subarray(32, 64));
  return concatBytes(edSeed, ed25519.getPublicKey(edSeed), advanceIndexTo(startIndex, start + 1n));
}

/**
 * The daemon's `NewKeypair(seed)` (katzenpost client/pigeonhole.go; hpqc rand.NewDeterministicRandReader):
 * the ChaCha20 keystream keyed by the 32-byte seed (zero nonce, counter 0) feeds `writeCapFromEntropy`.
 * Same seed, same cap.
 */
export function newWriteCapFromSeed(seed: Uint8Array): Uint8Array {
  need(seed, SEED_SIZE, 'seed');
  // With a zero nonce the IETF (12-byte nonce) and DJB (8-byte nonce) keystreams coincide.
  const stream = chacha20(seed, new Uint8Array(12), new Uint8Array(WRITE_CAP_ENTROPY_SIZE));
  return writeCapFromEntropy(stream);
}

/** `WriteCap.ReadCap()`: the stored public key and the same index. */
export function writeCapToReadCap(writeCap: Uint8Array): Uint8Array {
  need(writeCap, WRITE_CAP_SIZE, 'writeCap');
  checkWriteCapKeys(writeCap);
  return copy(writeCap, 32);
}

/** Splits a cap by its length: 168 bytes is a WriteCap, 136 a ReadCap. */
function capParts(cap: Uint8Array): { field: string; pub: Uint8Array; index: Uint8Array } {
  needBytes(cap, 'cap');
  if (cap.length === WRITE_CAP_SIZE) {
    return { field: 'writeCap', pub: cap.subarray(32, 64), index: cap.subarray(64) };
  }
  if (cap.length === READ_CAP_SIZE) {
    return { field: 'readCap', pub: cap.subarray(0, 32), index: cap.subarray(32) };
  }
  throw new InvalidArgumentError(
    'cap',
    `expected ${WRITE_CAP_SIZE} (WriteCap) or ${READ_CAP_SIZE} (ReadCap) bytes, got ${cap.length}`,
  );
}

/** The cap's own MessageBoxIndex (the daemon's `FirstMessageIndex`), from a WriteCap or a ReadCap. */
export function firstIndexOf(cap: Uint8Array): Uint8Array {
  return copy(capParts(cap).index);
}

/** The 32-byte root public key of a WriteCap or ReadCap. */
export function rootPublicKeyOf(cap: Uint8Array): Uint8Array {
  return copy(capParts(cap).pub);
}

// ---------------------------------------------------------------------------------------------------------
// Blinding, box IDs, signatures (hpqc bacap/bacap_impl.go, sign/ed25519/blinded25519.go)

/** Per-context key: HKDF-BLAKE2b-512 with the 32-byte key as secret and the context as salt. */
function contextKey(key: Uint8Array, context: Uint8Array): Uint8Array {
  return hkdfBlake2b512(key, context, EMPTY, 32);
}

/** factor → scalar: `LE(clamp(SHA-512/256(factor))) mod L`. */
function factorScalar(factor: Uint8Array): bigint {
  return clampedScalar(sha512_256(factor));
}

function blindPublicKey(pub: Uint8Array, factor: Uint8Array, field: string): Uint8Array {
  return decodePoint(pub, field).multiply(factorScalar(factor)).toBytes();
}

/**
 * hpqc BlindedPrivateKey.Sign (sign/ed25519/blinded25519.go), not RFC 8032 key expansion; verifies
 * under `pub`.
 */
function blindedSign(s: bigint, pub: Uint8Array, msg: Uint8Array): Uint8Array {
  const d = sha512(numberToBytesLE(s, 32));
  // The nonce input really is d[32:64] ‖ msg ‖ d[33:64].
  const r = bytesToNumberLE(sha512(concatBytes(d.subarray(32, 64), msg, d.subarray(33, 64)))) % L;
  const R = Point.BASE.multiply(r).toBytes();
  const k = bytesToNumberLE(sha512(concatBytes(R, pub, msg))) % L;
  return concatBytes(R, numberToBytesLE((k * s + r) % L, 32));
}

function checkContext(context: Uint8Array): void {
  needBytes(context, 'context');
}

/**
 * `BoxIDForContext`: the box ID (a blinded Ed25519 public key) of `index` under a WriteCap's or a ReadCap's
 * root key. Pigeonhole always uses the default context.
 */
export function boxIdFor(
  cap: Uint8Array,
  index: Uint8Array,
  context: Uint8Array = PIGEONHOLE_CTX,
): Uint8Array {
  const { field, pub } = capParts(cap);
  need(index, MESSAGE_BOX_INDEX_SIZE, 'messageBoxIndex');
  checkContext(context);
  return blindPublicKey(pub, contextKey(index.subarray(8, 40), context), field);
}

/** hpqc `DeriveMessageBoxID`: blinds with K directly, without a context. Pigeonhole does not use it. */
export function deriveMessageBoxId(cap: Uint8Array, index: Uint8Array): Uint8Array {
  const { field, pub } = capParts(cap);
  need(index, MESSAGE_BOX_INDEX_SIZE, 'messageBoxIndex');
  return blindPublicKey(pub, index.subarray(8, 40), field);
}

/** The blinded key pair for `index`: box ID (= blinded public key) and blinded secret scalar. */
function blindedKeyPair(writeCap: Uint8Array, index: Uint8Array, context: Uint8Array) {
  need(writeCap, WRITE_CAP_SIZE, 'writeCap');
  need(index, MESSAGE_BOX_INDEX_SIZE, 'messageBoxIndex');
  checkContext(context);
  const a = rootScalar(writeCap.subarray(0, 32));
  // Go blinds the stored public key; f·A = (f·a)·B, so comparing a·B with it and using the fixed-base
  // product gives the same box ID for every consistent cap, faster, and rejects inconsistent ones.
  if (!equalBytes(Point.BASE.multiply(a).toBytes(), writeCap.subarray(32, 64))) {
    throw new InvalidArgumentError('writeCap', 'public key does not match the private key');
  }
  const s = (factorScalar(contextKey(index.subarray(8, 40), context)) * a) % L;
  return { s, boxId: Point.BASE.multiply(s).toBytes() };
}

/**
 * `SignBox`: the box ID of `index` and the blinded signature over `payload` as given (no encryption).
 */
export function signBox(
  writeCap: Uint8Array,
  index: Uint8Array,
  payload: Uint8Array,
  context: Uint8Array = PIGEONHOLE_CTX,
): SignedBox {
  needBytes(payload, 'payload');
  const { s, boxId } = blindedKeyPair(writeCap, index, context);
  return { boxId, signature: blindedSign(s, boxId, payload) };
}

/** A tombstone: the box ID and a signature over the empty payload (hpqc bacap `SignBox`). */
export function signTombstone(
  writeCap: Uint8Array,
  index: Uint8Array,
  context: Uint8Array = PIGEONHOLE_CTX,
): SignedBox {
  return signBox(writeCap, index, EMPTY, context);
}

/**
 * `EncryptForContext` (writer side): AES-256-GCM-SIV under E_ctx with nonce boxId[0:12] and AAD boxId, then a
 * blinded signature over the ciphertext only. Deterministic: same cap, index and plaintext, same bytes.
 * The ciphertext is `plaintext.length + 16` bytes. An empty plaintext is encrypted too (16 bytes); a
 * tombstone is `signTombstone`.
 */
export function encryptForBox(
  writeCap: Uint8Array,
  index: Uint8Array,
  plaintext: Uint8Array,
  context: Uint8Array = PIGEONHOLE_CTX,
): SealedBox {
  needBytes(plaintext, 'plaintext');
  const { s, boxId } = blindedKeyPair(writeCap, index, context);
  const key = contextKey(index.subarray(40, 72), context);
  const ciphertext = gcmsiv(key, boxId.subarray(0, 12), boxId).encrypt(plaintext);
  return { boxId, signature: blindedSign(s, boxId, ciphertext), ciphertext };
}

/**
 * `VerifyBox`: plain Ed25519 verification of `payload` under the box ID, as replicas do. False (never a
 * throw) for a box ID that is not a curve point or a signature of the wrong length.
 */
export function verifyBox(boxId: Uint8Array, payload: Uint8Array, signature: Uint8Array): boolean {
  needBytes(boxId, 'boxId');
  needBytes(payload, 'payload');
  needBytes(signature, 'signature');
  if (boxId.length !== BOX_ID_SIZE || signature.length !== SIGNATURE_SIZE) return false;
  try {
    return ed25519.verify(signature, payload, boxId, { zip215: false });
  } catch {
    return false;
  }
}

/** True when `boxId` is 32 bytes that decode to an Ed25519 point. */
export function isValidBoxId(boxId: Uint8Array): boolean {
  if (!(boxId instanceof Uint8Array) || boxId.length !== BOX_ID_SIZE) return false;
  try {
    Point.fromBytes(boxId, true);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reader side (`StatefulReader.DecryptNext`): derives the box ID from the ReadCap (or WriteCap) and `index`,
 * rejects a different `boxId` when one is given (`box_mismatch`), verifies the signature over the ciphertext
 * under the derived box ID (`signature_invalid`), then opens the ciphertext (`decrypt_failed`).
 * An empty ciphertext with a valid signature is a tombstone and yields an empty plaintext.
 */
export function decryptFromBox(
  cap: Uint8Array,
  index: Uint8Array,
  box: { ciphertext: Uint8Array; signature: Uint8Array; boxId?: Uint8Array },
  context: Uint8Array = PIGEONHOLE_CTX,
): Uint8Array {
  const { ciphertext, signature, boxId: claimed } = box;
  needBytes(ciphertext, 'ciphertext');
  need(signature, SIGNATURE_SIZE, 'signature');
  if (claimed !== undefined) need(claimed, BOX_ID_SIZE, 'boxId');
  const boxId = boxIdFor(cap, index, context);
  if (claimed !== undefined && !equalBytes(claimed, boxId)) {
    throw new BacapError('box_mismatch', 'the box ID does not belong to this cap and index');
  }
  if (!verifyBox(boxId, ciphertext, signature)) {
    throw new BacapError('signature_invalid', 'box signature does not verify');
  }
  if (ciphertext.length === 0) return new Uint8Array(0);
  const key = contextKey(index.subarray(40, 72), context);
  try {
    return gcmsiv(key, boxId.subarray(0, 12), boxId).decrypt(ciphertext);
  } catch (cause) {
    throw new BacapError('decrypt_failed', 'box ciphertext does not decrypt', { cause });
  }
}

/**
 * True when `signature` is a valid tombstone (a signature over the empty payload) for the box of `index`
 * under the ReadCap (or WriteCap).
 */
export function verifyTombstone(
  cap: Uint8Array,
  index: Uint8Array,
  signature: Uint8Array,
  context: Uint8Array = PIGEONHOLE_CTX,
): boolean {
  need(signature, SIGNATURE_SIZE, 'signature');
  return verifyBox(boxIdFor(cap, index, context), EMPTY, signature);
}

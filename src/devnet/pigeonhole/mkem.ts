/**
 * A stand-in for Katzenpost's MKEM over CTIDH1024-X25519 (katzenpost replica/common/key.go), which cannot be
 * built in JavaScript (no CTIDH). The construction is the real one (hpqc kem/mkem): an ephemeral NIKE key
 * pair, per-recipient `s_i = BLAKE2b-256(DH(e, R_i))`, a random 32-byte message key, the envelope
 * `nonce ‖ ChaCha20-Poly1305(msgKey)` and per-recipient DEKs `nonce ‖ ChaCha20-Poly1305(s_i)(msgKey)`
 * (60 bytes); replies are `nonce ‖ ChaCha20-Poly1305(BLAKE2b-256(DH(replica, E)))`.
 *
 * Only the NIKE differs: X25519 alone, with every key padded to the hybrid's real sizes so that all wire
 * sizes stay exact. Layout, as in hpqc's hybrid (X25519 first):
 *   public key  (160) = X25519 public (32)  ‖ 128 bytes derived from it (the CTIDH half's place)
 *   private key (162) = X25519 secret (32)  ‖ 130 bytes derived from it
 * The derived halves are checked on use, so a tampered key is rejected like an unparsable one.
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { equalBytes } from '@noble/curves/utils.js';
import { blake2b256, hkdfBlake2b512 } from '../../crypto/hash.js';
import { MKEM_DEK_SIZE, MKEM_PRIVKEY_SIZE, MKEM_PUBKEY_SIZE } from '../geometry.js';
import type { Drbg } from '../rng.js';

const enc = new TextEncoder();
const PUB_FILL = enc.encode('katzenpost devnet: CTIDH1024 public half stand-in');
const PRIV_FILL = enc.encode('katzenpost devnet: CTIDH1024 private half stand-in');
const NONCE = 12;
/** DER prefixes of a raw X25519 key in PKCS#8 and SPKI form (RFC 8410); OpenSSL does the curve work. */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** Parsed keys, by their raw bytes: replica keys are used over and over, an ephemeral key three times. */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_SIZE = 512;

function cached(kind: string, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const id = kind + Buffer.from(raw).toString('hex');
  let key = keyCache.get(id);
  if (key) {
    keyCache.delete(id);
  } else {
    key = make();
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
  }
  keyCache.set(id, key);
  return key;
}

function x25519Private(secret: Uint8Array): KeyObject {
  return cached('s', secret, () =>
    createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' }),
  );
}

function x25519PublicKey(secret: Uint8Array): Uint8Array {
  const der = createPublicKey(x25519Private(secret)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** X25519(secret, public); throws for a low-order public key (all-zero output). */
function x25519(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  const publicKey = cached('p', pub, () =>
    createPublicKey({ key: Buffer.concat([SPKI_X25519, pub]), format: 'der', type: 'spki' }),
  );
  return new Uint8Array(diffieHellman({ privateKey: x25519Private(secret), publicKey }));
}

export interface NikeKeypair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

function padPublic(x: Uint8Array): Uint8Array {
  const out = new Uint8Array(MKEM_PUBKEY_SIZE);
  out.set(x);
  out.set(hkdfBlake2b512(x, undefined, PUB_FILL, MKEM_PUBKEY_SIZE - 32), 32);
  return out;
}

/** A key pair from 32 secret bytes. */
export function nikeKeypair(secret32: Uint8Array): NikeKeypair {
  const secret = secret32.slice(0, 32);
  const priv = new Uint8Array(MKEM_PRIVKEY_SIZE);
  priv.set(secret);
  priv.set(hkdfBlake2b512(secret, undefined, PRIV_FILL, MKEM_PRIVKEY_SIZE - 32), 32);
  return { privateKey: priv, publicKey: padPublic(x25519PublicKey(secret)) };
}

/** The X25519 half of a public key, or null when the key is malformed. */
function publicHalf(pub: Uint8Array): Uint8Array | null {
  if (!(pub instanceof Uint8Array) || pub.length !== MKEM_PUBKEY_SIZE) return null;
  const x = pub.subarray(0, 32);
  return equalBytes(padPublic(x), pub) ? x : null;
}

function privateHalf(priv: Uint8Array): Uint8Array | null {
  if (!(priv instanceof Uint8Array) || priv.length !== MKEM_PRIVKEY_SIZE) return null;
  return priv.subarray(0, 32);
}

/** BLAKE2b-256 of the DH shared secret, or null for a bad key or a low-order point. */
function sharedKey(priv: Uint8Array, pub: Uint8Array): Uint8Array | null {
  const s = privateHalf(priv);
  const p = publicHalf(pub);
  if (!s || !p) return null;
  try {
    return blake2b256(x25519(s, p));
  } catch {
    return null;
  }
}

function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const ct = chacha20poly1305(key, nonce).encrypt(plaintext);
  const out = new Uint8Array(NONCE + ct.length);
  out.set(nonce);
  out.set(ct, NONCE);
  return out;
}

function open(key: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < NONCE + 16) return null;
  try {
    return chacha20poly1305(key, sealed.subarray(0, NONCE)).decrypt(sealed.subarray(NONCE));
  } catch {
    return null;
  }
}

export interface Encapsulation {
  /** The ephemeral private key (162 bytes): what the EnvelopeDescriptor keeps to open replies. */
  privateKey: Uint8Array;
  /** The ephemeral public key (160 bytes): the envelope's sender_pubkey. */
  publicKey: Uint8Array;
  /** One 60-byte DEK per recipient, in order. */
  deks: Uint8Array[];
  /** nonce ‖ AEAD(plaintext): plaintext + 28 bytes. */
  envelope: Uint8Array;
}

/** Encrypts `plaintext` once for several recipients. */
export function encapsulate(rng: Drbg, recipients: Uint8Array[], plaintext: Uint8Array): Encapsulation {
  const eph = nikeKeypair(rng.bytes(32));
  const msgKey = rng.bytes(32);
  const envelope = seal(msgKey, rng.bytes(NONCE), plaintext);
  const deks = recipients.map((pub) => {
    const s = sharedKey(eph.privateKey, pub);
    if (!s) throw new RangeError('malformed recipient public key');
    const dek = seal(s, rng.bytes(NONCE), msgKey);
    if (dek.length !== MKEM_DEK_SIZE) throw new Error('DEK size');
    return dek;
  });
  return { privateKey: eph.privateKey, publicKey: eph.publicKey, deks, envelope };
}

/** A recipient opens its DEK and the envelope; null when anything fails. */
export function decapsulate(
  recipientPrivate: Uint8Array,
  senderPublic: Uint8Array,
  dek: Uint8Array,
  envelope: Uint8Array,
): Uint8Array | null {
  const s = sharedKey(recipientPrivate, senderPublic);
  if (!s || dek.length !== MKEM_DEK_SIZE) return null;
  const msgKey = open(s, dek);
  if (msgKey?.length !== 32) return null;
  return open(msgKey, envelope);
}

/** A replica's reply to the sender: nonce ‖ AEAD under BLAKE2b-256(DH(replica, E)). */
export function envelopeReply(
  rng: Drbg,
  replicaPrivate: Uint8Array,
  senderPublic: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const s = sharedKey(replicaPrivate, senderPublic);
  if (!s) throw new RangeError('malformed key for an envelope reply');
  return seal(s, rng.bytes(NONCE), plaintext);
}

/** The sender opens a reply with its ephemeral private key and the replica's public key. */
export function openEnvelopeReply(
  ephemeralPrivate: Uint8Array,
  replicaPublic: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | null {
  const s = sharedKey(ephemeralPrivate, replicaPublic);
  return s ? open(s, sealed) : null;
}

/** True when `pub` is a well-formed stand-in public key. */
export function isValidPublicKey(pub: Uint8Array): boolean {
  return publicHalf(pub) !== null;
}

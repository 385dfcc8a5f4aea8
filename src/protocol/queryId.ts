/**
 * Query ids: 16 random bytes per request, cut from a pooled CSPRNG buffer (one getRandomValues per
 * 256 ids instead of one call per request), with their lowercase hex as the routing key.
 */
const ID_BYTES = 16;
const POOL_IDS = 256;
let pool = new Uint8Array(0);
let offset = 0;

/** 16 fresh random bytes (a copy: never aliased with the pool). */
export function randomId(): Uint8Array {
  if (offset + ID_BYTES > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(ID_BYTES * POOL_IDS));
    offset = 0;
  }
  const id = pool.slice(offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lowercase hex. Joined, not concatenated: `s +=` leaves a tree of one cons string per byte, and
 * these strings are kept as map keys for as long as their work runs (≈1.5 KB per operation).
 */
export function hex(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = HEX[bytes[i]!]!;
  return parts.join('');
}

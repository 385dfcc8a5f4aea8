/** Byte helpers shared by the devnet's encoders. */

/** The parts one after the other, in a new array (takes an array: encoders may hold many parts). */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

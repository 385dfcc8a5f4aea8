/** A reproducible sample of a long path list: the same `seed` picks the same paths on every run. */
import { createHash } from 'node:crypto';

export function sample<T>(items: readonly T[], n: number, seed: string): T[] {
  if (items.length <= n) return items.slice();
  const rank = (i: number) => createHash('sha256').update(`${seed}/${i}`).digest().readUInt32BE(0);
  return items
    .map((item, i) => ({ item, i, r: rank(i) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .slice(0, n)
    .sort((a, b) => a.i - b.i)
    .map((x) => x.item);
}

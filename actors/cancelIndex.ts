/**
 * Operations by cancel key (envelope hash or BLAKE2b-256 of a write cap). Almost always one
 * operation per key, so a key maps to its query id directly and only to a Set when it is shared:
 * a Set per operation would cost more than the rest of its entry.
 */
export class CancelIndex {
  private readonly byKey = new Map<string, string | Set<string>>();

  add(key: string, queryId: string): void {
    const found = this.byKey.get(key);
    if (found === undefined) this.byKey.set(key, queryId);
    else if (typeof found === 'string') this.byKey.set(key, new Set([found, queryId]));
    else found.add(queryId);
  }

  remove(key: string, queryId: string): void {
    const found = this.byKey.get(key);
    if (found === queryId) this.byKey.delete(key);
    else if (typeof found === 'object') {
      found.delete(queryId);
      if (found.size === 0) this.byKey.delete(key);
    }
  }

  /** A snapshot of the query ids under `key` (safe to iterate while removing). */
  get(key: string): string[] {
    const found = this.byKey.get(key);
    if (found === undefined) return [];
    return typeof found === 'string' ? [found] : [...found];
  }
}

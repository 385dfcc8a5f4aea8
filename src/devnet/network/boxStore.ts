/**
 * Where a storage replica keeps its boxes. The replica decides what may be stored (write-once, tombstones
 * overwrite); the store only holds the result. In memory by default; `state/boxLog.ts` adds a file under a
 * devnet state directory so that the boxes outlive the process.
 */

/** One stored box: a BACAP ciphertext and its signature, or an empty payload for a tombstone. */
export interface StoredBox {
  payload: Uint8Array;
  signature: Uint8Array;
}

export interface BoxStore {
  get(boxIdHex: string): StoredBox | undefined;
  /** Stores (or replaces) a box. Durable when it returns, for a store that persists. */
  set(boxIdHex: string, box: StoredBox): void;
  readonly size: number;
  /** Every stored box, for repairing replication after a restart. */
  entries(): IterableIterator<[string, StoredBox]>;
}

export class MemoryBoxStore implements BoxStore {
  private readonly boxes = new Map<string, StoredBox>();

  get(boxIdHex: string): StoredBox | undefined {
    return this.boxes.get(boxIdHex);
  }

  set(boxIdHex: string, box: StoredBox): void {
    this.boxes.set(boxIdHex, box);
  }

  get size(): number {
    return this.boxes.size;
  }

  entries(): IterableIterator<[string, StoredBox]> {
    return this.boxes.entries();
  }
}

// What sending and receiving share: the store a run uses, and the progress of a transfer already done.
import type { TransferProgress } from '../../pigeonhole/channels.js';
import { PigeonholeStore } from '../../pigeonhole/store.js';

/** Runs `use` on `store`, or on a private in-memory store that is closed afterwards. */
export async function withStore<T>(
  store: PigeonholeStore | undefined,
  use: (store: PigeonholeStore) => Promise<T>,
): Promise<T> {
  const own = store === undefined;
  const s = store ?? PigeonholeStore.open(':memory:');
  try {
    return await use(s);
  } finally {
    if (own) s.close();
  }
}

/** One progress report for a transfer an earlier run already finished, so a bar still reaches 100%. */
export function reportFinished(
  onProgress: ((progress: TransferProgress) => void) | undefined,
  boxCount: number,
  length: number,
): void {
  onProgress?.({ boxesDone: boxCount, boxesTotal: boxCount, bytesDone: length, bytesTotal: length });
}

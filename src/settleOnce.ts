/** How a call's promise is settled: by the registry's answer, or by its AbortSignal first. */
import type { Respond, Result } from './protocol/index.js';

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A promise settled by the first of: the registry's `respond`, or `signal` aborting (then `onAbort`
 * runs and it rejects with `signal.reason`). The abort listener never outlives the promise.
 */
export function settleOnce<T>(
  signal: AbortSignal | undefined,
  start: (respond: Respond<T>) => void,
  onAbort: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    let settled = false;
    const abort = () => {
      if (settled) return;
      settled = true;
      onAbort();
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', abort, { once: true });
    start((result: Result<T>) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      if (result.ok) resolve(result.value);
      else reject(result.error);
    });
  });
}

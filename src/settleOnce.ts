/** How a call's promise is settled: by the registry's answer, or by its AbortSignal first. */
import type { Respond, Result } from './protocol/index.js';

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A promise settled by the first of: the registry's `respond` (its value passed through `map`, when
 * given), or `signal` aborting (then `onAbort` runs and it rejects with `signal.reason`). The abort
 * listener never outlives the promise. Without a signal it holds nothing but the one promise and
 * the respond callback: 10,000 operations in flight keep 10,000 of these.
 */
export function settleOnce<T, R = T>(
  signal: AbortSignal | undefined,
  start: (respond: Respond<R>) => void,
  onAbort: () => void,
  map?: (value: R) => Result<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = (result: Result<R>) => {
      const mapped = result.ok && map ? map(result.value) : (result as Result<unknown> as Result<T>);
      if (mapped.ok) resolve(mapped.value);
      else reject(mapped.error);
    };
    if (!signal) {
      start(finish);
      return;
    }
    if (signal.aborted) return reject(abortReason(signal));
    let settled = false;
    const abort = () => {
      if (settled) return;
      settled = true;
      onAbort();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    start((result) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', abort);
      finish(result);
    });
  });
}

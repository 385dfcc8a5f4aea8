/**
 * Lifting the listener limit of an AbortSignal that thousands of calls listen to.
 *
 * Every file in src/platform/ has a `.browser.ts` twin with the same exports; the browser bundle
 * (scripts/buildBrowser.ts) uses the twin, so nothing that the client imports needs Node.
 */
import { setMaxListeners } from 'node:events';

/** Node warns past ten 'abort' listeners on one signal; a window of boxes may add 10,000. */
export function allowManyListeners(signal: AbortSignal): void {
  setMaxListeners(0, signal);
}

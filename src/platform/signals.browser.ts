/** The browser twin of signals.ts: browsers put no limit on an EventTarget's listeners. */
export function allowManyListeners(_signal: AbortSignal): void {}

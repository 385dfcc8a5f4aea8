/** What every piece of work ends with: a value, or the typed error that says what went wrong. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Called exactly once by whoever owns the work (actors/registry.ts). */
export type Respond<T> = (result: Result<T>) => void;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: Error): Result<never> => ({ ok: false, error });

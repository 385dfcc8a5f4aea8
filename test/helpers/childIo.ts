/**
 * The child side of the crash tests (test/fixtures/*-child.ts): configuration from the environment, one
 * JSON line per event on stdout (written synchronously, so lines written before a SIGKILL are not lost),
 * and the error line a failed run ends with.
 */
import { writeSync } from 'node:fs';

export function emit(event: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify(event)}\n`);
}

/** A required environment variable. */
export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** Runs `main`; a rejection becomes an `error` line and exit code 1. */
export function runChildMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    emit({ event: 'error', name: (err as Error).name, message: (err as Error).message });
    process.exit(1);
  });
}

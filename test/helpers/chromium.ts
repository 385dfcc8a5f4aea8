/**
 * The system's Chromium for the browser tests (Debian's chromium package; `CHROMIUM_PATH` overrides).
 * Outside CI a test without one skips, saying why; with CI set it must run, so it fails instead.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];

export const chromiumPath: string | undefined =
  process.env.CHROMIUM_PATH ??
  CANDIDATES.flatMap((name) => (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name))).find(
    (path) => existsSync(path),
  );

const inCi = Boolean(process.env.CI);

/** Whether a browser test named `what` skips here; warns when it does. */
export function skipWithoutChromium(what: string): boolean {
  const skip = !chromiumPath && !inCi;
  if (skip) console.warn(`${what} skipped: no Chromium found (apt-get install chromium; CI runs it)`);
  return skip;
}

/** The Chromium to launch; throws in CI when there is none. */
export function requireChromium(): string {
  if (!chromiumPath) throw new Error('CI is set but no Chromium was found (install the chromium package)');
  return chromiumPath;
}

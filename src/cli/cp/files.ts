// The local files of cp: refusing to overwrite, writing the received copy atomically, hex names.
import { randomBytes } from 'node:crypto';
import { access, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ThinClientError } from '../../errors.js';

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuses an existing OUT unless `force`, before anything is read from the network. */
export async function refuseExisting(outPath: string, force: boolean | undefined): Promise<void> {
  if (!force && (await exists(outPath))) {
    throw new ThinClientError('ERR_CP', `${outPath} exists; pass --force to replace it`);
  }
}

/** Writes a temporary file in the same directory, then renames it over `outPath`. */
export async function writeAtomically(outPath: string, data: Uint8Array): Promise<void> {
  const tmp = join(dirname(outPath), `.${basename(outPath)}.${hex(randomBytes(6))}.part`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

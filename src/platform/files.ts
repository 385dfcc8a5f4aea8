/**
 * Reading a text file (thinclient.toml). The browser twin, files.browser.ts, has no file system.
 */
import { readFile } from 'node:fs/promises';

/** The file's UTF-8 text; rejects with the file system's error. */
export function readTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

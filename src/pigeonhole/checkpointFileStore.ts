/**
 * The default checkpoint store: one file per key in a directory.
 *
 * A put is atomic and durable the classic way: write a temp file in the same directory, fsync it,
 * rename it over the target, fsync the directory. A reader (or a process that resumes after a kill at
 * any instant) sees either the previous record or the new one, never a torn one. Leftover temp files
 * of a killed writer are ignored by `keys()` and removed by later puts of the same key.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type CheckpointStore, checkKey } from './checkpoint.js';

const SUFFIX = '.ckpt';

/** `$XDG_STATE_HOME/katzenpost-thin-client/checkpoints`, or `~/.local/state/…` when unset. */
export function defaultCheckpointDirectory(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'katzenpost-thin-client', 'checkpoints');
}

/**
 * The default CheckpointStore: one file per key in `directory` (default: `defaultCheckpointDirectory()`),
 * each put atomic and durable (temp file, fsync, rename, fsync of the directory).
 */
export class FileCheckpointStore implements CheckpointStore {
  /** The directory holding one file per key (created 0700; files 0600). */
  readonly directory: string;
  #ready: Promise<void> | undefined;

  constructor(directory: string = defaultCheckpointDirectory()) {
    this.directory = directory;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    const name = checkKey(key) + SUFFIX;
    await this.#ensureDirectory();
    const temp = join(this.directory, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(value);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temp, join(this.directory, name));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await this.#syncDirectory();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const buf = await readFile(join(this.directory, checkKey(key) + SUFFIX));
      return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(join(this.directory, checkKey(key) + SUFFIX));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await this.#syncDirectory();
  }

  async keys(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.'))
      .map((n) => n.slice(0, -SUFFIX.length))
      .sort();
  }

  #ensureDirectory(): Promise<void> {
    this.#ready ??= mkdir(this.directory, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (err) => {
        this.#ready = undefined;
        throw err;
      },
    );
    return this.#ready;
  }

  async #syncDirectory(): Promise<void> {
    const dir = await open(this.directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

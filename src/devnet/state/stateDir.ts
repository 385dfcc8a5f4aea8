/**
 * A devnet state directory (`startDevnet({ state: DIR })`, `pigeonhole devnet --state DIR`): what a
 * network must find again when its process is started anew, so that a killed devnet comes back as the
 * same network behind a new daemon, as a real mixnet outlives a crashed kpclientd.
 *
 *   devnet-state.json   the seed (every key derives from it: authorities, replicas, envelope keys), the
 *                       genesis epoch and when it began (epochs continue across restarts), the topology
 *                       (replica/authority/service counts and scheme, which must not change), and how many
 *                       daemons have run (each new daemon draws a new instance token from that number)
 *   replica-N.boxes     replica N's boxes (boxLog.ts)
 *   lock                the pid of the process using the directory
 *
 * The directory is created 0700 and every file 0600. The JSON is replaced atomically (write, rename).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileBoxStore } from './boxLog.js';

const STATE_FILE = 'devnet-state.json';
const LOCK_FILE = 'lock';
/** Directories open in this process (the lock file cannot tell two users in one process apart). */
const openHere = new Set<string>();

/** What must be the same on every start of a network. */
export interface Topology {
  authorityScheme: string;
  authorityCount: number;
  replicaCount: number;
  serviceNodeCount: number;
}

interface StateFile {
  version: 1;
  seed: string;
  genesisEpoch: string;
  genesisAtMs: number;
  topology: Topology;
  daemons: number;
}

/** The state directory is unusable: in use, from another network, or unreadable. */
export class DevnetStateError extends Error {
  /** Always `'DevnetStateError'`. */
  override readonly name = 'DevnetStateError';
}

export interface OpenStateOptions {
  /** The seed the caller asked for; a fresh directory without one gets a random seed. */
  seed?: Uint8Array;
  topology: Topology;
  /** The genesis epoch of a fresh directory. */
  startEpoch: () => bigint;
}

export class DevnetState {
  private readonly stores: FileBoxStore[] = [];
  private released = false;

  private constructor(
    readonly dir: string,
    private readonly file: StateFile,
    /** Which start of the network this is: 0 for a fresh directory. */
    readonly run: number,
  ) {}

  /** Opens `dir` (creating it), or throws DevnetStateError saying what is wrong with it. */
  static open(dir: string, options: OpenStateOptions): DevnetState {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    lock(dir);
    try {
      const existing = readState(dir);
      const file = existing ?? fresh(options);
      if (existing) checkSame(dir, existing, options);
      const state = new DevnetState(dir, file, existing ? file.daemons : 0);
      state.save();
      return state;
    } catch (err) {
      unlock(dir);
      throw err;
    }
  }

  get seed(): Uint8Array {
    return Uint8Array.from(Buffer.from(this.file.seed, 'hex'));
  }

  get genesisEpoch(): bigint {
    return BigInt(this.file.genesisEpoch);
  }

  /** Wall-clock milliseconds since the genesis epoch began. */
  elapsedMs(): number {
    return Math.max(0, Date.now() - this.file.genesisAtMs);
  }

  /** The number of the next daemon (counting every daemon this network has run), recorded at once. */
  nextDaemon(): number {
    const n = this.file.daemons++;
    this.save();
    return n;
  }

  /** Replica `replicaId`'s box log. */
  boxStore(replicaId: number): FileBoxStore {
    const store = new FileBoxStore(join(this.dir, `replica-${replicaId}.boxes`));
    this.stores.push(store);
    return store;
  }

  /** Closes the box logs and releases the directory. */
  close(): void {
    if (this.released) return;
    this.released = true;
    for (const s of this.stores) s.close();
    unlock(this.dir);
  }

  private save(): void {
    const path = join(this.dir, STATE_FILE);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.file, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  }
}

function fresh(options: OpenStateOptions): StateFile {
  const seed = options.seed ?? new Uint8Array(randomBytes(32));
  return {
    version: 1,
    seed: Buffer.from(seed).toString('hex'),
    genesisEpoch: options.startEpoch().toString(),
    genesisAtMs: Date.now(),
    topology: { ...options.topology },
    daemons: 0,
  };
}

function readState(dir: string): StateFile | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let file: StateFile;
  try {
    file = JSON.parse(text) as StateFile;
  } catch {
    throw new DevnetStateError(`devnet: ${join(dir, STATE_FILE)} is not valid JSON`);
  }
  if (file.version !== 1 || typeof file.seed !== 'string' || typeof file.daemons !== 'number')
    throw new DevnetStateError(`devnet: ${join(dir, STATE_FILE)} is not a devnet state file (version 1)`);
  return file;
}

function checkSame(dir: string, file: StateFile, options: OpenStateOptions): void {
  if (options.seed && Buffer.from(options.seed).toString('hex') !== file.seed)
    throw new DevnetStateError(`devnet: the state in ${dir} belongs to a network with another seed`);
  for (const key of Object.keys(options.topology) as (keyof Topology)[]) {
    if (file.topology[key] !== options.topology[key])
      throw new DevnetStateError(
        `devnet: the state in ${dir} has ${key} ${String(file.topology[key])}, not ${String(options.topology[key])}`,
      );
  }
}

/** Takes the directory for this process; a lock left by a process that no longer runs is taken over. */
function lock(dir: string): void {
  if (openHere.has(resolve(dir)))
    throw new DevnetStateError(`devnet: the state in ${dir} is in use by another devnet of this process`);
  const path = join(dir, LOCK_FILE);
  try {
    writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    openHere.add(resolve(dir));
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
  if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder))
    throw new DevnetStateError(`devnet: the state in ${dir} is in use by process ${holder}`);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  openHere.add(resolve(dir));
}

function unlock(dir: string): void {
  openHere.delete(resolve(dir));
  rmSync(join(dir, LOCK_FILE), { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

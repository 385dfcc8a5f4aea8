/**
 * The parent side of the crash tests: a devnet on a unix socket in a temporary directory (it lives in
 * the test process and so outlives the children it serves), its thinclient.toml written there, a client
 * of its own, and child processes (tsx) whose JSON lines are collected as they arrive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { ThinClient } from '../../src/client.js';
import { configToToml } from '../../src/config.js';
import { type Devnet, startDevnet } from '../../src/devnet/index.js';

export interface CrashNet {
  readonly net: Devnet;
  readonly client: ThinClient;
  /** The temporary directory: the socket, the config, and room for the test's files. */
  readonly dir: string;
  /** The thinclient.toml a child dials the devnet with. */
  readonly configPath: string;
}

/** Starts the devnet and the client before the file's tests and removes everything after them. */
export function useCrashNet(dirPrefix: string): CrashNet {
  let state: CrashNet | undefined;
  let dir: string | undefined;
  let net: Devnet | undefined;
  let client: ThinClient | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
    net = await startDevnet({
      listen: `unix://${join(dir, 'daemon.sock')}`,
      profile: 'instant',
      authorityScheme: 'Ed25519',
    });
    const configPath = join(dir, 'thinclient.toml');
    writeFileSync(configPath, configToToml(net.thinClientConfig));
    client = await ThinClient.connect(net.thinClientConfig);
    state = { net, client, dir, configPath };
  });
  afterAll(async () => {
    await client?.close();
    await net?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const get = (): CrashNet => {
    if (!state) throw new Error('the crash devnet is not started (use it inside a test)');
    return state;
  };
  return {
    get net() {
      return get().net;
    },
    get client() {
      return get().client;
    },
    get dir() {
      return get().dir;
    },
    get configPath() {
      return get().configPath;
    },
  };
}

export type ChildLine = { event: string; [k: string]: unknown };

export interface Child {
  proc: ChildProcess;
  /** The JSON lines seen so far. */
  lines: ChildLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** The first line (already seen or still to come) that satisfies `pred`. */
  waitFor(pred: (l: ChildLine) => boolean): Promise<ChildLine>;
}

/** Starts `script` (a path or file URL) under tsx with `env` added to this process's environment. */
export function spawnChild(script: string | URL, env: Record<string, string>): Child {
  const path = script instanceof URL ? script.pathname : script;
  const proc = spawn(process.execPath, ['--import', 'tsx', path], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ChildLine[] = [];
  const waiters: { pred: (l: ChildLine) => boolean; resolve: (l: ChildLine) => void }[] = [];
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  createInterface({ input: proc.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as ChildLine;
    lines.push(line);
    for (const w of waiters.splice(0)) {
      if (w.pred(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  // 'close', not 'exit': every line the child wrote has been read by then.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    lines,
    exited,
    stderr: () => stderr,
    waitFor(pred) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(
              `child exited (${code ?? signal}) first; stderr: ${stderr}; lines: ${JSON.stringify(lines)}`,
            ),
          ),
        );
      });
    },
  };
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: ChildLine[];
  stderr: string;
}

/** Runs `script` to its end: its exit, its JSON lines and its stderr. */
export async function runChild(script: string | URL, env: Record<string, string>): Promise<ChildResult> {
  const child = spawnChild(script, env);
  const { code, signal } = await child.exited;
  return { code, signal, events: child.lines, stderr: child.stderr() };
}

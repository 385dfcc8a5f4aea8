/**
 * Every example under examples/ runs, as a program of its own, and exits 0 having checked its
 * result; and every one is quoted in the docs, so no example in the docs can rot unseen.
 *
 * The examples that can use any daemon run against one devnet started here (through a
 * thinclient.toml, as against a real kpclientd); the ones that restart or cut the network, and the
 * `npm start` demo, start their own. Two run at a time.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToToml } from '../../src/config.js';
import { type Devnet, startDevnet } from '../../src/devnet/index.js';
import { fileText, ROOT, runnableExamples, staleQuotes, unquotedExamples } from './exampleFiles.js';

const PARALLEL = 2;
/** Generous: the time counts from the test's start, including its wait for a free slot. */
const RUN_TIMEOUT_MS = 300_000;

let net: Devnet;
let dir: string;
let configPath: string;
let authorityKeys: string;

beforeAll(async () => {
  net = await startDevnet({ profile: 'instant', authorityScheme: 'Ed25519' });
  dir = await mkdtemp(join(tmpdir(), 'kp-examples-'));
  configPath = join(dir, 'thinclient.toml');
  await writeFile(configPath, configToToml(net.thinClientConfig));
  authorityKeys = net.authorities.map((a) => Buffer.from(a.publicKey).toString('hex')).join(',');
});

afterAll(async () => {
  await net?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** At most PARALLEL children at once. */
let running = 0;
const waiting: Array<() => void> = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  while (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs one example with tsx; resolves with its exit code and everything it printed. */
function run(file: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return slot(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
          cwd: ROOT,
          env: { ...process.env, KP_THINCLIENT_TOML: '', KP_AUTHORITY_KEYS: authorityKeys },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
        });
        child.once('error', reject);
        child.once('exit', (code) => resolve({ code, output }));
      }),
  );
}

/** Examples that drive the network themselves, and the demo `npm start` runs as it is. */
function ownDevnet(file: string): boolean {
  return file === 'examples/alice-bob.ts' || fileText(file).includes('openDevnetExample(');
}

describe('the examples', () => {
  it('are all quoted in the docs, each quote equal to its file (npx tsx test/examples/syncDocs.ts)', () => {
    expect(unquotedExamples()).toEqual([]);
    expect(staleQuotes()).toEqual([]);
  });

  describe.concurrent('run and exit 0', () => {
    for (const file of runnableExamples()) {
      it(
        file,
        async () => {
          const args = ownDevnet(file) ? [] : ['--config', configPath];
          const { code, output } = await run(file, args);
          expect(code, `${file} ${args.join(' ')} printed:\n${output}`).toBe(0);
          expect(output.trim()).not.toBe('');
        },
        RUN_TIMEOUT_MS,
      );
    }
  });
});

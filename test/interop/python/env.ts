/**
 * The reference Python thin client as a child process: creates its virtual environment once
 * (setup.sh, idempotent) and runs the driver scripts in this folder, parsing the one JSON result
 * line each prints. Used by test/interop/python-devnet.test.ts and bench/client.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const PYTHON_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULT_PREFIX = 'KP_INTEROP_RESULT ';

let cached: Promise<string> | undefined;

/**
 * Path of the interpreter that has katzenpost-thinclient (pinned in requirements.txt) installed.
 * First call on a fresh machine: creates the venv and pip-installs (a few seconds); afterwards
 * about half a second for setup.sh to check its stamp.
 */
export function ensurePythonEnv(): Promise<string> {
  cached ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [join(PYTHON_DIR, 'setup.sh')], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`setting up the Python environment failed: ${err.message}\n${err.stderr ?? ''}`);
    });
    const python = stdout.trim().split('\n').pop();
    if (!python) throw new Error('setup.sh printed no interpreter path');
    return python;
  })();
  return cached;
}

export interface PythonRun<T> {
  /** The parsed JSON of the KP_INTEROP_RESULT line, if one was printed. */
  result: T | undefined;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs one driver script asynchronously (the devnet lives in this process, so the event loop
 * must stay free while Python talks to it).
 */
export async function runPythonScript<T = unknown>(
  script: string,
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<PythonRun<T>> {
  const python = await ensurePythonEnv();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-u', join(PYTHON_DIR, script), ...args], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      const line = stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith(RESULT_PREFIX));
      let result: T | undefined;
      if (line) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
      resolve({ result, exitCode, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/**
 * The devnet as its own process, as kpclientd is: `pigeonhole devnet --state DIR` under tsx, listening on
 * a unix socket in a temporary directory. `kill()` sends SIGKILL (no shutdown_event, no flush: whatever
 * the process had not written is gone) and `start()` runs a new process on the same state, so the network
 * is the same and the daemon is new.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configToToml } from '../../src/config.js';
import type { Config } from '../../src/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export class DaemonProcess {
  readonly dir: string;
  readonly socketPath: string;
  readonly configPath: string;
  readonly config: Config;
  /** How many processes have been started. */
  starts = 0;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderr = '';

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.socketPath = join(this.dir, 'daemon.sock');
    this.config = { dial: { type: 'unix', address: this.socketPath } };
    this.configPath = join(this.dir, 'thinclient.toml');
    writeFileSync(this.configPath, configToToml(this.config));
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Starts a devnet process on the state directory; resolves once it listens. */
  async start(): Promise<void> {
    if (this.proc) throw new Error('the devnet process is already running');
    const args = ['--import', 'tsx', CLI, 'devnet', '--listen', `unix:${this.socketPath}`];
    args.push('--state', join(this.dir, 'state'), '--profile', 'instant', '--authority-scheme', 'Ed25519');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.starts++;
    this.stderr = '';
    proc.stderr!.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => proc.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d;
        if (out.includes('listening on')) {
          proc.stdout!.off('data', onData);
          proc.stdout!.resume();
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      void this.exited!.then(() => reject(new Error(`the devnet process exited: ${this.stderr}`)));
    });
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await this.exited;
    this.proc = undefined;
  }

  /** Kills the process if it runs and removes the directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

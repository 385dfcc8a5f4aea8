/**
 * `pigeonhole cp` end to end on the devnet: the core send/receive functions, resuming with a state
 * file, the commander command in-process (send → share → recv), and the demo mode `cp FILE OUT` as a
 * real process on its own embedded devnet.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CpRuntime,
  decodeCpShare,
  defaultCpRuntime,
  encodeCpShare,
  receiveBytes,
  receiveFile,
  registerCpCommand,
  sendBytes,
  sendFile,
} from '../../src/cli/cp/index.js';
import type { ThinClient } from '../../src/client.js';
import { configToToml } from '../../src/config.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeChannelShare, type TransferProgress } from '../../src/pigeonhole/channels.js';
import { framedBoxCount } from '../../src/pigeonhole/framing.js';
import { PigeonholeStore } from '../../src/pigeonhole/store.js';
import { useDevnetClients } from '../helpers/devnetClient.js';

const env = useDevnetClients(2);
let sender: ThinClient;
let receiver: ThinClient;
let dir: string;
let configPath: string;

beforeAll(() => {
  [sender, receiver] = env.clients as [ThinClient, ThinClient];
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-cp-'));
  configPath = join(dir, 'thinclient.toml');
  writeFileSync(configPath, configToToml(env.net.thinClientConfig));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const boxesFor = (n: number) => framedBoxCount(n, sender.pigeonholeGeometry.maxPlaintextPayloadLength);

function sink(): Writable & { text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => Buffer.concat(chunks).toString('utf8');
  return w;
}

describe('cp share strings', () => {
  const share = {
    readCap: new Uint8Array(136).fill(1),
    firstIndex: new Uint8Array(104).fill(2),
    length: 70_000,
  };

  it('round-trip read cap, first index and length', () => {
    expect(decodeCpShare(encodeCpShare(share))).toEqual(share);
  });

  it('are told apart from a plain channel share', () => {
    expect(() => decodeCpShare(encodeChannelShare(share))).toThrow(
      new InvalidArgumentError('share', 'is not a `pigeonhole cp send` share string'),
    );
  });
});

describe('cp send and receive', () => {
  it('copy a multi-box file byte for byte, reporting progress up to the whole file', async () => {
    const data = randomBytes(3 * sender.pigeonholeGeometry.maxPlaintextPayloadLength + 123);
    const file = join(dir, 'in.bin');
    writeFileSync(file, data);
    const sent: TransferProgress[] = [];
    const result = await sendFile(file, { client: sender, onProgress: (p) => sent.push(p) });
    expect(result).toMatchObject({ length: data.length, boxCount: 4, resumed: false });
    expect(sent.at(-1)).toEqual({
      boxesDone: 4,
      boxesTotal: 4,
      bytesDone: data.length,
      bytesTotal: data.length,
    });

    const got: TransferProgress[] = [];
    const out = join(dir, 'out.bin');
    expect(
      await receiveFile(result.share, out, { client: receiver, onProgress: (p) => got.push(p) }),
    ).toEqual({
      length: data.length,
    });
    expect(readFileSync(out)).toEqual(data);
    expect(got.at(-1)).toEqual({
      boxesDone: 4,
      boxesTotal: 4,
      bytesDone: data.length,
      bytesTotal: data.length,
    });
  });

  it('copy an empty file', async () => {
    const result = await sendBytes(new Uint8Array(0), { client: sender });
    expect(await receiveBytes(result.share, { client: receiver })).toEqual(new Uint8Array(0));
  });

  it('refuse to overwrite an existing output before reading anything', async () => {
    const result = await sendBytes(new Uint8Array([1, 2, 3]), { client: sender });
    const out = join(dir, 'exists.bin');
    writeFileSync(out, 'keep me');
    await expect(receiveFile(result.share, out, { client: receiver, timeoutMs: 0 })).rejects.toThrow(
      `${out} exists; pass --force to replace it`,
    );
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await receiveFile(result.share, out, { client: receiver, force: true });
    expect(readFileSync(out)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('resume an interrupted send from the state file and print the same share', async () => {
    const data = randomBytes(2 * sender.pigeonholeGeometry.maxPlaintextPayloadLength);
    const statePath = join(dir, 'state.db');
    let store = PigeonholeStore.open(statePath);
    const ac = new AbortController();
    const stopped = new Error('interrupted');
    // Interrupt after the first box is confirmed.
    await expect(
      sendBytes(data, {
        client: sender,
        store,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.boxesDone === 1) ac.abort(stopped);
        },
      }),
    ).rejects.toBe(stopped);
    store.close();

    store = PigeonholeStore.open(statePath);
    const resumed = await sendBytes(data, { client: sender, store });
    expect(resumed.resumed).toBe(true);
    expect(resumed.boxCount).toBe(3);
    const again = await sendBytes(data, { client: sender, store });
    expect(again.share).toBe(resumed.share);
    store.close();
    expect(await receiveBytes(resumed.share, { client: receiver })).toEqual(new Uint8Array(data));
  });
});

describe('the cp command', () => {
  /** The real runtime (ThinClient, embedded devnet), writing to these streams, with progress bars. */
  async function runtime(stdout: Writable, stderr: Writable): Promise<CpRuntime> {
    return { ...(await defaultCpRuntime()), stdout, stderr, progress: true };
  }

  async function run(args: string[], rt: CpRuntime): Promise<void> {
    const program = new Command('pigeonhole').exitOverride();
    registerCpCommand(program, rt);
    await program.parseAsync(args, { from: 'user' });
  }

  it('sends a file with `cp send` and receives it with `cp recv SHARE OUT` through --config', async () => {
    const data = randomBytes(5000);
    const file = join(dir, 'doc.bin');
    writeFileSync(file, data);
    const out1 = sink();
    const err1 = sink();
    await run(['cp', 'send', file, '--config', configPath], await runtime(out1, err1));
    const share = out1.text().trim();
    expect(decodeCpShare(share).length).toBe(5000);
    expect(err1.text()).toMatch(`sent 5000 bytes in ${boxesFor(5000)} boxes; receive with:`);
    expect(err1.text()).toMatch(/send \[/); // the progress bar

    const out = join(dir, 'copy.bin');
    const err2 = sink();
    await run(['cp', 'recv', share, out, '-c', configPath, '--poll', '5'], await runtime(sink(), err2));
    expect(readFileSync(out)).toEqual(data);
    expect(err2.text()).toMatch(`received 5000 bytes into ${out}`);
  });

  it('copies FILE to OUT on an embedded devnet of its own with `cp FILE OUT`', async () => {
    const data = randomBytes(4000);
    const file = join(dir, 'a.bin');
    writeFileSync(file, data);
    const out = join(dir, 'b.bin');
    const err = sink();
    await run(['cp', file, out, '--quiet'], await runtime(sink(), err));
    expect(readFileSync(out)).toEqual(data);
    expect(err.text()).toMatch(/copying 4000 bytes of .* over the embedded devnet/);
    expect(err.text()).toMatch(`copied 4000 bytes in ${boxesFor(4000)} boxes into`);
    expect(err.text()).not.toMatch(/\[/);
  });

  it('rejects a share string that is not one before connecting', async () => {
    await expect(
      run(['cp', 'recv', 'not-a-share', join(dir, 'x')], await runtime(sink(), sink())),
    ).rejects.toThrow('share: is not a `pigeonhole cp send` share string');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('runs as a process: `pigeonhole cp FILE OUT` exits 0 with an identical copy', async () => {
    const data = randomBytes(2500);
    const file = join(dir, 'p.bin');
    writeFileSync(file, data);
    const out = join(dir, 'p.out');
    const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', cli, 'cp', file, out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let e = '';
      child.stderr.on('data', (d) => {
        e += d;
      });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stderr: e }));
    });
    expect(code, stderr).toBe(0);
    expect(readFileSync(out)).toEqual(data);
  });
});

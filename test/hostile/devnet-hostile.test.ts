/**
 * Hundreds of hostile sockets against one devnet running as its own process (`pigeonhole devnet`):
 * garbage bytes, length prefixes over 40 MiB, slowloris byte-at-a-time frames, idle sockets, and a
 * few 39 MiB partial frames. The devnet's resident memory (VmRSS from /proc) must stay within
 * MAX_RSS_GROWTH of what it used before the attack, and a ThinClient connected before the attack
 * must be served throughout; once the hostile sockets are gone, a new ThinClient is served too.
 * The figures are printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type Config, ThinClient } from '../../src/index.js';

/**
 * The devnet buffers at most its `maxBufferedBytes` (128 MiB by default) of partial frames and
 * unhandled requests across all sockets; the rest of the bound (72 MiB) is for what else the
 * attack costs: socket objects, V8 heap growth and allocator slack.
 */
const MAX_RSS_GROWTH = 200 * 1024 * 1024;
const MiB = 1024 * 1024;
/** Fewer than the slowloris and idle sockets of one wave (they live 1 s), so that the limit is met. */
const MAX_CONNECTIONS = 64;
const WAVES = 3;
const PER_WAVE = { garbage: 60, hugePrefix: 60, slowloris: 30, idle: 60 };
const BIG_PARTIALS = 6;

let child: ChildProcess | undefined;

async function startChildDevnet(): Promise<{ pid: number; config: Config }> {
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'devnet',
      '--listen',
      '127.0.0.1:0',
      '--max-connections',
      String(MAX_CONNECTIONS),
      '--handshake-timeout',
      '1000',
      '--partial-frame-timeout',
      '5000',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`devnet exited with ${code}: ${out}`)));
  });
  return { pid: child.pid!, config: { dial: { type: 'tcp', address } } };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

interface Hostile {
  socket: Socket;
  closed: Promise<void>;
  /** True when the devnet closed it (the test never ended it). */
  closedByDevnet: boolean;
  endedByTest: boolean;
  /** Bytes the devnet sent (none when it refused the socket at the connection limit). */
  received: number;
}

function hostile(config: Config, onConnect: (s: Socket) => void): Hostile {
  const [host, port] = (config.dial as { address: string }).address.split(':');
  const socket = connect({ host: host!, port: Number(port) });
  const h: Hostile = {
    socket,
    closedByDevnet: false,
    endedByTest: false,
    received: 0,
    closed: new Promise((resolve) => socket.once('close', () => resolve())),
  };
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    h.received += chunk.length;
  });
  // Closed before the test ends it: the devnet closed it (with a FIN or, data unread, a reset).
  socket.once('close', () => {
    if (!h.endedByTest) h.closedByDevnet = true;
  });
  socket.once('connect', () => onConnect(socket));
  return h;
}

const prefix = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

afterAll(() => {
  child?.kill('SIGKILL');
});

describe('the devnet under hundreds of hostile connections', () => {
  it('stays within its memory bound and keeps serving a proper client', async () => {
    const { pid, config } = await startChildDevnet();
    const client = await ThinClient.connect(config);
    await client.newKeypair(randomBytes(32));
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(pid));
    }, 20);

    const all: Hostile[] = [];
    const timers: NodeJS.Timeout[] = [];
    const big = Buffer.alloc(39 * MiB, 0x5a);
    // The big partial frames go first, each on a socket the devnet has admitted (it sent the
    // handshake events), so that none of them is merely refused at the connection limit.
    const bigOnes = Array.from({ length: BIG_PARTIALS }, () => hostile(config, () => {}));
    all.push(...bigOnes);
    while (bigOnes.some((h) => h.received === 0)) await new Promise((r) => setTimeout(r, 5));
    const bigFrame = Buffer.concat([prefix(40 * MiB), big]);
    // All of their bytes are on the wire (or the devnet has closed the socket) before the waves.
    await Promise.all(
      bigOnes.map((h) => Promise.race([new Promise((r) => h.socket.write(bigFrame, r)), h.closed])),
    );
    let served = 0;
    const failures: string[] = [];
    let attacking = true;
    const serving = (async () => {
      while (attacking) {
        try {
          await client.newKeypair(randomBytes(32), { timeoutMs: 20_000 });
          served++;
        } catch (err) {
          failures.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    for (let wave = 0; wave < WAVES; wave++) {
      for (let i = 0; i < PER_WAVE.garbage; i++) all.push(hostile(config, (s) => s.write(randomBytes(512))));
      for (let i = 0; i < PER_WAVE.hugePrefix; i++)
        all.push(hostile(config, (s) => s.write(prefix(40 * MiB + 1 + i))));
      for (let i = 0; i < PER_WAVE.slowloris; i++) {
        all.push(
          hostile(config, (s) => {
            s.write(prefix(1024));
            const t = setInterval(() => s.writable && s.write(Buffer.from([0x41])), 20);
            timers.push(t);
          }),
        );
      }
      for (let i = 0; i < PER_WAVE.idle; i++) all.push(hostile(config, () => {}));
      // Let each wave meet the timeouts of the one before (slots come free, partials are released).
      await new Promise((r) => setTimeout(r, 1500));
    }
    const servedDuring = served;
    attacking = false;
    await serving;
    // Whatever the devnet still holds open (a garbage prefix that reads as a small length, or the
    // slowloris that keeps trickling) the test now ends.
    for (const t of timers) clearInterval(t);
    const closedByDevnet = all.filter((h) => h.closedByDevnet).length;
    const bigDropped = bigOnes.filter((h) => h.closedByDevnet).length;
    const refused = all.filter((h) => h.closedByDevnet && h.received === 0).length;
    for (const h of all) {
      h.endedByTest = true;
      h.socket.destroy();
    }
    await Promise.all(all.map((h) => h.closed));
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(pid));

    const after = await ThinClient.connect(config);
    await after.newKeypair(randomBytes(32));
    await client.newKeypair(randomBytes(32));
    const settled = rssOf(pid);
    await after.close();
    await client.close();

    const figure = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
    console.log(
      `devnet under ${all.length} hostile connections (${BIG_PARTIALS} × 39 MiB partial frames): ` +
        `RSS ${figure(baseline)} before, peak ${figure(peak)} (growth ${figure(peak - baseline)}, ` +
        `bound ${figure(MAX_RSS_GROWTH)}), ${figure(settled)} after; ${closedByDevnet} closed by the devnet (${refused} at the ${MAX_CONNECTIONS}-connection limit, ` +
        `${bigDropped} of the big partial frames at the byte budget or the partial-frame timeout); ` +
        `${servedDuring} newKeypair round trips served during the attack`,
    );
    expect(failures).toEqual([]);
    expect(servedDuring).toBeGreaterThan(0);
    expect(peak - baseline).toBeLessThan(MAX_RSS_GROWTH);
    // Garbage with a small-looking prefix and live slowloris sockets may still be open; every
    // oversize prefix and every socket past the connection limit is closed by the devnet.
    expect(closedByDevnet).toBeGreaterThanOrEqual(WAVES * PER_WAVE.hugePrefix);
    expect(refused).toBeGreaterThan(0);
    // Six 39 MiB frames do not fit the 128 MiB budget: the devnet refused to hold some of them.
    expect(bigDropped).toBeGreaterThan(0);
  }, 120_000);
});

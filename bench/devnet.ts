/**
 * Devnet throughput and memory under the `instant` profile. Prints figures; not a test.
 *
 *   npx tsx bench/devnet.ts                 (BENCH_SECONDS=5 for longer phases)
 *
 * The devnet runs alone in a child process (so its heap and CPU are measured without the load
 * generator's), and the load comes from raw src/wire connections in this process:
 *   - write+read pairs per second for 1, 16 and 256 concurrent clients (each its own connection
 *     and channel: encrypt_write + start_resending_encrypted_message, then encrypt_read +
 *     start_resending_encrypted_message, plaintext checked);
 *   - memory per stored box: the devnet's heap + external memory after GC, before and after
 *     writing N boxes, divided by N.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Config } from '../src/config.js';
import { type Endpoint, endpointOf, newChannel, RawConnection, readBox, writeBox } from '../test/fuzz/raw.js';

// ---- the devnet in a child process --------------------------------------------------------------

type ChildMessage =
  | { type: 'ready'; config: Config }
  | { type: 'stats'; memory: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage }
  | { type: 'error'; message: string };

export interface DevnetProcess {
  config: Config;
  endpoint: Endpoint;
  pid: number;
  /** Memory (after two full GCs) and cumulative CPU time of the devnet process. */
  stats(): Promise<{ memory: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage }>;
  stop(): Promise<void>;
}

/** Starts startDevnet({ profile }) in a child process and returns where it listens. */
export async function spawnDevnet(profile: 'instant' | 'docker' = 'instant'): Promise<DevnetProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--devnet-child', profile], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T extends ChildMessage['type']>(type: T) =>
    new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type === 'error') reject(new Error(`devnet child: ${m.message}`));
        else if (m.type === type) resolve(m as Extract<ChildMessage, { type: T }>);
        else return;
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onExit = (code: number | null) => reject(new Error(`devnet child exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    config: ready.config,
    endpoint: endpointOf(ready.config),
    pid: child.pid!,
    async stats() {
      const p = next('stats');
      child.send({ type: 'stats' });
      const { memory, cpu } = await p;
      return { memory, cpu };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function childMain(profile: 'instant' | 'docker'): Promise<void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const send = (m: ChildMessage) => process.send!(m);
  try {
    const { startDevnet } = await import('../src/devnet/index.js');
    const net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile, seed: 'bench' });
    process.on('message', async (m: { type: string }) => {
      if (m.type === 'stats') {
        gc();
        await new Promise((r) => setImmediate(r));
        gc();
        send({ type: 'stats', memory: process.memoryUsage(), cpu: process.cpuUsage() });
      } else if (m.type === 'stop') {
        await net.stop();
        process.exit(0);
      }
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', config: net.thinClientConfig });
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
}

// ---- measurements -------------------------------------------------------------------------------

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PLAINTEXT_BYTES = 256;

export interface ThroughputFigure {
  clients: number;
  pairs: number;
  seconds: number;
  pairsPerSecond: number;
  /** Median and 99th percentile of one write+read pair, ms. */
  p50: number;
  p99: number;
  /** CPU the devnet process used, as a share of one core. */
  devnetCpu: number;
  /** CPU this (load-generating) process used, as a share of one core. */
  loadCpu: number;
}

async function openMany(ep: Endpoint, n: number): Promise<RawConnection[]> {
  const conns: RawConnection[] = [];
  for (let i = 0; i < n; i += 32) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(32, n - i) }, () => RawConnection.open(ep, { timeoutMs: 30_000 })),
    );
    conns.push(...batch);
  }
  return conns;
}

export async function measureThroughput(
  devnet: DevnetProcess,
  clients: number,
  seconds = SECONDS,
): Promise<ThroughputFigure> {
  const conns = await openMany(devnet.endpoint, clients);
  const channels = await Promise.all(conns.map((c) => newChannel(c)));
  // Warm-up: one pair per client.
  const indices = await Promise.all(
    conns.map(async (c, i) => {
      const ch = channels[i]!;
      const p = randomBytes(PLAINTEXT_BYTES);
      const next = await writeBox(c, ch.writeCap, ch.firstIndex, p);
      await readBox(c, ch.readCap, ch.firstIndex);
      return next;
    }),
  );
  const latencies: number[] = [];
  const before = await devnet.stats();
  const loadBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    conns.map(async (c, i) => {
      const ch = channels[i]!;
      let index = indices[i]!;
      const plaintext = randomBytes(PLAINTEXT_BYTES);
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const next = await writeBox(c, ch.writeCap, index, plaintext);
        const got = await readBox(c, ch.readCap, index);
        if (Buffer.compare(Buffer.from(got), plaintext) !== 0) throw new Error('read returned other bytes');
        latencies.push(performance.now() - t0);
        index = next;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const load = process.cpuUsage(loadBefore);
  const after = await devnet.stats();
  await Promise.all(conns.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  const pct = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const cpuOf = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) =>
    (b.user - a.user + b.system - a.system) / 1e6 / elapsed;
  return {
    clients,
    pairs: latencies.length,
    seconds: elapsed,
    pairsPerSecond: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    devnetCpu: cpuOf(before.cpu, after.cpu),
    loadCpu: (load.user + load.system) / 1e6 / elapsed,
  };
}

export interface MemoryFigure {
  boxes: number;
  bytesPerBox: number;
  heapPerBox: number;
  externalPerBox: number;
  maxPlaintext: number;
}

/** Writes `boxes` full-size boxes (64 at a time) into a fresh devnet and measures its growth. */
export async function measureMemoryPerBox(
  boxes = Number(process.env.BENCH_BOXES ?? 4000),
): Promise<MemoryFigure> {
  const devnet = await spawnDevnet('instant');
  try {
    const conns = await openMany(devnet.endpoint, 64);
    const maxPlaintext = Number(
      (conns[0]!.handshake.status.pigeonhole_geometry as Record<string, unknown>).MaxPlaintextPayloadLength,
    );
    // Warm every code path once, so lazily built state is in the baseline.
    const warm = await newChannel(conns[0]!);
    await writeBox(conns[0]!, warm.writeCap, warm.firstIndex, randomBytes(maxPlaintext));
    const base = await devnet.stats();
    let written = 0;
    await Promise.all(
      conns.map(async (c) => {
        const ch = await newChannel(c);
        let index = ch.firstIndex;
        while (written < boxes) {
          written++;
          index = await writeBox(c, ch.writeCap, index, randomBytes(maxPlaintext));
        }
      }),
    );
    await Promise.all(conns.map((c) => c.close()));
    await new Promise((r) => setTimeout(r, 200));
    const after = await devnet.stats();
    const heap = after.memory.heapUsed - base.memory.heapUsed;
    const external = after.memory.external - base.memory.external;
    return {
      boxes: written,
      bytesPerBox: (heap + external) / written,
      heapPerBox: heap / written,
      externalPerBox: external / written,
      maxPlaintext,
    };
  } finally {
    await devnet.stop();
  }
}

export async function run(): Promise<void> {
  console.log(
    `# devnet (instant profile): write+read pairs, ${PLAINTEXT_BYTES}-byte plaintexts, ${SECONDS} s per row`,
  );
  const devnet = await spawnDevnet('instant');
  try {
    console.log('clients   pairs/s    p50 ms    p99 ms   devnet CPU   load CPU');
    for (const clients of [1, 16, 256]) {
      const f = await measureThroughput(devnet, clients);
      console.log(
        `${String(clients).padStart(7)} ${f.pairsPerSecond.toFixed(0).padStart(9)} ${f.p50.toFixed(2).padStart(9)} ` +
          `${f.p99.toFixed(2).padStart(9)} ${`${(f.devnetCpu * 100).toFixed(0)}%`.padStart(12)} ${`${(f.loadCpu * 100).toFixed(0)}%`.padStart(10)}`,
      );
    }
  } finally {
    await devnet.stop();
  }
  const m = await measureMemoryPerBox();
  console.log(
    `memory per stored box: ${(m.bytesPerBox / 1024).toFixed(2)} KiB ` +
      `(heap ${(m.heapPerBox / 1024).toFixed(2)} KiB + external ${(m.externalPerBox / 1024).toFixed(2)} KiB; ` +
      `${m.boxes} boxes of ${m.maxPlaintext}-byte plaintexts, after GC)`,
  );
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const i = process.argv.indexOf('--devnet-child');
  if (i >= 0) {
    void childMain((process.argv[i + 1] as 'instant' | 'docker') ?? 'instant');
  } else {
    run().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}

/**
 * encryptWrite round trips through our ThinClient against the devnet's instant profile, beside two
 * baselines measured in the same run against the same devnet. Prints figures; not a test.
 *
 *   npx tsx bench/client.ts        (BENCH_LOOP_SECONDS=2 per loop, BENCH_ROUNDS=3)
 *
 * - ours:   ThinClient.encryptWrite(plaintext, writeCap, index), awaited one at a time, then 64 in flight;
 * - raw:    the same encrypt_write frames written straight to the socket (src/wire only: encode,
 *           frame, decode, match the query_id: test/fuzz/raw.ts), same two loops;
 * - python: the reference Python client (katzenpost-thinclient 0.0.23 from the venv of
 *           test/interop/python) doing the same loops (test/interop/python/bench_encrypt_write.py).
 * Each loop runs for a fixed time. Ours and raw alternate for BENCH_ROUNDS rounds and the median
 * is printed, so drift in the devnet (JIT warm-up, GC, a busy machine) hits both alike.
 *
 * encrypt_write costs the devnet several milliseconds of crypto, which hides most client
 * overhead; a second table repeats the loops with next_message_box_index, a request the devnet
 * answers almost for free, to show the client's own cost.
 *
 * The devnet runs in its own process (spawnDevnet from bench/devnet.ts), so no client under test
 * shares an event loop with the daemon. Targets: sequential raw/ours <= 1.5, ours faster than Python.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ThinClient } from '../src/client.js';
import { configToToml } from '../src/config.js';
import { newChannel, RawConnection } from '../test/fuzz/raw.js';
import { runPythonScript } from '../test/interop/python/env.js';
import { type DevnetProcess, spawnDevnet } from './devnet.js';

const LOOP_SECONDS = Number(process.env.BENCH_LOOP_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 64;
const PLAINTEXT_BYTES = 100;

type Op = 'encrypt_write' | 'next_message_box_index';

export interface Figure {
  /** ops/s, one at a time. */
  sequential: number;
  /** ops/s, 64 in flight. */
  concurrent: number;
  /** CPU time of the client process per op (µs), one at a time / 64 in flight: the client's own cost. */
  sequentialCpuUs: number;
  concurrentCpuUs: number;
}

const cpuUs = (c: NodeJS.CpuUsage) => c.user + c.system;

/** ops/s awaited one at a time for LOOP_SECONDS, then with CONCURRENCY in flight for LOOP_SECONDS. */
async function loops(one: () => Promise<unknown>): Promise<Figure> {
  for (let i = 0; i < 20; i++) await one();
  let count = 0;
  let cpu = process.cpuUsage();
  let t0 = performance.now();
  let deadline = t0 + LOOP_SECONDS * 1000;
  while (performance.now() < deadline) {
    await one();
    count++;
  }
  const sequential = count / ((performance.now() - t0) / 1000);
  const sequentialCpuUs = cpuUs(process.cpuUsage(cpu)) / count;
  count = 0;
  cpu = process.cpuUsage();
  t0 = performance.now();
  deadline = t0 + LOOP_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await one();
        count++;
      }
    }),
  );
  const concurrent = count / ((performance.now() - t0) / 1000);
  const concurrentCpuUs = cpuUs(process.cpuUsage(cpu)) / count;
  return { sequential, concurrent, sequentialCpuUs, concurrentCpuUs };
}

export async function measureOurs(devnet: DevnetProcess, op: Op): Promise<Figure> {
  const client = await ThinClient.connect(devnet.config);
  try {
    const { writeCap, firstMessageIndex } = await client.newKeypair(randomBytes(32));
    const plaintext = randomBytes(PLAINTEXT_BYTES);
    if (op === 'encrypt_write') {
      return await loops(async () => {
        const w = await client.encryptWrite(plaintext, writeCap, firstMessageIndex);
        if (w.envelopeHash.length !== 32) throw new Error('bad envelope hash');
      });
    }
    return await loops(async () => {
      const next = await client.nextMessageBoxIndex(firstMessageIndex);
      if (next.length !== 104) throw new Error('bad index');
    });
  } finally {
    await client.close();
  }
}

export async function measureRaw(devnet: DevnetProcess, op: Op): Promise<Figure> {
  const conn = await RawConnection.open(devnet.endpoint);
  try {
    const ch = await newChannel(conn);
    const plaintext = randomBytes(PLAINTEXT_BYTES);
    if (op === 'encrypt_write') {
      return await loops(async () => {
        const r = await conn.request('encrypt_write', {
          plaintext,
          write_cap: ch.writeCap,
          message_box_index: ch.firstIndex,
        });
        if (r.key !== 'encrypt_write_reply' || r.body.envelope_hash?.length !== 32)
          throw new Error('bad reply');
      });
    }
    return await loops(async () => {
      const r = await conn.request('next_message_box_index', { message_box_index: ch.firstIndex });
      if (r.key !== 'next_message_box_index_reply' || r.body.next_message_box_index?.length !== 104)
        throw new Error('bad reply');
    });
  } finally {
    await conn.close();
  }
}

export async function measurePython(devnet: DevnetProcess, op: Op): Promise<Figure> {
  const dir = await mkdtemp(join(tmpdir(), 'kp-bench-'));
  try {
    const toml = join(dir, 'thinclient.toml');
    await writeFile(toml, configToToml(devnet.config));
    const run = await runPythonScript<Figure>(
      'bench_encrypt_write.py',
      [toml, op, String(LOOP_SECONDS), String(CONCURRENCY), String(PLAINTEXT_BYTES)],
      { timeoutMs: 120_000 + LOOP_SECONDS * 4000 },
    );
    if (!run.result)
      throw new Error(`python benchmark failed (exit ${run.exitCode}):\n${run.stderr.slice(-3000)}`);
    return run.result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface ClientFigures {
  op: Op;
  ours: Figure;
  raw: Figure;
  python: Figure | undefined;
}

export async function compare(devnet: DevnetProcess, op: Op): Promise<ClientFigures> {
  const ours: Figure[] = [];
  const raw: Figure[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always meets a colder or warmer devnet.
    if (round % 2 === 0) {
      raw.push(await measureRaw(devnet, op));
      ours.push(await measureOurs(devnet, op));
    } else {
      ours.push(await measureOurs(devnet, op));
      raw.push(await measureRaw(devnet, op));
    }
  }
  let python: Figure | undefined;
  try {
    python = await measurePython(devnet, op);
  } catch (err) {
    console.log(`python baseline unavailable: ${(err as Error).message.split('\n')[0]}`);
  }
  const med = (fs: Figure[]): Figure => ({
    sequential: median(fs.map((f) => f.sequential)),
    concurrent: median(fs.map((f) => f.concurrent)),
    sequentialCpuUs: median(fs.map((f) => f.sequentialCpuUs)),
    concurrentCpuUs: median(fs.map((f) => f.concurrentCpuUs)),
  });
  return { op, ours: med(ours), raw: med(raw), python };
}

function print(f: ClientFigures): void {
  const cell = (v: number | undefined, w: number) => (v === undefined ? '—' : v.toFixed(0)).padStart(w);
  console.log(`${f.op}:`);
  console.log(
    `  ${'client'.padEnd(24)} ${'seq ops/s'.padStart(10)} ${`${CONCURRENCY}-conc ops/s`.padStart(14)}` +
      `   client CPU µs/op: seq ${`${CONCURRENCY}-conc`.padStart(8)}`,
  );
  for (const [name, x] of [
    ['ThinClient (ours)', f.ours],
    ['raw frames (src/wire)', f.raw],
    ['Python 0.0.23', f.python],
  ] as const) {
    console.log(
      `  ${name.padEnd(24)} ${cell(x?.sequential, 10)} ${cell(x?.concurrent, 14)}` +
        `${cell(x?.sequentialCpuUs, 24)} ${cell(x?.concurrentCpuUs, 8)}`,
    );
  }
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const seqRatio = f.raw.sequential / f.ours.sequential;
  console.log(
    `  raw/ours: sequential ${ratio(f.raw.sequential, f.ours.sequential)} (target <= 1.50x: ${
      seqRatio <= 1.5 ? 'met' : 'MISSED'
    }), concurrent ${ratio(f.raw.concurrent, f.ours.concurrent)}`,
  );
  console.log(
    `  client CPU per op, ours/raw: sequential ${ratio(f.ours.sequentialCpuUs, f.raw.sequentialCpuUs)}, ` +
      `concurrent ${ratio(f.ours.concurrentCpuUs, f.raw.concurrentCpuUs)}` +
      (f.python
        ? `; python/ours: sequential ${ratio(f.python.sequentialCpuUs, f.ours.sequentialCpuUs)}, ` +
          `concurrent ${ratio(f.python.concurrentCpuUs, f.ours.concurrentCpuUs)}`
        : ''),
  );
  if (f.python) {
    console.log(
      `  ours/python: sequential ${ratio(f.ours.sequential, f.python.sequential)} (target > 1x: ${
        f.ours.sequential > f.python.sequential ? 'met' : 'MISSED'
      }), concurrent ${ratio(f.ours.concurrent, f.python.concurrent)}`,
    );
  }
}

export async function run(): Promise<ClientFigures[]> {
  console.log(
    `# client round trips against the devnet (instant, own process): ${LOOP_SECONDS} s per loop, ` +
      `median of ${ROUNDS} alternating rounds for ours/raw, one Python run; ${PLAINTEXT_BYTES}-byte plaintext`,
  );
  const devnet = await spawnDevnet('instant');
  const out: ClientFigures[] = [];
  try {
    for (const op of ['encrypt_write', 'next_message_box_index'] as const) {
      const f = await compare(devnet, op);
      print(f);
      out.push(f);
    }
  } finally {
    await devnet.stop();
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

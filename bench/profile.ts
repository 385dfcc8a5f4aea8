/**
 * CPU profile of one request kind against the instant devnet (own process): nextMessageBoxIndex
 * (the cheapest) or, with BENCH_PROFILE_OP=encrypt_write, encryptWrite; BENCH_PROFILE_OPS (20,000)
 * calls one at a time, then the top self-time functions of the client process. Not a test.
 *
 *   node --cpu-prof --cpu-prof-dir=bench/results/profile --import tsx bench/profile.ts
 *   npx tsx bench/profile.ts --summarize bench/results/profile/<file>.cpuprofile
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ThinClient } from '../src/index.js';
import { spawnDevnet } from './devnet.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name + file:line), largest first, as shares of the sampled busy time. */
export function summarize(path: string, top = 15): string[] {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const dt = p.timeDeltas[i] ?? 0;
    if (f.functionName === '(idle)' || f.functionName === '(program)') return;
    busy += dt;
    const file = f.url.replace(/^.*\/(node_modules|wt-perf|main)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
}

if (process.argv[2] === '--summarize') {
  for (const line of summarize(process.argv[3]!)) console.log(line);
} else {
  const ops = Number(process.env.BENCH_PROFILE_OPS ?? 20_000);
  const devnet = await spawnDevnet('instant');
  const client = await ThinClient.connect(devnet.config);
  const { writeCap, firstMessageIndex } = await client.newKeypair(randomBytes(32));
  const encryptWrite = process.env.BENCH_PROFILE_OP === 'encrypt_write';
  const plaintext = randomBytes(100);
  const one = encryptWrite
    ? () => client.encryptWrite(plaintext, writeCap, firstMessageIndex)
    : () => client.nextMessageBoxIndex(firstMessageIndex);
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < ops; i++) await one();
  const used = process.cpuUsage(cpu);
  console.log(
    `${encryptWrite ? 'encryptWrite' : 'nextMessageBoxIndex'} x${ops}: ${((ops * 1000) / (performance.now() - t)).toFixed(0)} ops/s, ` +
      `client CPU ${((used.user + used.system) / ops).toFixed(0)} µs/op`,
  );
  await client.close();
  await devnet.stop();
  process.exit(0);
}

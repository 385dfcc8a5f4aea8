/**
 * Runs every benchmark in turn and prints its figures (npm run bench). Each one also runs alone:
 *   npx tsx bench/devnet.ts
 *   npx tsx bench/client.ts
 * Figures depend on the machine and on whatever else runs on it: the header prints the core count
 * and the load average so that a busy machine is visible in the output.
 */
import { cpus, loadavg } from 'node:os';
import { run as client } from './client.js';
import { run as devnet } from './devnet.js';

const started = performance.now();
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores, load ${load()}\n`,
);
await devnet();
console.log('');
await client();
console.log(`\n(all benchmarks: ${((performance.now() - started) / 1000).toFixed(1)} s; load now ${load()})`);
process.exit(0);

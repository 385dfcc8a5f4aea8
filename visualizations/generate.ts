/**
 * Writes visualizations/<machine>.md: a Mermaid statechart of every machine, which GitHub renders.
 *   npx tsx visualizations/generate.ts          (re)write the files
 *   npx tsx visualizations/generate.ts --check  exit 1 if any file is stale
 * test/unit/visualizations.test.ts runs the check inside `npm test`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { machineToMermaid } from './diagram.js';
import { MACHINES } from './machines.js';

export function renderMachineDoc(name: string): string {
  const entry = MACHINES[name];
  if (!entry) throw new Error(`unknown machine ${name}`);
  return [
    `# ${entry.title}`,
    '',
    `Generated from \`machines/${name}.ts\` by \`visualizations/generate.ts\`; do not edit by hand.`,
    '',
    '```mermaid',
    machineToMermaid(entry.machine),
    '```',
    '',
  ].join('\n');
}

export const docPath = (name: string) => new URL(`./${name}.md`, import.meta.url);

if (process.argv[1]?.endsWith('generate.ts')) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const name of Object.keys(MACHINES)) {
    const text = renderMachineDoc(name);
    const current = await readFile(docPath(name), 'utf8').catch(() => '');
    if (current === text) continue;
    if (check) {
      console.error(`stale: visualizations/${name}.md`);
      stale++;
    } else {
      await writeFile(docPath(name), text);
      console.log(`wrote visualizations/${name}.md`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

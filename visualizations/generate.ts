/**
 * Writes, for every machine in visualizations/machines.ts, visualizations/<machine>.md (a Mermaid
 * statechart, which GitHub renders) and visualizations/<machine>.svg (Graphviz, from the DOT export).
 *   npm run diagrams                             (re)write the files, delete diagrams of removed machines
 *   npx tsx visualizations/generate.ts --check   exit 1 if any file is stale, missing or left over
 * test/unit/visualizations.test.ts makes the same comparison inside `npm test`.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { machineToDot } from './dot.js';
import { MACHINES } from './machines.js';
import { machineToMermaid } from './mermaid.js';
import { renderSvg } from './svg.js';

const here = new URL('./', import.meta.url);
export const diagramPath = (file: string) => new URL(file, here);

function machineEntry(name: string) {
  const entry = MACHINES[name];
  if (!entry) throw new Error(`unknown machine ${name}`);
  return entry;
}

export function renderMachineDoc(name: string): string {
  const entry = machineEntry(name);
  return [
    `# ${entry.title}`,
    '',
    `Generated from \`machines/${name}.ts\` by \`npm run diagrams\`; do not edit by hand.`,
    '',
    `![${name} statechart](${name}.svg)`,
    '',
    '```mermaid',
    machineToMermaid(entry.machine),
    '```',
    '',
  ].join('\n');
}

export const renderMachineSvg = (name: string): Promise<string> =>
  renderSvg(name, machineToDot(machineEntry(name).machine));

/** Every file the generator owns, by name in visualizations/, with the text it should hold. */
export async function expectedDiagrams(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of Object.keys(MACHINES)) {
    files.set(`${name}.md`, renderMachineDoc(name));
    files.set(`${name}.svg`, await renderMachineSvg(name));
  }
  return files;
}

/** Diagram files in visualizations/ that no machine produces (its machine was removed or renamed). */
export async function leftoverDiagrams(expected: Map<string, string>): Promise<string[]> {
  const present = await readdir(here);
  return present.filter((file) => /\.(md|svg)$/.test(file) && !expected.has(file)).sort();
}

if (process.argv[1]?.endsWith('generate.ts')) {
  const check = process.argv.includes('--check');
  const expected = await expectedDiagrams();
  let stale = 0;
  for (const [file, text] of expected) {
    const current = await readFile(diagramPath(file), 'utf8').catch(() => undefined);
    if (current === text) continue;
    if (check) {
      console.error(`${current === undefined ? 'missing' : 'stale'}: visualizations/${file}`);
      stale++;
    } else {
      await writeFile(diagramPath(file), text);
      console.log(`wrote visualizations/${file}`);
    }
  }
  for (const file of await leftoverDiagrams(expected)) {
    if (check) {
      console.error(`left over: visualizations/${file}`);
      stale++;
    } else {
      await rm(diagramPath(file));
      console.log(`deleted visualizations/${file}`);
    }
  }
  if (check && stale > 0) console.error('run `npm run diagrams` and commit the result');
  process.exitCode = stale ? 1 : 0;
}

/**
 * Rewrites every example quote in README.md and docs/ from the file it names (see exampleFiles.ts):
 *
 *   npx tsx test/examples/syncDocs.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docFiles, fileText, MARKER, ROOT } from './exampleFiles.js';

for (const doc of docFiles()) {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    out.push(line);
    const m = MARKER.exec(line);
    if (!m) continue;
    // Drop the old block, if any, and write the file's text in its place.
    if (lines[i + 1]?.startsWith('```')) {
      const close = lines.indexOf('```', i + 2);
      if (close !== -1) i = close;
    }
    out.push('```ts', ...fileText(m[1]!).replace(/\n$/, '').split('\n'), '```');
  }
  const text = out.join('\n');
  if (text !== lines.join('\n')) {
    writeFileSync(join(ROOT, doc), text);
    console.log(`updated ${doc}`);
  }
}

/**
 * The example files and the places the docs quote them. A quote is a marker line naming the file,
 * then a fenced block holding the file's text exactly:
 *
 *   <!-- example: examples/guide/04-channel-write-read.ts -->
 *   ```ts
 *   …the whole file…
 *   ```
 *
 * `npx tsx test/examples/syncDocs.ts` rewrites every quote from its file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Example files that other examples import; they are quoted but not run on their own. */
export const HELPERS = ['examples/guide/daemon.ts'];

/** Folders of examples/ owned by other pages (the browser bundle has its own test). */
const NOT_GUIDE = ['examples/browser/'];

/** Every file under `dir` (relative to the root); none when `dir` does not exist. */
function walk(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    return entry.isDirectory() ? walk(path) : [path];
  });
}

/** Every example file under examples/, relative to the repository root, sorted. */
export function exampleFiles(): string[] {
  return walk('examples')
    .filter((path) => path.endsWith('.ts'))
    .filter((path) => !NOT_GUIDE.some((prefix) => path.startsWith(prefix)))
    .sort();
}

/** The examples that run as programs. */
export function runnableExamples(): string[] {
  return exampleFiles().filter((path) => !HELPERS.includes(path));
}

/** Markdown files that may quote examples: README.md and everything under docs/ except docs/api/. */
export function docFiles(): string[] {
  const docs = walk('docs').filter((path) => path.endsWith('.md') && !path.startsWith('docs/api/'));
  return ['README.md', ...docs].sort();
}

export interface Quote {
  doc: string;
  file: string;
  /** The fenced block's text (without the fences), or undefined when the marker has no block after it. */
  text: string | undefined;
}

export const MARKER = /^<!-- example: (\S+) -->$/;

/** Every quote in `doc`. */
export function quotesIn(doc: string): Quote[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const quotes: Quote[] = [];
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (!m) return;
    const open = lines[i + 1];
    const close = open?.startsWith('```') ? lines.indexOf('```', i + 2) : -1;
    const text = close === -1 ? undefined : `${lines.slice(i + 2, close).join('\n')}\n`;
    quotes.push({ doc, file: m[1]!, text });
  });
  return quotes;
}

export function allQuotes(): Quote[] {
  return docFiles().flatMap(quotesIn);
}

export function fileText(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/** Example files that no doc quotes. */
export function unquotedExamples(): string[] {
  const quoted = new Set(allQuotes().map((q) => q.file));
  return exampleFiles().filter((file) => !quoted.has(file));
}

/** Quotes whose block differs from the file they name (or that name no file). */
export function staleQuotes(): string[] {
  return allQuotes()
    .filter((q) => {
      try {
        return q.text !== fileText(q.file);
      } catch {
        return true;
      }
    })
    .map((q) => `${q.doc} quotes ${q.file}`);
}

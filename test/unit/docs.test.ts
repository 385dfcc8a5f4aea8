/**
 * The documentation keeps up with the code: every error class and code is explained in
 * docs/troubleshooting.md, every daemon and replica code has its row, every example is quoted
 * exactly, the README's figures are the benchmark report's, and every relative link resolves.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as devnetEntry from '../../src/devnet/index.js';
import * as mainEntry from '../../src/index.js';
import * as sqliteEntry from '../../src/sqlite.js';
import { replicaCodeString, thinCodeString } from '../../src/wire/errorCodes.js';
import { docFiles, ROOT, staleQuotes, unquotedExamples } from '../examples/exampleFiles.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const troubleshooting = read('docs/troubleshooting.md');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
const sources = [...sourceFiles('src'), ...sourceFiles('actors'), ...sourceFiles('machines')]
  .filter((path) => !path.startsWith('src/devnet/'))
  .map((path) => read(path));

/** The rows of the table under `heading` (up to the next heading), keyed by their first cell. */
function tableRows(heading: string): Map<string, string> {
  const at = troubleshooting.indexOf(`\n${heading}\n`);
  expect(at, `docs/troubleshooting.md has a "${heading}" section`).toBeGreaterThan(-1);
  const section = troubleshooting.slice(at + heading.length + 2).split(/\n#/)[0]!;
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length > 2 && /^\d+$/.test(cells[1]!)) rows.set(cells[1]!, line);
  }
  return rows;
}

describe('docs/troubleshooting.md', () => {
  it('names every error class the entry points export', () => {
    const exported = [mainEntry, sqliteEntry, devnetEntry].flatMap((entry) =>
      Object.entries(entry)
        .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
        .map(([name]) => name),
    );
    expect(exported).toContain('TombstoneError');
    expect(exported.filter((name) => !troubleshooting.includes(`\`${name}\``))).toEqual([]);
  });

  it('names every ThinClientError subclass in the source, exported or not', () => {
    const declared = sources.flatMap((text) =>
      [...text.matchAll(/^(?:export )?class (\w+) extends (?:ThinClientError|errorWithDefaults)\b/gm)].map(
        (m) => m[1]!,
      ),
    );
    expect(declared).toContain('TimeoutError');
    expect(declared.filter((name) => !troubleshooting.includes(`\`${name}\``))).toEqual([]);
  });

  it('explains every error code string the source uses', () => {
    const codes = new Set(
      sources.flatMap((text) => [...text.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!)),
    );
    expect(codes.size).toBeGreaterThan(20);
    expect([...codes].filter((code) => !troubleshooting.includes(`\`${code}\``))).toEqual([]);
  });

  it('has a row for every daemon error code, with the name the wire layer gives it', () => {
    const rows = tableRows('## Daemon error codes');
    const known = Array.from({ length: 256 }, (_, n) => n).filter(
      (n) => !thinCodeString(n).startsWith('Unknown'),
    );
    expect(known.length).toBeGreaterThan(30);
    for (const n of known)
      expect(rows.get(String(n)), `daemon code ${n}`).toContain(`| ${thinCodeString(n)} |`);
  });

  it('has a row for every replica error code, with the name the wire layer gives it', () => {
    const rows = tableRows('## Replica error codes');
    const known = Array.from({ length: 256 }, (_, n) => n).filter(
      (n) => !replicaCodeString(n).startsWith('Unknown'),
    );
    expect(known.length).toBe(12);
    for (const n of known) {
      expect(rows.get(String(n)), `replica code ${n}`).toContain(`| ${replicaCodeString(n)} |`);
    }
  });
});

/** The anchors GitHub gives the headings of a Markdown file. */
function anchors(path: string): Set<string> {
  const slugs = read(path)
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) =>
      line
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  return new Set(slugs);
}

describe('README.md and docs/', () => {
  it('quote every example, each quote equal to its file (npx tsx test/examples/syncDocs.ts)', () => {
    expect(unquotedExamples()).toEqual([]);
    expect(staleQuotes()).toEqual([]);
  });

  it('quote the benchmark figures exactly as bench/REPORT.md has them', () => {
    const report = read('bench/REPORT.md');
    const block = /<!-- bench\/REPORT\.md -->\n```\n([\s\S]*?)\n```/.exec(read('README.md'));
    expect(block, 'README.md has a <!-- bench/REPORT.md --> block').not.toBeNull();
    const lines = block![1]!.split('\n').filter((line) => line.trim() !== '' && line.trim() !== '…');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.filter((line) => !report.includes(line))).toEqual([]);
  });

  it('link only to files that exist, and never outside the repository', () => {
    const broken: string[] = [];
    for (const doc of docFiles()) {
      const text = read(doc);
      if (/\bshared\//.test(text)) broken.push(`${doc}: names shared/`);
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (/^[a-z]+:/.test(target)) continue;
        const path = target === '' ? doc : join(dirname(doc), target);
        if (!existsSync(join(ROOT, path))) broken.push(`${doc}: ${m[1]}`);
        const anchor = m[1]!.split('#')[1];
        if (anchor && path.endsWith('.md') && !anchors(path).has(anchor)) broken.push(`${doc}: ${m[1]}`);
        if (path.endsWith('.md') && existsSync(join(ROOT, path)) && /\bshared\//.test(read(path))) {
          broken.push(`${doc} links to ${path}, which names shared/`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const register = pathToFileURL(join(root, 'test/fixtures/no-sqlite-register.mjs')).href;
let out: string;

function run(script: string) {
  const file = join(out, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  return spawnSync(process.execPath, ['--import', register, file], { encoding: 'utf8' });
}

describe('on a machine without better-sqlite3', () => {
  beforeAll(() => {
    // Inside node_modules/.cache so that the build resolves the project's other dependencies.
    mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
    out = mkdtempSync(join(root, 'node_modules/.cache/no-sqlite-'));
    execFileSync(process.execPath, [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      out,
    ]);
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('the main and devnet entries load and construct their objects', () => {
    const r = run(`
      const main = await import(${JSON.stringify(pathToFileURL(join(out, 'src/index.js')).href)});
      await import(${JSON.stringify(pathToFileURL(join(out, 'src/devnet/index.js')).href)});
      new main.MemoryCheckpointStore();
      if (typeof main.ThinClient.connect !== 'function') throw new Error('no ThinClient');
      if (typeof main.encodeChannelShare !== 'function' || !main.ChannelBusyError) throw new Error('no channel share helpers');
      console.log('ok');
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('the sqlite entry fails to load, naming better-sqlite3', () => {
    const r = run(`await import(${JSON.stringify(pathToFileURL(join(out, 'src/sqlite.js')).href)});`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Cannot find package 'better-sqlite3'");
  });
});

/// <reference lib="dom" />
/**
 * The inspector page in a real browser: the demo (`examples/alice-bob.ts --inspect`) runs against
 * a devnet of this test, headless Chromium (the system's, driven by playwright-core) opens the
 * page, and the test reads the tree as a user of assistive technology would (roles, levels, states).
 * Then the socket to the devnet daemon drops under the demo's read in flight, and the page shows its
 * resync; then the daemon restarts, and the page shows the replay.
 *
 * Skips, saying why, where no Chromium is installed and CI is not set; in CI it runs or fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToToml } from '../../src/config.js';
import { type Devnet, startDevnet } from '../../src/devnet/index.js';
import { requireChromium, skipWithoutChromium } from '../helpers/chromium.js';

const skip = skipWithoutChromium('inspector browser test');

describe.skipIf(skip)('the inspector page in headless Chromium', () => {
  let net: Devnet;
  let dir: string;
  let demo: ChildProcess;
  let browser: Browser;
  let page: Page;
  let output = '';

  beforeAll(async () => {
    const executablePath = requireChromium();
    net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', authorityScheme: 'Ed25519' });
    dir = await mkdtemp(join(tmpdir(), 'inspector-'));
    const config = join(dir, 'thinclient.toml');
    await writeFile(config, configToToml(net.thinClientConfig));
    demo = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/alice-bob.ts', '--inspect', '--config', config],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    demo.stdout!.setEncoding('utf8').on('data', (c: string) => {
      output += c;
    });
    demo.stderr!.setEncoding('utf8').on('data', (c: string) => {
      output += c;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const look = () => {
        const m = /inspector: (http:\/\/\S+)/.exec(output);
        if (m) resolve(m[1]!);
      };
      demo.stdout!.on('data', look);
      demo.once('exit', (code) => reject(new Error(`the demo exited (${code}) before serving:\n${output}`)));
    });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
  });

  afterAll(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGINT');
      await exited;
    }
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const op = (kind: string, phase: string) =>
    page.locator(`[role="treeitem"][data-kind="${kind}"][data-phase="${phase}"]`);

  it('shows the actor tree, each operation with its kind and lifecycle, and a done write', async () => {
    await op('write', 'done').first().waitFor();
    await op('read', 'done').first().waitFor();
    const tree = page.getByRole('tree');
    const client = tree.locator('[role="treeitem"][aria-level="1"]');
    await expect.poll(() => client.count()).toBe(1);
    expect(await client.getAttribute('data-id')).toBe('client');
    expect(await client.getAttribute('aria-expanded')).toBe('true');
    const level2 = await tree
      .locator('[role="treeitem"][aria-level="2"]')
      .evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.id));
    expect(level2).toEqual(expect.arrayContaining(['connection', 'registry']));
    expect(level2.some((id) => id?.startsWith('op:'))).toBe(true);
    expect(level2.some((id) => id?.startsWith('req:'))).toBe(true);
    // Roving tabindex: exactly one item is in the tab order.
    expect(await tree.locator('[role="treeitem"][tabindex="0"]').count()).toBe(1);

    const write = op('write', 'done').first();
    const states = await write.locator('.step .state').allTextContents();
    expect(states).toEqual(['awaiting', 'done']);
    for (const time of await write.locator('.step .time').allTextContents())
      expect(time).toMatch(/^([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}$/);
    expect(await write.locator('.step .event').allTextContents()).toContain('op.reply');
    const kinds = await tree
      .locator('[role="treeitem"]')
      .evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.kind));
    expect(kinds).toEqual(expect.arrayContaining(['local request', 'write', 'read']));
  });

  it('moves with the arrow keys and collapses with ArrowLeft', async () => {
    await page.locator('[role="treeitem"][tabindex="0"]').focus();
    await page.keyboard.press('Home');
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLElement).dataset.id))
      .toBe('client');
    await page.keyboard.press('ArrowDown');
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-level')))
      .toBe('2');
    await page.keyboard.press('ArrowLeft'); // to the parent
    await page.keyboard.press('ArrowLeft'); // collapse it
    await expect.poll(() => page.locator('[data-id="client"]').getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('[role="treeitem"][aria-level="2"]').count()).toBe(0);
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.locator('[data-id="client"]').getAttribute('aria-expanded')).toBe('true');
  });

  it('filters by kind and hides finished operations', async () => {
    await page.getByLabel('hide finished').check();
    await expect.poll(() => op('write', 'done').count()).toBe(0);
    expect(await op('read', 'active').count()).toBe(1);
    await page.getByLabel('hide finished').uncheck();
    await page.locator('input[name="kind"][value="write"]').uncheck();
    await expect.poll(() => page.locator('[role="treeitem"][data-kind="write"]').count()).toBe(0);
    expect(await op('read', 'done').count()).toBeGreaterThan(0);
    await page.locator('input[name="kind"][value="write"]').check();
  });

  it('shows the resync of the read in flight when the socket to the same daemon drops', async () => {
    const pending = op('read', 'active');
    await pending.waitFor();
    const id = await pending.getAttribute('data-id');
    net.dropConnections();
    const read = page.locator(`[data-id="${id}"]`);
    await read.locator('.resyncs').waitFor({ timeout: 20_000 });
    expect(await read.locator('.resyncs').textContent()).toBe('resynced ×1');
    await expect
      .poll(() => read.locator('.step .state').allTextContents())
      .toEqual(['awaiting', 'paused', 'resyncing', 'awaiting']);
    expect(await read.locator('.replays').count()).toBe(0);
  });

  it('shows the replay of the read in flight when the daemon restarts, then its end', async () => {
    const pending = op('read', 'active');
    await pending.waitFor();
    const id = await pending.getAttribute('data-id');
    await net.restartDaemon();
    const read = page.locator(`[data-id="${id}"]`);
    await read.locator('.replays').waitFor({ timeout: 20_000 });
    expect(await read.locator('.replays').textContent()).toBe('replayed ×1');
    expect(await read.locator('.step .event').allTextContents()).toEqual(
      expect.arrayContaining(['op.pause', 'op.replay']),
    );
    demo.stdin!.write('after the restart\n');
    await page.locator(`[data-id="${id}"][data-phase="done"]`).waitFor({ timeout: 20_000 });
    expect(await read.locator('.step .state').allTextContents()).toEqual([
      'awaiting',
      'paused',
      'resyncing',
      'awaiting',
      'paused',
      'awaiting',
      'done',
    ]);
    await expect.poll(() => output).toContain('Bob read: after the restart');
    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/inspector.png', fullPage: true });
  });
});

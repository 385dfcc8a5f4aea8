/// <reference lib="dom" />
/**
 * The client in a real browser: the browser bundle (built here), the example page (examples/browser/)
 * served over HTTP, a devnet with a ws:// listener that allows the page's origin, and headless Chromium
 * (the system's, driven by playwright-core) submitting the page's form. The page writes one box and
 * reads it back; the test waits for the plaintext and reads the states each operation went through.
 *
 * Skips, saying why, where no Chromium is installed and CI is not set; in CI it runs or fails.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleServer, serveExample } from '../../examples/browser/serve.js';
import { buildBrowserBundle } from '../../scripts/buildBrowser.js';
import { type Devnet, startDevnet } from '../../src/devnet/index.js';
import { requireChromium, skipWithoutChromium } from '../helpers/chromium.js';

const skip = skipWithoutChromium('browser test');

describe.skipIf(skip)('the example page in headless Chromium', () => {
  let dir: string;
  let site: ExampleServer;
  let net: Devnet;
  let browser: Browser;
  let page: Page;
  const consoleLines: string[] = [];

  beforeAll(async () => {
    const executablePath = requireChromium();
    dir = await mkdtemp(join(tmpdir(), 'browser-'));
    const bundle = join(dir, 'katzenpost-thin-client.js');
    await buildBrowserBundle({ outfile: bundle });
    site = await serveExample({ bundle });
    net = await startDevnet({
      listen: 'ws://127.0.0.1:0',
      allowedOrigins: [site.origin],
      profile: 'instant',
      authorityScheme: 'Ed25519',
    });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await net?.stop();
    await site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const statesOf = (name: string) =>
    page.locator(`tr[data-operation="${name}"]`).getAttribute('data-states', { timeout: 1000 });

  it('writes a box through the daemon’s WebSocket and reads the same plaintext back', async () => {
    const query = new URLSearchParams({ daemon: net.address, message: 'hello from Chromium', run: '1' });
    await page.goto(`${site.origin}/?${query}`);
    const result = page.locator('output#result');
    await result.and(page.locator('[data-plaintext], [data-error]')).waitFor({ timeout: 30_000 });
    expect(await result.getAttribute('data-error'), consoleLines.join('\n')).toBeNull();
    expect(await result.getAttribute('data-plaintext')).toBe('hello from Chromium');
    await expect.poll(() => result.textContent()).toBe('read back: hello from Chromium');

    for (const name of ['connect', 'newKeypair', 'encryptWrite', 'encryptRead'])
      expect(await statesOf(name)).toBe('started done');
    // The ARQ operations as their actors went: transmitted, awaited the reply, done.
    expect(await statesOf('write box')).toBe('started sending awaiting done');
    expect(await statesOf('read box')).toBe('started sending awaiting done');

    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/browser-example.png', fullPage: true });
  });

  it('is refused by the daemon when the page’s origin is not allowed', async () => {
    // localhost and 127.0.0.1 are different origins: the devnet allows only the latter.
    const other = site.origin.replace('127.0.0.1', 'localhost');
    const query = new URLSearchParams({ daemon: net.address, run: '1' });
    await page.goto(`${other}/?${query}`);
    const result = page.locator('output#result');
    await result.and(page.locator('[data-plaintext], [data-error]')).waitFor({ timeout: 30_000 });
    expect(await result.getAttribute('data-error')).toMatch(
      /^NotConnectedError: cannot connect to kpclientd/,
    );
    expect(await statesOf('connect')).toMatch(/^started failed: /);
  });

  it('rejects a unix or TCP dial with a ConfigError, and has no loadConfig', async () => {
    await page.goto(`${site.origin}/`);
    // A string, so that the test runner's transform leaves the page's dynamic import alone.
    const outcome = (await page.evaluate(`(async () => {
      const m = await import('./katzenpost-thin-client.js');
      const refusals = [];
      for (const toml of ['[Dial.Tcp]\\nAddress = "127.0.0.1:1"', '[Dial.Unix]\\nAddress = "/run/kp.sock"']) {
        try {
          await m.ThinClient.connect(m.parseConfig(toml));
        } catch (e) {
          refusals.push(e.name + ' ' + e.code + ': ' + e.message);
        }
      }
      return { refusals, hasLoadConfig: 'loadConfig' in m };
    })()`)) as { refusals: string[]; hasLoadConfig: boolean };
    expect(outcome.refusals).toEqual([
      "ConfigError ERR_CONFIG: a browser cannot dial [Dial.Tcp]: use [Dial.Ws] with the address of kpclientd's WebSocket listener",
      "ConfigError ERR_CONFIG: a browser cannot dial [Dial.Unix]: use [Dial.Ws] with the address of kpclientd's WebSocket listener",
    ]);
    expect(outcome.hasLoadConfig).toBe(false);
  });
});

/**
 * Nothing the browser entry imports needs Node. The protocol, wire, crypto and machine layers bundle
 * for the browser as they are; the facade (src/browser.ts: ThinClient, its session, actors/) does with
 * its `.browser.ts` twins swapped in. A Node builtin anywhere in the graph fails the build, naming the
 * importer; a Node global (Buffer, process, …) in our own code shows in the bundle.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserBuildOptions, buildBrowserBundle, noNodeBuiltins, ROOT } from '../../scripts/buildBrowser.js';

const NODE_GLOBALS = [
  'Buffer',
  'process',
  'global',
  'setImmediate',
  'clearImmediate',
  '__dirname',
  '__filename',
  'require',
];
const LAYERS = [
  'src/protocol/index.ts',
  'src/wire/index.ts',
  'src/crypto/index.ts',
  'machines/arq.ts',
  'machines/client.ts',
  'machines/connection.ts',
  'machines/copyStream.ts',
  'machines/registry.ts',
  'machines/window.ts',
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Builds for the browser without the twins; rejects naming any Node builtin import. */
const bundleAsIs = (entry: string) =>
  build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });

describe('the browser bundle', () => {
  it.each(LAYERS)('%s bundles for the browser without any twin', async (layer) => {
    await expect(bundleAsIs(join(ROOT, layer))).resolves.toBeDefined();
  });

  it('refuses a Node builtin, naming the file that imports it', async () => {
    const entry = join(dir, 'uses-fs.ts');
    await writeFile(entry, "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
    await expect(bundleAsIs(entry)).rejects.toThrow(/uses-fs\.ts imports the Node builtin "node:fs"/);
  });

  it('holds the facade (client, session, actors) and none of the Node-only modules', async () => {
    const outfile = join(dir, 'bundle.js');
    const metafile = await buildBrowserBundle({ outfile });
    const inputs = Object.keys(metafile.inputs);
    for (const held of [
      'src/client.ts',
      'src/facade/vouchers.ts',
      'src/facade/transfers.ts',
      'src/facade/boxes.ts',
      'src/facade/services.ts',
      'src/clientSession.ts',
      'actors/wiring.ts',
      'actors/transport.ts',
      'actors/dialers/browser.ts',
      'src/platform/files.browser.ts',
    ])
      expect(inputs).toContain(held);
    for (const absent of [
      'actors/dialers/node.ts',
      'actors/dialers/net.ts',
      'src/platform/files.ts',
      'src/platform/signals.ts',
      'src/platform/dialable.ts',
    ])
      expect(inputs).not.toContain(absent);
    expect(inputs.filter((file) => file.includes('node_modules/ws/'))).toEqual([]);
  });

  it('leaves no Node global in our own code', async () => {
    // Every free reference to a Node global becomes a marker; references in node_modules stay out.
    const define = Object.fromEntries(NODE_GLOBALS.map((name) => [name, `NODE_GLOBAL_${name}`]));
    const result = await build({
      ...browserBuildOptions(),
      write: false,
      minify: false,
      sourcemap: false,
      packages: 'external',
      define,
      outfile: join(dir, 'own.js'),
    });
    const text = result.outputFiles!.find((f) => f.path.endsWith('.js'))!.text;
    expect(text.match(/NODE_GLOBAL_\w+/g) ?? []).toEqual([]);
  });

  it('exports ThinClient, parseConfig and the error classes, and no loadConfig', async () => {
    const outfile = join(dir, 'exports.js');
    await buildBrowserBundle({ outfile, sourcemap: false });
    const m = (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
    expect(typeof m.ThinClient).toBe('function');
    expect(typeof m.parseConfig).toBe('function');
    expect((m.ConfigError as { name: string }).name).toBe('ConfigError');
    expect((m.TimeoutError as { name: string }).name).toBe('TimeoutError');
    expect(m.loadConfig).toBeUndefined();
    const config = (m.parseConfig as (t: string) => unknown)('[Dial.Ws]\nAddress = "ws://127.0.0.1:1"');
    expect(config).toEqual({ dial: { type: 'ws', address: 'ws://127.0.0.1:1' } });
  });
});

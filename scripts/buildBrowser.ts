/**
 * Bundles src/browser.ts into one self-contained ES module for web pages (`npm run build:browser`,
 * part of `npm run build`): dist/browser/katzenpost-thin-client.js, what the package's ./browser
 * export points at.
 *
 * Every module that has a `.browser.ts` twin beside it is swapped for the twin: src/platform/* (config
 * file, signal listener limit, dialable check) and actors/dialers/default.ts (node:net and the `ws`
 * package; the twin is the page's WebSocket). Any import of a Node builtin that remains is a build
 * error, so the bundle cannot carry one.
 */
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BROWSER_ENTRY = join(ROOT, 'src/browser.ts');
export const BROWSER_BUNDLE = join(ROOT, 'dist/browser/katzenpost-thin-client.js');

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Resolves a relative import of `X.js` to `X.browser.ts` where that twin exists. */
export const browserTwins: Plugin = {
  name: 'browser-twins',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const twin = resolve(args.resolveDir, args.path).replace(/\.js$/, '.browser.ts');
      return existsSync(twin) ? { path: twin } : undefined;
    });
  },
};

/** Fails the build on any import of a Node builtin, naming the importer. */
export const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path)) return undefined;
      const importer = relative(ROOT, args.importer);
      return { errors: [{ text: `${importer} imports the Node builtin "${args.path}"` }] };
    });
  },
};

export function browserBuildOptions(overrides: BuildOptions = {}): BuildOptions {
  return {
    entryPoints: [BROWSER_ENTRY],
    outfile: BROWSER_BUNDLE,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    // Error classes keep their names (ConfigError, not a minified one): callers check error.name.
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins, browserTwins],
    ...overrides,
  };
}

/** Builds the bundle; resolves with esbuild's metafile (the inputs it holds, the output's size). */
export async function buildBrowserBundle(overrides: BuildOptions = {}): Promise<Metafile> {
  const result = await build(browserBuildOptions(overrides));
  return result.metafile!;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const metafile = await buildBrowserBundle();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (file.endsWith('.js')) console.log(`${file}: ${output.bytes} bytes`);
  }
}

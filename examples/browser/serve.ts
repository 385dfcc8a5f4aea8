/**
 * Serves the example page: index.html and app.js from this folder, and the browser bundle as
 * ./katzenpost-thin-client.js. For trying it by hand:
 *
 *   npm run build:browser
 *   npx tsx examples/browser/serve.ts --port 8080
 *   npx pigeonhole devnet --listen ws://127.0.0.1:30000 --allow-origin http://127.0.0.1:8080
 *   open http://127.0.0.1:8080/?daemon=ws://127.0.0.1:30000
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_BUNDLE = join(HERE, '../../dist/browser/katzenpost-thin-client.js');

export interface ExampleServer {
  /** The page's origin, e.g. http://127.0.0.1:8080 (what the daemon must allow). */
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves the page on host:port (port 0 picks a free one). */
export async function serveExample(
  options: { bundle?: string; host?: string; port?: number } = {},
): Promise<ExampleServer> {
  const files: Record<string, { path: string; type: string }> = {
    '/': { path: join(HERE, 'index.html'), type: 'text/html; charset=utf-8' },
    '/app.js': { path: join(HERE, 'app.js'), type: 'text/javascript; charset=utf-8' },
    '/katzenpost-thin-client.js': {
      path: options.bundle ?? DEFAULT_BUNDLE,
      type: 'text/javascript; charset=utf-8',
    },
  };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file || req.method !== 'GET') {
      res.writeHead(404).end('not found');
      return;
    }
    readFile(file.path).then(
      (body) => res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(body),
      (error: Error) => res.writeHead(500).end(`cannot read ${file.path}: ${error.message}`),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--port');
  const port = at > 0 ? Number(process.argv[at + 1]) : 8080;
  const { origin } = await serveExample({ port });
  console.log(`example page: ${origin}/?daemon=ws://127.0.0.1:PORT`);
}

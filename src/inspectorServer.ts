/**
 * A live, offline inspector for operation lifecycles: an HTTP server on loopback serving one
 * self-contained page that shows every actor of the client (connection, `op:<query id>` ARQ
 * operations, copy streams, windows) with its current state, and a log of transitions.
 *
 *   const inspector = await startInspectorServer();          // http://127.0.0.1:<port>/
 *   const client = await ThinClient.connect(config, { inspect: inspector.inspect });
 *
 * Rows travel as Server-Sent Events (`/events`), each a TraceRow of src/inspect.ts, so what the page
 * shows is exactly what a JSONL trace records: sanitized, with caps and seeds redacted. The Stately
 * hosted inspector (`@statelyai/inspect`) works too, but needs the network; this needs nothing.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InspectionEvent } from 'xstate';
import { sanitizeInspectionEvent, type TraceRow, traceRow } from './inspect.js';
import { INSPECTOR_PAGE } from './inspectorPage.js';

export interface InspectorServerOptions {
  /** @default '127.0.0.1' (never expose traces beyond loopback by accident) */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  /** Rows kept for pages that connect later. @default 2000 */
  history?: number;
}

export interface InspectorServer {
  /** Where the page is served. */
  readonly url: string;
  /** Pass as `ThinClient.connect(config, { inspect })`. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Rows recorded so far (bounded by `history`). */
  rows(): readonly TraceRow[];
  /** Ends every open event stream and stops listening; safe to call more than once. */
  close(): Promise<void>;
  /** Resolves once the server has stopped, whoever stopped it. */
  closed(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const RECORDED = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const limit = options.history ?? 2000;
  const history: TraceRow[] = [];
  const streams = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      for (const row of history) res.write(`data: ${JSON.stringify(row)}\n\n`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(INSPECTOR_PAGE);
      return;
    }
    res.writeHead(404).end();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  const inspect = (event: InspectionEvent) => {
    if (!RECORDED.has(event.type)) return;
    let row: TraceRow;
    try {
      row = traceRow(sanitizeInspectionEvent(event));
    } catch {
      return;
    }
    history.push(row);
    if (history.length > limit) history.splice(0, history.length - limit);
    const line = `data: ${JSON.stringify(row)}\n\n`;
    for (const res of streams) res.write(line);
  };

  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const res of streams) res.end();
      streams.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return {
    url: `http://${host}:${port}/`,
    inspect,
    rows: () => history,
    close,
    closed: () => closed,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A live, offline inspector for operation lifecycles: an HTTP server on loopback serving one
 * self-contained page that draws the client's tree (connection, registry, operations, copy streams,
 * windows and their box operations) with the lifecycle of every operation as it happens.
 *
 *   const inspector = await startInspectorServer();          // http://127.0.0.1:<port>/
 *   const client = await ThinClient.connect(config, { inspect: inspector.inspect });
 *
 * Records (src/inspector/records.ts) travel as Server-Sent Events on `/events`: `hello` with the
 * page's memory limit, then `record` (a new or changed record) and `drop` (a record let go). `/tree`
 * answers the current tree as JSON. Everything is sanitized first, so caps, seeds and plaintexts
 * never reach the page. The Stately hosted inspector (`@statelyai/inspect`) works too, but needs
 * the network; this needs nothing.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InspectionEvent } from 'xstate';
import { INSPECTOR_PAGE } from './pageHtml.js';
import { createInspectionRecords, type NodeRecord, type RecordChange } from './records.js';
import { sanitizeInspectionEvent } from './redact.js';
import { type TraceRow, traceRow } from './trace.js';
import { buildTree } from './tree.js';

/** Options of `startInspectorServer`. */
export interface InspectorServerOptions {
  /** @default '127.0.0.1' (never expose traces beyond loopback by accident) */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  /** Trace rows kept (see `rows()`). @default 2000 */
  history?: number;
  /** Operation records kept, on the server and on each page (oldest finished dropped first). @default 500 */
  operations?: number;
}

/** A running inspector server (`startInspectorServer`). */
export interface InspectorServer {
  /** Where the page is served. */
  readonly url: string;
  /** Pass as `ThinClient.connect(config, { inspect })`. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Rows recorded so far (bounded by `history`). */
  rows(): readonly TraceRow[];
  /** The records the page is drawn from, oldest first. */
  records(): readonly NodeRecord[];
  /** Ends every open event stream and stops listening; safe to call more than once. */
  close(): Promise<void>;
  /** Resolves once the server has stopped, whoever stopped it. */
  closed(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const RECORDED = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

/**
 * Serves a live page of the client's actor tree (each operation with its lifecycle) and its trace, on
 * loopback by default.
 *
 * @throws Error (Node's `listen` error, e.g. EADDRINUSE) when the port cannot be bound.
 * @example
 * ```ts
 * await using inspector = await startInspectorServer();
 * const client = await ThinClient.connect(config, { inspect: inspector.inspect });
 * console.log('open', inspector.url);
 * ```
 */
export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const limit = options.history ?? 2000;
  const history: TraceRow[] = [];
  const streams = new Set<ServerResponse>();
  const store = createInspectionRecords({ limit: options.operations ?? 500 });
  const message = (change: RecordChange) =>
    change.type === 'record'
      ? `event: record\ndata: ${JSON.stringify(change.record)}\n\n`
      : `event: drop\ndata: ${JSON.stringify({ id: change.id })}\n\n`;
  store.subscribe((change) => {
    if (streams.size === 0) return;
    const text = message(change);
    for (const res of streams) res.write(text);
  });

  const server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`event: hello\ndata: ${JSON.stringify({ limit: store.limit })}\n\n`);
      for (const record of store.records()) res.write(message({ type: 'record', record }));
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (req.url === '/tree') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(buildTree(store.records())));
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
    let clean: InspectionEvent;
    let row: TraceRow;
    try {
      clean = sanitizeInspectionEvent(event);
      row = traceRow(clean);
    } catch {
      return;
    }
    store.inspect(clean);
    history.push(row);
    if (history.length > limit) history.splice(0, history.length - limit);
  };

  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      store.dispose();
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
    records: () => store.records(),
    close,
    closed: () => closed,
    [Symbol.asyncDispose]: close,
  };
}

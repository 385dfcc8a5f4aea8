/**
 * The work registry's local requests (src/protocol/local.ts): one entry per query id, with a
 * deadline. Sent while the session is ready; held while the client redials and sent once it is ready
 * again; re-sent with the same bytes after a lost connection (they are side-effect free at the daemon).
 */
import type { RegistryCommand } from '../machines/registry.js';
import { TimeoutError } from '../src/errors.js';
import { type LocalRequest, settleLocal } from '../src/protocol/index.js';
import { fail, type Respond, type Result } from '../src/protocol/result.js';
import type { DecodedResponse } from '../src/wire/index.js';
import type { Deadlines } from './deadlines.js';

interface LocalEntry {
  bytes: Uint8Array;
  request: LocalRequest;
  respond: Respond<unknown>;
  sent: boolean;
}

export class LocalRequests {
  private readonly entries = new Map<string, LocalEntry>();
  /** Entries waiting for the connection. */
  held = 0;

  constructor(
    private readonly deadlines: Deadlines,
    private readonly transmit: (bytes: Uint8Array) => void,
    /** Told just before each request is answered. */
    private readonly onSettle: (queryId: string) => void = () => {},
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Tracks a request: sent now when `ready`, else held. The caller has checked it may start. */
  start(c: Extract<RegistryCommand, { type: 'registry.request' }>, ready: boolean): void {
    const entry: LocalEntry = { bytes: c.bytes, request: c.request, respond: c.respond, sent: ready };
    this.entries.set(c.queryId, entry);
    if (entry.sent) this.transmit(c.bytes);
    else this.held++;
    this.deadlines.set(c.queryId, c.timeoutMs, () =>
      this.settle(c.queryId, fail(new TimeoutError(`${c.request.key}: no reply within ${c.timeoutMs} ms`))),
    );
  }

  /** Answers the request with that query id, if it is still waiting. */
  settle(queryId: string, result: Result<unknown>): void {
    const entry = this.entries.get(queryId);
    if (!entry) return;
    this.entries.delete(queryId);
    this.deadlines.clear(queryId);
    if (!entry.sent) this.held--;
    this.onSettle(queryId);
    entry.respond(result);
  }

  /** A reply: false when no request of ours has that query id. */
  onReply(queryId: string, message: DecodedResponse): boolean {
    const entry = this.entries.get(queryId);
    if (!entry) return false;
    this.settle(queryId, settleLocal(entry.request, message));
    return true;
  }

  /** The session is ready: everything held goes out. */
  flush(): void {
    for (const entry of this.entries.values()) {
      if (entry.sent) continue;
      entry.sent = true;
      this.held--;
      this.transmit(entry.bytes);
    }
  }

  /** The link went: on a requested disconnect every request fails, else sent ones wait to go again. */
  onLost(requested: boolean, error: () => Error): void {
    for (const [queryId, entry] of this.entries) {
      if (requested) this.settle(queryId, fail(error()));
      else if (entry.sent) {
        entry.sent = false;
        this.held++;
      }
    }
  }

  failAll(error: Error): void {
    for (const queryId of [...this.entries.keys()]) this.settle(queryId, fail(error));
  }
}

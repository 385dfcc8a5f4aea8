/**
 * `client.status()`: an async iterator that yields the current status first, then every change
 * (the nats.js convention), and ends when the client closes or the signal aborts. Each iterator
 * keeps at most `capacity` undelivered changes, dropping the oldest: the latest is what matters.
 */
import type { LinkState } from '../machines/client.js';

export interface ClientStatus {
  /** The daemon socket: connecting, ready, down (redialling), disconnected (by the app), failed, closed. */
  readonly link: LinkState;
  /** Whether the daemon reports a link to the mixnet. */
  readonly mixnetConnected: boolean;
}

export interface StatusOptions {
  signal?: AbortSignal;
  /** @default 64 */
  capacity?: number;
}

export class StatusFeed {
  private readonly iterators = new Set<StatusIterator>();
  private ended = false;

  constructor(private readonly current: () => ClientStatus) {}

  iterator(options: StatusOptions = {}): AsyncIterableIterator<ClientStatus> {
    const it = new StatusIterator(options.capacity ?? 64, () => this.iterators.delete(it), options.signal);
    it.push(this.current());
    if (this.ended) it.end();
    else this.iterators.add(it);
    return it;
  }

  /** Called on every change; repeats of the last status are not yielded. */
  changed(): void {
    const status = this.current();
    for (const it of this.iterators) it.push(status);
  }

  end(): void {
    this.changed();
    this.ended = true;
    for (const it of [...this.iterators]) it.end();
  }
}

class StatusIterator implements AsyncIterableIterator<ClientStatus> {
  private readonly items: ClientStatus[] = [];
  private last: ClientStatus | undefined;
  private waiter: ((r: IteratorResult<ClientStatus>) => void) | undefined;
  private done = false;
  private readonly onAbort = () => this.end();

  constructor(
    private readonly capacity: number,
    private readonly onDone: () => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) queueMicrotask(() => this.end());
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  push(status: ClientStatus): void {
    if (this.done) return;
    if (this.last && this.last.link === status.link && this.last.mixnetConnected === status.mixnetConnected)
      return;
    this.last = status;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: status, done: false });
      return;
    }
    if (this.items.length >= this.capacity) this.items.shift();
    this.items.push(status);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.onDone();
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<ClientStatus>> {
    const item = this.items.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<ClientStatus>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

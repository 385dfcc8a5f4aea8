/**
 * Prepare offline, transmit when connected (the guide's "How to prepare operations offline").
 *
 * Envelopes made with `encryptWrite`/`encryptRead`/`tombstoneRange` (local crypto, which works
 * whatever the daemon's mixnet state) are queued here; the queue sends them with
 * `startResendingEncryptedMessage` once the daemon reports a mixnet connection, in order, one at a
 * time. The store is pluggable: in memory by default, durable by implementing
 * `OfflineQueueStorage` (the items hold write caps — encrypt them at rest).
 */
import { randomBytes } from 'node:crypto';
import type { StartResendingParams, StartResendingResult, ThinClient } from './client.js';
import { ClientClosedError, ConnectionLostError, NotConnectedError } from './errors.js';

/** One envelope waiting in an OfflineQueue. */
export interface QueuedEnvelope {
  /** The queue's id for it (32 hex characters), as `enqueue` returned it. */
  readonly id: string;
  /** What `startResendingEncryptedMessage` will be called with. */
  readonly params: StartResendingParams;
  /** Milliseconds since the epoch. */
  readonly queuedAt: number;
}

/** Where queued envelopes live. Every method may be synchronous or return a promise. */
export interface OfflineQueueStorage {
  /** Every stored envelope, oldest first. */
  load(): QueuedEnvelope[] | Promise<QueuedEnvelope[]>;
  /** Stores `item` (durably, for a durable storage) under `item.id`, replacing one with that id. */
  put(item: QueuedEnvelope): void | Promise<void>;
  /** Removes the envelope with this id; removing an absent one is not an error. */
  delete(id: string): void | Promise<void>;
}

/**
 * The default OfflineQueueStorage: in memory, so the queue does not survive the process (use
 * SqliteOfflineStorage from `katzenpost-thin-client/sqlite` for that).
 */
export class MemoryOfflineStorage implements OfflineQueueStorage {
  private readonly items = new Map<string, QueuedEnvelope>();
  load(): QueuedEnvelope[] {
    return [...this.items.values()];
  }
  put(item: QueuedEnvelope): void {
    this.items.set(item.id, item);
  }
  delete(id: string): void {
    this.items.delete(id);
  }
}

/**
 * How an envelope left the queue: sent (with the operation's result), or failed for good (with the error).
 */
export type SendOutcome =
  | {
      /** Sent. */
      ok: true;
      /** The operation's result. */
      result: StartResendingResult;
    }
  | {
      /** Failed for good. */
      ok: false;
      /** Why (usually a ThinClientError). */
      error: unknown;
    };

/** Options of the OfflineQueue constructor. */
export interface OfflineQueueOptions {
  /** @default a MemoryOfflineStorage */
  storage?: OfflineQueueStorage;
  /** Called once per envelope that left the queue: sent, or failed for good. */
  onSettled?: (item: QueuedEnvelope, outcome: SendOutcome) => void;
  /** Flush on its own when the daemon reports a mixnet connection. @default true */
  autoFlush?: boolean;
}

/** What one `flush()` did. */
export interface FlushReport {
  /** Envelopes sent and confirmed. */
  sent: number;
  /** Envelopes that failed for good (and left the queue; `onSettled` saw the error). */
  failed: number;
  /** Still queued (the connection went away mid-flush). */
  remaining: number;
}

/** The part of ThinClient an OfflineQueue uses. */
type QueueClient = Pick<ThinClient, 'isConnected' | 'on' | 'startResendingEncryptedMessage'>;

/** Failures that say "not now" rather than "never": the envelope stays queued. */
function isRetryable(error: unknown): boolean {
  return (
    error instanceof NotConnectedError ||
    error instanceof ConnectionLostError ||
    error instanceof ClientClosedError
  );
}

/**
 * Envelopes prepared offline, sent in order once the daemon reports a mixnet connection. A failure that says
 * "not now" (NotConnectedError, ConnectionLostError, ClientClosedError) keeps the envelope queued; any other
 * failure removes it and is reported to `onSettled`.
 *
 * @example
 * ```ts
 * const queue = new OfflineQueue(client, { onSettled: (item, outcome) => console.log(item.id, outcome.ok) });
 * const w = await client.encryptWrite(plaintext, writeCap, index); // local: works offline
 * await queue.enqueue({ writeCap, ...w });
 * ```
 */
export class OfflineQueue {
  private readonly storage: OfflineQueueStorage;
  private readonly unsubscribe: Array<() => void> = [];
  private flushing: Promise<FlushReport> | undefined;

  constructor(
    private readonly client: QueueClient,
    private readonly options: OfflineQueueOptions = {},
  ) {
    this.storage = options.storage ?? new MemoryOfflineStorage();
    if (options.autoFlush !== false) {
      const kick = () => {
        if (this.client.isConnected()) this.flush().catch(() => {});
      };
      this.unsubscribe.push(
        client.on('connectionStatus', (ev) => {
          if (ev.isConnected) kick();
        }),
        client.on('daemonConnected', kick),
      );
    }
  }

  /** Stores a prepared envelope; it is sent at once if the client is connected. Returns its id. */
  async enqueue(params: StartResendingParams): Promise<string> {
    const item: QueuedEnvelope = { id: randomBytes(16).toString('hex'), params, queuedAt: Date.now() };
    await this.storage.put(item);
    if (this.options.autoFlush !== false && this.client.isConnected()) this.flush().catch(() => {});
    return item.id;
  }

  /** How many envelopes wait. */
  async size(): Promise<number> {
    return (await this.storage.load()).length;
  }

  /**
   * Sends every queued envelope, oldest first, one at a time. Stops (keeping the rest) when the
   * connection goes away. Concurrent calls share one flush.
   */
  flush(): Promise<FlushReport> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops listening to the client. Queued envelopes stay in the store. */
  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private async drain(): Promise<FlushReport> {
    const report: FlushReport = { sent: 0, failed: 0, remaining: 0 };
    const items = await this.storage.load();
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (!this.client.isConnected()) {
        report.remaining = items.length - i;
        break;
      }
      let outcome: SendOutcome;
      try {
        outcome = { ok: true, result: await this.client.startResendingEncryptedMessage(item.params) };
      } catch (error) {
        if (isRetryable(error)) {
          report.remaining = items.length - i;
          break;
        }
        outcome = { ok: false, error };
      }
      await this.storage.delete(item.id);
      if (outcome.ok) report.sent++;
      else report.failed++;
      try {
        this.options.onSettled?.(item, outcome);
      } catch {
        // The callback's failure is the application's.
      }
    }
    return report;
  }
}

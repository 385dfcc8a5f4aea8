/**
 * SURB replies awaited by blockingSendMessage: one per SURB id, with a deadline; the daemon's
 * message_reply_event settles it.
 */
import { TimeoutError } from '../src/errors.js';
import { fail, ok, type Respond, type Result } from '../src/protocol/result.js';
import type { Deadlines } from './deadlines.js';

export class SurbReplies {
  private readonly waiting = new Map<string, Respond<unknown>>();

  constructor(private readonly deadlines: Deadlines) {}

  get size(): number {
    return this.waiting.size;
  }

  await(id: string, timeoutMs: number, respond: Respond<unknown>): void {
    this.waiting.set(id, respond);
    this.deadlines.set(`surb:${id}`, timeoutMs, () =>
      this.settle(id, fail(new TimeoutError(`no reply within ${timeoutMs} ms`))),
    );
  }

  /** The reply's payload arrived. */
  deliver(id: string, payload: Uint8Array): void {
    this.settle(id, ok(payload));
  }

  failAll(error: Error): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, fail(error));
  }

  private settle(id: string, result: Result<unknown>): void {
    const respond = this.waiting.get(id);
    if (!respond) return;
    this.waiting.delete(id);
    this.deadlines.clear(`surb:${id}`);
    respond(result);
  }
}

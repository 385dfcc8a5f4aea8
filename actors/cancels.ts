/**
 * Cancels the work registry has sent and awaits the reply of: the caller's (cancelResending…), which
 * end the operations their key names, and the registry's own resync cancels, one per operation that
 * was in flight across a dropped socket when the same session comes back on the same daemon
 * (machines/arq.ts `resyncing`). kpclientd answers a cancel inline: code 24 to the original request
 * if it still held the operation, then the cancel itself with code 0, found or not.
 */
import type { AnyActorRef } from 'xstate';
import type { ArqKind } from '../machines/arq.js';
import { TimeoutError } from '../src/errors.js';
import { cancelFor, encodeWithQueryId, hex, randomId } from '../src/protocol/index.js';
import { fail, ok, type Respond } from '../src/protocol/result.js';
import type { CancelIndex } from './cancelIndex.js';
import type { Deadlines } from './deadlines.js';

const CANCEL_REPLY_KEYS: ReadonlySet<string> = new Set([
  'cancel_resending_encrypted_message_reply',
  'cancel_resending_copy_command_reply',
]);

/** Whether a reply key is a cancel's reply. */
export const isCancelReply = (key: string): boolean => CANCEL_REPLY_KEYS.has(key);

export interface CancelsDeps {
  transmit(bytes: Uint8Array): void;
  deadlines: Deadlines;
  byCancelKey: CancelIndex;
  /** The running actor of the operation with that query id, if any. */
  opActor(queryId: string): AnyActorRef | undefined;
}

/** A caller's cancel, already encoded, that went to the daemon. */
export interface SentCancel {
  queryId: string;
  cancelKey: string;
  bytes: Uint8Array;
  timeoutMs?: number;
  respond: Respond<void>;
}

export class Cancels {
  private readonly byCaller = new Map<string, { cancelKey: string; respond: Respond<void> }>();
  /** Resync cancel query id → the query id of the operation it resynchronises. */
  private readonly resyncs = new Map<string, string>();

  constructor(private readonly deps: CancelsDeps) {}

  /** Sends a caller's cancel; the operations it names learn of it from the registry. */
  send(c: SentCancel): void {
    const { deadlines } = this.deps;
    this.byCaller.set(c.queryId, { cancelKey: c.cancelKey, respond: c.respond });
    this.deps.transmit(c.bytes);
    // A daemon that never answers the cancel costs its caller a TimeoutError, not a hang.
    const timeoutMs = c.timeoutMs ?? Number.POSITIVE_INFINITY;
    deadlines.set(`cancel:${c.queryId}`, timeoutMs, () => {
      if (!this.byCaller.delete(c.queryId)) return;
      // The operations it stops end as cancelled here, as when the link is lost mid-cancel.
      this.ackOperations(c.cancelKey);
      c.respond(fail(new TimeoutError(`cancel: no reply within ${timeoutMs} ms`)));
    });
  }

  /** Sends the cancel that resynchronises operation `opQueryId` (op.resync.answered on its reply). */
  resync(opQueryId: string, kind: ArqKind, cancelKey: string): void {
    const call = cancelFor(kind, fromHex(cancelKey));
    const id = randomId();
    this.resyncs.set(hex(id), opQueryId);
    this.deps.transmit(encodeWithQueryId(call.key, call.body as never, id));
  }

  /** A cancel reply: false when no cancel of ours has that query id. */
  onReply(queryId: string): boolean {
    const op = this.resyncs.get(queryId);
    if (op !== undefined) {
      this.resyncs.delete(queryId);
      // Gone already when the real reply came first; cancelling when the caller cancelled meanwhile
      // (it ignores this and ends on its own cancel's answers).
      this.deps.opActor(op)?.send({ type: 'op.resync.answered' });
      return true;
    }
    const pending = this.byCaller.get(queryId);
    if (!pending) return false;
    this.byCaller.delete(queryId);
    this.deps.deadlines.clear(`cancel:${queryId}`);
    this.ackOperations(pending.cancelKey);
    pending.respond(ok(undefined));
    return true;
  }

  /**
   * The link went (or the client closed): no reply can come. A caller's cancel has done what it
   * could; a resync cancel is sent again on the next session (its operation is paused).
   */
  endAll(): void {
    for (const [id, c] of this.byCaller) {
      this.byCaller.delete(id);
      this.deps.deadlines.clear(`cancel:${id}`);
      c.respond(ok(undefined));
    }
    this.resyncs.clear();
  }

  private ackOperations(cancelKey: string): void {
    for (const id of this.deps.byCancelKey.get(cancelKey))
      this.deps.opActor(id)?.send({ type: 'op.cancelAck' });
  }
}

/** Lowercase (or uppercase) hex → bytes; cancel keys are hex of 32-byte hashes. */
function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

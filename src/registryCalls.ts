/**
 * How a ThinClient method reaches the work registry: check and encode the call, send the registry
 * one command, and settle one promise from its `respond` (actors/registry.ts owns everything in
 * between: holding, sending, deadlines, replay). The facade keeps no table of its own.
 */
import type { AnyActorRef } from 'xstate';
import type { RegistryCommand } from '../machines/registry.js';
import type { CallOptions } from './clientOptions.js';
import { ClientClosedError } from './errors.js';
import {
  type ArqCall,
  arqResult,
  type CancelCall,
  cancelFor,
  durationArg,
  encodeWithoutQueryId,
  encodeWithQueryId,
  hex,
  randomId,
} from './protocol/index.js';
import type { ArqKind, ArqOutput } from './protocol/outcome.js';
import type { LocalCall } from './protocol/requests.js';
import type { Result } from './protocol/result.js';
import type { StartResendingResult } from './protocol/types.js';
import { settleOnce } from './settleOnce.js';
import type { RequestBody, RequestKey } from './wire/index.js';
import { OP_PARENT } from './workSpawner.js';

export type OpOptions = CallOptions & { [OP_PARENT]?: AnyActorRef };

const noop = () => {};

/** An operation's outcome → its typed result, one function per kind (no closure per operation). */
const RESULT_OF: Record<ArqKind, (output: ArqOutput) => Result<StartResendingResult>> = {
  encryptedMessage: (output) => arqResult('encryptedMessage', output),
  copyCommand: (output) => arqResult('copyCommand', output),
};

export class RegistryCalls {
  constructor(
    /** The registry actor while the tree runs; undefined once it has stopped. */
    private readonly registry: () => AnyActorRef | undefined,
    /** Throws ClientClosedError once close() has begun. */
    private readonly ensureOpen: () => void,
    private readonly requestTimeoutMs: number,
  ) {}

  /** Hands a command to the registry; once the tree has stopped, the command fails as closed. */
  tell(command: RegistryCommand): void {
    const registry = this.registry();
    if (registry) registry.send(command);
    else if ('respond' in command) command.respond({ ok: false, error: new ClientClosedError() });
  }

  /** Checks, encodes and sends a local request; `build` throws for a bad argument. */
  async local<T>(build: () => LocalCall<T>, options: CallOptions): Promise<T> {
    this.ensureOpen();
    const { request, body } = build();
    const timeoutMs =
      options.timeoutMs === undefined ? this.requestTimeoutMs : durationArg(options.timeoutMs, 'timeoutMs');
    const queryId = randomId();
    const bytes = encodeWithQueryId(request.key as RequestKey, body as never, queryId);
    const id = hex(queryId);
    return (await settleOnce<unknown>(
      options.signal,
      (respond) => this.tell({ type: 'registry.request', queryId: id, bytes, request, timeoutMs, respond }),
      () => this.tell({ type: 'registry.forget', queryId: id }),
    )) as T;
  }

  async send(
    body: RequestBody<'send_message'>,
    surb: { id: string; timeoutMs: number } | undefined,
    options: CallOptions,
  ): Promise<unknown> {
    this.ensureOpen();
    options.signal?.throwIfAborted();
    // No query_id: the real kpclientd keys send_message by its SURB id (as the reference clients send it).
    const bytes = encodeWithoutQueryId('send_message', body);
    return settleOnce<unknown>(
      options.signal,
      (respond) => this.tell({ type: 'registry.send', bytes, ...(surb ? { surb } : {}), respond }),
      () => {},
    );
  }

  /** Starts an ARQ operation and waits for its outcome; aborting cancels it at the daemon. */
  operation(build: () => ArqCall, options: OpOptions): Promise<StartResendingResult> {
    // Not async: one promise per operation, not three (thousands may be in flight).
    let call: ArqCall;
    let op: Extract<RegistryCommand, { type: 'registry.startOp' }>['op'];
    try {
      this.ensureOpen();
      call = build();
      const queryId = randomId();
      const request = encodeWithQueryId(call.key, call.body as never, queryId);
      op = { queryId: hex(queryId), kind: call.kind, request, cancelKey: hex(call.cancelKey) };
    } catch (error) {
      return Promise.reject(error);
    }
    const { kind, cancelKey } = call;
    const parent = options[OP_PARENT];
    return settleOnce<StartResendingResult, ArqOutput>(
      options.signal,
      (respond) =>
        this.tell({
          type: 'registry.startOp',
          op,
          ...(parent ? { parent } : {}),
          ...(call.retriedRead ? { read: call.retriedRead } : {}),
          respond,
        }),
      // As the matching cancel call would: the daemon stops, and so does the operation here.
      options.signal ? () => this.cancel(() => cancelFor(kind, cancelKey), {}).catch(() => {}) : noop,
      RESULT_OF[kind],
    );
  }

  async cancel(build: () => CancelCall, options: CallOptions): Promise<void> {
    this.ensureOpen();
    options.signal?.throwIfAborted();
    const call = build();
    const timeoutMs =
      options.timeoutMs === undefined ? this.requestTimeoutMs : durationArg(options.timeoutMs, 'timeoutMs');
    const queryId = randomId();
    const bytes = encodeWithQueryId(call.key, call.body as never, queryId);
    await settleOnce<void>(
      options.signal,
      (respond) =>
        this.tell({
          type: 'registry.cancel',
          cancelKey: hex(call.cancelKey),
          queryId: hex(queryId),
          bytes,
          timeoutMs,
          respond,
        }),
      () => {},
    );
  }
}

/**
 * The I/O side of machines/window.ts: what a box operation does, how admission gaps are drawn, and
 * how a transfer is run as an actor with an AbortSignal and a progress callback.
 */
import { type AnyActorRef, createActor, fromCallback, type InspectionEvent, type Observer } from 'xstate';
import { type StartBoxes, type WindowInput, type WindowOutput, windowMachine } from '../machines/window.js';
import {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  ClientClosedError,
  ConfigError,
  InvalidArgumentError,
  OperationCancelledError,
  PayloadTooLargeError,
  ThinClientError,
  TombstoneError,
} from '../src/errors.js';
import { redactInspection } from '../src/inspector/redact.js';
import { allowManyListeners } from '../src/platform/signals.js';
import type { WorkSpawner } from '../src/workSpawner.js';
import { inspectSubtree } from './inspectSubtree.js';

/**
 * One attempt at box k; rejects with the reason of failure. `signal` aborts when the box is stopped;
 * `window` is the transfer's actor, the parent of the box's operation.
 */
export type BoxBody = (k: number, attempt: number, signal: AbortSignal, window: AnyActorRef) => Promise<void>;

/**
 * Whether another attempt at the same box can succeed. Transport and daemon trouble can pass; a
 * malformed argument, an expected outcome (the box is a tombstone, holds other data, is missing with
 * NoRetry), a cancel or a closed client will not. Errors that are not ThinClientErrors are bugs.
 */
export function isRetryableBoxError(err: unknown): boolean {
  if (!(err instanceof ThinClientError)) return false;
  return !(
    err instanceof InvalidArgumentError ||
    err instanceof PayloadTooLargeError ||
    err instanceof ConfigError ||
    err instanceof OperationCancelledError ||
    err instanceof ClientClosedError ||
    err instanceof TombstoneError ||
    err instanceof BoxAlreadyExistsError ||
    err instanceof BoxIdNotFoundError
  );
}

/** An Exp(mean) draw from the CSPRNG, capped at 20 means so that one draw cannot stall a transfer. */
export function exponentialGapMs(meanMs: number): number {
  if (!(meanMs > 0)) return 0;
  const u32 = new Uint32Array(1);
  crypto.getRandomValues(u32);
  const u = (u32[0]! + 0.5) / 2 ** 32;
  return Math.min(-Math.log(u) * meanMs, 20 * meanMs);
}

/**
 * The `boxes` child: runs each started box through `body`, reports BOX_DONE / BOX_FAILED, and aborts
 * the signal of every operation still running when it is stopped.
 */
export function boxesLogic(body: BoxBody) {
  return fromCallback<StartBoxes, { window: AnyActorRef }>(({ input, sendBack, receive }) => {
    // One controller for all: boxes are only ever aborted together, and a controller per box would
    // cost more than the rest of the box's bookkeeping (10,000 may be in flight).
    const controller = new AbortController();
    allowManyListeners(controller.signal);
    // A box's attempts never overlap (the next starts after the previous settled), and the machine
    // ignores reports for boxes not in flight, so no per-box bookkeeping is needed here.
    const done = (k: number) => () => {
      if (!controller.signal.aborted) sendBack({ type: 'BOX_DONE', k });
    };
    const failed = (k: number) => (error: unknown) => {
      if (!controller.signal.aborted)
        sendBack({ type: 'BOX_FAILED', k, retryable: isRetryableBoxError(error), error });
    };
    receive(({ boxes }) => {
      for (const { k, attempt } of boxes)
        body(k, attempt, controller.signal, input.window).then(done(k), failed(k));
    });
    return () => controller.abort();
  });
}

/** The window machine with `body` as its box operation and randomised admission gaps. */
export function windowLogic(body: BoxBody, options: { gap?: (meanMs: number) => number } = {}) {
  const gap = options.gap ?? exponentialGapMs;
  return windowMachine.provide({
    actors: { boxes: boxesLogic(body) },
    delays: { admissionGap: ({ context }) => gap(context.meanGapMs) },
  });
}

/** Progress of a windowed stream (`writeStream`, `readStream`), passed to `onProgress`. */
export interface StreamProgress {
  /** Boxes whose operation completed. */
  boxesDone: number;
  /** Boxes the transfer moves in all. */
  boxCount: number;
  /** Operations in flight now. */
  inFlight: number;
}

export interface RunWindowOptions {
  signal?: AbortSignal;
  onProgress?: (progress: StreamProgress) => void;
  /** Called when a box is requeued after a retryable failure. */
  onRetry?: (k: number, attempt: number, error: unknown) => void;
  /** Sees this window and its box operations (sanitized); the client's own inspector sees them too. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  gap?: (meanMs: number) => number;
  /** Runs the window under a client actor (systemId `window:<id>`); without it, a root actor of its own. */
  spawn?: WorkSpawner;
}

let windowIds = 0;

/**
 * Runs one windowed transfer to its end. Resolves when every box completed; rejects with the failing
 * box's error, or with `signal.reason` once the signal aborts (every box in flight is stopped, and its
 * own signal cancels it at the daemon).
 */
export async function runWindow(
  input: WindowInput,
  body: BoxBody,
  options: RunWindowOptions = {},
): Promise<WindowOutput> {
  const { signal, onProgress, onRetry } = options;
  signal?.throwIfAborted();
  const logic = windowLogic(body, { gap: options.gap });
  const attach = (actor: AnyActorRef) => {
    const onAbort = () => actor.send({ type: 'CANCEL', reason: signal?.reason });
    signal?.addEventListener('abort', onAbort, { once: true });
    actor.subscribe({
      complete: () => signal?.removeEventListener('abort', onAbort),
      error: () => signal?.removeEventListener('abort', onAbort),
    });
    if (onProgress) {
      actor.on('progress', (e: { completed: number; total: number; inFlight: number }) =>
        onProgress({ boxesDone: e.completed, boxCount: e.total, inFlight: e.inFlight }),
      );
    }
    if (onRetry)
      actor.on('retrying', (e: { k: number; attempt: number; error: unknown }) =>
        onRetry(e.k, e.attempt, e.error),
      );
  };
  const systemId = `window:${++windowIds}`;
  const attachUnder = (actor: AnyActorRef) => {
    if (options.inspect) inspectSubtree(actor, options.inspect);
    attach(actor);
  };
  const out = (
    options.spawn
      ? await options.spawn({ systemId, logic, input, attach: attachUnder })
      : await runRoot(logic, input, attach, options.inspect)
  ) as WindowOutput;
  if (out.status === 'done') return out;
  throw out.status === 'cancelled' ? out.reason : out.error;
}

/** A window with no client actor to run under (tests with a stand-in client). */
function runRoot(
  logic: ReturnType<typeof windowLogic>,
  input: WindowInput,
  attach: (actor: AnyActorRef) => void,
  inspect: RunWindowOptions['inspect'],
): Promise<WindowOutput> {
  return new Promise<WindowOutput>((resolve, reject) => {
    // Contexts hold write caps and payloads: an inspector only ever sees sanitized events.
    const actor = createActor(logic, { input, inspect: inspect ? redactInspection(inspect) : undefined });
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
    attach(actor);
    actor.start();
  });
}

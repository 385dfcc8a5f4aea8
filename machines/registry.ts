/**
 * The work registry as the client machine sees it: its input, the commands the facade sends it,
 * what the client machine tells it, and what it reports back. The body lives in
 * actors/registry.ts and is provided by actors/wiring.ts (machines stay free of I/O).
 */
import { type AnyActorLogic, type AnyActorRef, fromCallback } from 'xstate';
import type { Logger } from '../src/logger.js';
import type { LocalRequest } from '../src/protocol/local.js';
import type { ArqOutput } from '../src/protocol/outcome.js';
import type { Respond } from '../src/protocol/result.js';
import type { StartResendingParams } from '../src/protocol/types.js';
import type { DecodedResponse } from '../src/wire/index.js';
import type { ArqInput, ArqReport } from './arq.js';
import type { TransportReply } from './connection.js';

/** The actor system's clock (XState's interface); tests pass a SimulatedClock. */
export interface TimerClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** How much work the registry holds now (`ThinClient.stats()`). */
export interface WorkStats {
  /** Local requests awaiting their reply (sent or waiting for the connection). */
  requests: number;
  /** ARQ operations in flight (op:<hex> actors, and those waiting for the connection). */
  operations: number;
  /** Copy streams and windows running. */
  streams: number;
  /** Requests and operations waiting for the connection. */
  waiting: number;
  /** blockingSendMessage calls awaiting their SURB reply. */
  surbReplies: number;
  /**
   * Reads the client polls itself until their box is written (actors/waitingReads.ts) that have nothing
   * at the daemon right now (a poll at the daemon counts under `operations`).
   */
  waitingReads: number;
}

/** Stats of a client with no work (before the registry runs, and after it stopped). */
export const NO_WORK: Readonly<WorkStats> = Object.freeze({
  requests: 0,
  operations: 0,
  streams: 0,
  waiting: 0,
  surbReplies: 0,
  waitingReads: 0,
});

export interface RegistryInput {
  /** Given a reader of the registry's counts once it starts. */
  exposeStats?: (read: () => WorkStats) => void;
  clock: TimerClock;
  /** Reject at once while the client redials, instead of waiting for the connection. */
  failFast: boolean;
  /** Requests held while the client redials, at most. */
  queueLimit: number;
  logger: Logger;
  /** How reads waiting for a box are paced (actors/waitingReads.ts); false: the daemon retries them. */
  waitingReads?: WaitingReadsOption;
  /** Mean gap between the daemon's send slots in ms (1/LambdaP), when a PKI document is known. */
  sendSlotMs?: () => number | undefined;
}

/** The pacing of waiting reads, as the registry takes it (defaults in actors/waitingReads.ts). */
export type WaitingReadsOption =
  | false
  | {
      /** Waiting reads polled back to back, at most. @default 1 */
      inDaemon?: number;
      /** First backoff of the other waiting reads, in send slots (it doubles). @default 4 */
      backoffBaseSlots?: number;
      /** Longest backoff, in send slots. @default 64 */
      backoffMaxSlots?: number;
      /** Polls of one envelope before a fresh one (the courier re-dispatches an envelope 5 times). @default 5 */
      pollsPerEnvelope?: number;
      /** No poll comes sooner than this after the previous answer, nor a held one after a reply to the application, in ms. @default 50 */
      minDelayMs?: number;
      /** First polls at the daemon at once, at most (its per-app request queue holds 16). @default 12 */
      firstPolls?: number;
      /** The scheduler's own requests at the daemon at once while the application's are in flight (Infinity: no yielding). @default 0 */
      whileAppBusy?: number;
      /** Re-polls at once of a read just found waiting, before it joins the others. @default 0 */
      youngPolls?: number;
      /** Fraction of each backoff added or removed at random, so readers do not poll in step; 0 for none. @default 0.5 */
      jitter?: number;
    };

/** Sent by the facade. */
export type RegistryCommand =
  | {
      type: 'registry.request';
      queryId: string;
      bytes: Uint8Array;
      request: LocalRequest;
      timeoutMs: number;
      respond: Respond<unknown>;
    }
  /** send_message: needs the mixnet; nothing comes back but, with a SURB, `awaitSurb`. */
  | {
      type: 'registry.send';
      bytes: Uint8Array;
      surb?: { id: string; timeoutMs: number };
      respond: Respond<unknown>;
    }
  | {
      type: 'registry.startOp';
      op: ArqInput;
      parent?: AnyActorRef;
      /** A read the daemon would retry on BoxIDNotFound: the client's scheduler polls it instead. */
      read?: StartResendingParams & { readCap: Uint8Array; messageBoxIndex: Uint8Array };
      respond: Respond<ArqOutput>;
    }
  | {
      type: 'registry.cancel';
      cancelKey: string;
      queryId: string;
      bytes: Uint8Array;
      /** How long to wait for the daemon's cancel reply (TimeoutError after it). @default Infinity */
      timeoutMs?: number;
      respond: Respond<void>;
    }
  | {
      type: 'registry.spawn';
      systemId: string;
      logic: AnyActorLogic;
      input: unknown;
      /** Called with the new actor before it starts (listeners, abort wiring). */
      attach?: (actor: AnyActorRef) => void;
      respond: Respond<unknown>;
    }
  /** The caller gave up on a local request (its signal aborted): forget it. */
  | { type: 'registry.forget'; queryId: string };

/** Sent by the client machine. */
export type RegistryLinkEvent =
  | { type: 'registry.linkReady'; replay: boolean; resumed: boolean }
  | { type: 'registry.linkLost'; requested: boolean }
  | { type: 'registry.linkFailed'; error: Error }
  | { type: 'registry.mixnet'; connected: boolean }
  | { type: 'registry.message'; message: DecodedResponse }
  | { type: 'registry.close' };

/** Reported to the client machine. */
export type RegistryReport = { type: 'registry.ready'; replayed: number };

/** Everything the registry receives. */
export type RegistryEvent = RegistryCommand | RegistryLinkEvent | ArqReport | TransportReply;

export const registryPlaceholder = fromCallback<RegistryEvent, RegistryInput, RegistryReport>(() => {
  throw new Error('clientMachine: provide a registry actor');
});

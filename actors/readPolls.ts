/**
 * How the work registry serves the scheduler of reads waiting for a box (actors/waitingReads.ts):
 * its polls become ARQ operations, its fresh envelopes local encrypt_read requests and its stops
 * cancels, each with a query id of its own.
 */
import type { RegistryCommand, RegistryInput } from '../machines/registry.js';
import {
  cancelResendingEncryptedMessage,
  encodeWithQueryId,
  hex,
  randomId,
  requests,
  startResendingEncryptedMessage,
} from '../src/protocol/index.js';
import type { Respond } from '../src/protocol/result.js';
import { DEFAULT_WAITING_READS, WaitingReads } from './waitingReads.js';

/** The send-slot gap assumed before a PKI document says (docker's 1/LambdaP). */
const DEFAULT_SEND_SLOT_MS = 1000;
/** encrypt_read costs CTIDH work at a real daemon (seconds on a busy machine). */
const ENCRYPT_READ_TIMEOUT_MS = 60_000;

type Command<T extends RegistryCommand['type']> = Extract<RegistryCommand, { type: T }>;

/** The registry's entry points the scheduler's work goes through. */
export interface ReadPollsHost {
  startOp(c: Command<'registry.startOp'>): void;
  startLocal(c: Command<'registry.request'>): void;
  cancel(c: Command<'registry.cancel'>): void;
  /** Operations and local requests in flight, the scheduler's own included. */
  inFlight(): number;
}

export interface ReadPolls {
  scheduler: WaitingReads;
  /** Told as each operation or local request settles: the application's let the scheduler go on. */
  settling(queryId: string): void;
}

/** The scheduler, or undefined when the option turns it off (the daemon retries such reads). */
export function waitingReadsFor(input: RegistryInput, host: ReadPollsHost): ReadPolls | undefined {
  if (input.waitingReads === false) return undefined;
  const policy = { ...DEFAULT_WAITING_READS, ...(input.waitingReads || {}) };
  /** Query ids of the scheduler's own polls and encrypt_reads (the rest are the application's). */
  const own = new Set<string>();
  // Removed as each settles, a refused start (which never enters the registry's tables) included.
  const tracked =
    <T>(queryId: string, respond: (result: T) => void) =>
    (result: T) => {
      own.delete(queryId);
      respond(result);
    };
  const scheduler = new WaitingReads(
    {
      clock: input.clock,
      sendSlotMs: () => input.sendSlotMs?.() ?? DEFAULT_SEND_SLOT_MS,
      appBusy: () => host.inFlight() > own.size,
      poll(params, respond, parent) {
        const call = startResendingEncryptedMessage(params);
        const queryId = randomId();
        const op = {
          queryId: hex(queryId),
          kind: call.kind,
          request: encodeWithQueryId(call.key, call.body as never, queryId),
          cancelKey: hex(call.cancelKey),
        };
        own.add(op.queryId);
        host.startOp({
          type: 'registry.startOp',
          op,
          ...(parent ? { parent } : {}),
          respond: tracked(op.queryId, respond),
        });
      },
      encryptRead(readCap, index, respond) {
        const { request, body } = requests.encryptRead(readCap, index);
        const queryId = randomId();
        own.add(hex(queryId));
        host.startLocal({
          type: 'registry.request',
          queryId: hex(queryId),
          bytes: encodeWithQueryId(request.key as 'encrypt_read', body as never, queryId),
          request,
          timeoutMs: ENCRYPT_READ_TIMEOUT_MS,
          respond: tracked(hex(queryId), respond as Respond<unknown>),
        });
      },
      cancelPoll(envelopeHash) {
        const call = cancelResendingEncryptedMessage(envelopeHash);
        const queryId = randomId();
        host.cancel({
          type: 'registry.cancel',
          cancelKey: hex(envelopeHash),
          queryId: hex(queryId),
          bytes: encodeWithQueryId(call.key, call.body as never, queryId),
          respond: () => {},
        });
      },
    },
    policy,
  );
  return {
    scheduler,
    settling(queryId) {
      if (!own.has(queryId)) scheduler.appSettled();
    },
  };
}

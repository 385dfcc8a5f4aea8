/**
 * The work registry (systemId `registry`): the client actor's owner of every piece of work.
 *
 * - Local requests: one entry per query id, with a deadline. Sent while the session is ready; held
 *   while the client redials (up to `queueLimit`) and sent once it is ready again; re-sent after a
 *   lost connection (they are side-effect free at the daemon, src/protocol/local.ts).
 * - ARQ operations: one `arq` actor each (systemId `op:<query id hex>`), created with
 *   `createActor(logic, { parent })` so it joins the client's system, root and inspection without
 *   entering a machine snapshot's children record (which XState copies on every spawn and stop).
 *   A window passes itself as the parent of its box operations.
 * - Copy streams and windows (`copy:<id>`, `window:<id>`): created the same way on request.
 * - SURB replies awaited by blockingSendMessage, and cancels awaiting their reply.
 *
 * Every table is a Map: O(1) per start and per settle. Callers hand in a `respond` callback that is
 * called exactly once. The client machine tells the registry what the link does (`registry.link*`);
 * requests go straight to the transport (`transport.sendRaw`) and replies come straight back from
 * it (`transport.reply`), so the request/reply path runs through no machine but the operation's own.
 */
import { type AnyActorRef, createActor, fromCallback } from 'xstate';
import { type ArqInput, arqMachine } from '../machines/arq.js';
import type { TransportCommand } from '../machines/connection.js';
import type { RegistryCommand, RegistryEvent, RegistryInput, RegistryReport } from '../machines/registry.js';
import { ClientClosedError, ConnectionLostError, NotConnectedError, TimeoutError } from '../src/errors.js';
import {
  cancelResendingEncryptedMessage,
  encodeWithQueryId,
  hex,
  type LocalRequest,
  randomId,
  requests,
  settleLocal,
  startResendingEncryptedMessage,
} from '../src/protocol/index.js';
import type { ArqOutput } from '../src/protocol/outcome.js';
import { fail, ok, type Respond, type Result } from '../src/protocol/result.js';
import type { DecodedResponse } from '../src/wire/index.js';
import { CancelIndex } from './cancelIndex.js';
import { Deadlines } from './deadlines.js';
import { DEFAULT_WAITING_READS, WaitingReads } from './waitingReads.js';

type Link = 'connecting' | 'ready' | 'down' | 'disconnected' | 'failed' | 'closed';

interface LocalEntry {
  bytes: Uint8Array;
  request: LocalRequest;
  respond: Respond<unknown>;
  sent: boolean;
}

interface OpEntry {
  input: ArqInput;
  parent: AnyActorRef | undefined;
  respond: Respond<ArqOutput>;
  /** Undefined while it waits for the connection (it has not been created yet). */
  actor: AnyActorRef | undefined;
}

const OP_PREFIX = 'op:';
/** The send-slot gap assumed before a PKI document says (docker's 1/LambdaP). */
const DEFAULT_SEND_SLOT_MS = 1000;
/** encrypt_read costs CTIDH work at a real daemon (seconds on a busy machine). */
const ENCRYPT_READ_TIMEOUT_MS = 60_000;
const DONE_OP = `xstate.done.actor.${OP_PREFIX}`;
const ERROR_OP = `xstate.error.actor.${OP_PREFIX}`;

/**
 * Stops an actor this registry parents. `ActorRef.stop()` refuses non-root actors; XState's own
 * stopChild action does exactly this for a machine's children.
 */
function stopChild(actor: AnyActorRef): void {
  (actor as AnyActorRef & { _stop(): void })._stop();
}

/**
 * A window that finished before one of its box operations (it was cancelled or failed) no longer
 * listens: the operation's done event would only make XState warn about a stopped actor. Called on
 * completion, which XState runs before it relays that event to the parent.
 */
function forgetStoppedParent(actor: AnyActorRef): void {
  const child = actor as AnyActorRef & { _parent?: AnyActorRef };
  if (child._parent && child._parent.getSnapshot().status !== 'active') child._parent = undefined;
}
const REPLY_KEY = {
  encryptedMessage: 'start_resending_encrypted_message_reply',
  copyCommand: 'start_resending_copy_command_reply',
} as const;
const CANCEL_REPLY_KEYS: ReadonlySet<string> = new Set([
  'cancel_resending_encrypted_message_reply',
  'cancel_resending_copy_command_reply',
]);

/** The query_id of a reply, in hex, when it has one. */
export function replyQueryId(message: DecodedResponse): string | undefined {
  if (message.key === 'unknown') return undefined;
  const id = (message.body as { query_id?: Uint8Array }).query_id;
  return id ? hex(id) : undefined;
}

export const registryLogic = fromCallback<RegistryEvent, RegistryInput, RegistryReport>(
  ({ input, self, system, sendBack, receive }) => {
    const { logger } = input;
    let link: Link = 'connecting';
    let mixnet = false;
    const locals = new Map<string, LocalEntry>();
    const ops = new Map<string, OpEntry>();
    /** cancel key → query ids of the operations it stops (usually one). */
    const byCancelKey = new CancelIndex();
    const cancels = new Map<string, { cancelKey: string; respond: Respond<void> }>();
    const surbs = new Map<string, Respond<unknown>>();
    const works = new Map<string, { actor: AnyActorRef; respond: Respond<unknown> }>();
    const deadlines = new Deadlines(input.clock);
    let held = 0;
    /** Query ids of the waiting-read scheduler's own polls and encrypt_reads (the rest are the application's). */
    const schedulerIds = new Set<string>();
    const waiting = input.waitingReads === false ? undefined : waitingReads();
    input.exposeStats?.(() => ({
      requests: locals.size,
      operations: ops.size,
      streams: works.size,
      waiting: held,
      surbReplies: surbs.size,
      waitingReads: waiting?.idle ?? 0,
    }));

    // Straight to the socket: the registry only transmits while the session is ready, and a
    // transport that has just gone is reported as a lost link, after which everything is re-sent.
    const transmit = (bytes: Uint8Array) => {
      const connection = system.get('connection') as AnyActorRef | undefined;
      const transport = connection?.getSnapshot().children.transport as AnyActorRef | undefined;
      transport?.send({ type: 'transport.sendRaw', bytes } satisfies TransportCommand);
    };

    /** Why work cannot start now, or undefined when it may (sent now, or held for the connection). */
    function refusal(needsMixnet: boolean): Error | undefined {
      switch (link) {
        case 'closed':
          return new ClientClosedError();
        case 'failed':
          return new ConnectionLostError('gave up reconnecting to the daemon');
        case 'disconnected':
          return new NotConnectedError('disconnected from the daemon (call reconnect())');
        case 'ready':
          return needsMixnet && !mixnet
            ? new NotConnectedError('the daemon is not connected to the mixnet')
            : undefined;
        default:
          if (input.failFast) return new NotConnectedError('not connected to the daemon (reconnecting)');
          if (held >= input.queueLimit)
            return new NotConnectedError(
              `not connected to the daemon, and ${held} requests are already waiting`,
            );
          return undefined;
      }
    }

    // ---- local requests ----

    function settleLocalEntry(queryId: string, entry: LocalEntry, result: Parameters<Respond<unknown>>[0]) {
      locals.delete(queryId);
      deadlines.clear(queryId);
      if (!entry.sent) held--;
      const ofApp = !schedulerIds.delete(queryId);
      entry.respond(result);
      if (ofApp) waiting?.appSettled();
    }

    function startLocal(c: Extract<RegistryCommand, { type: 'registry.request' }>) {
      const refused = refusal(false);
      if (refused) {
        c.respond(fail(refused));
        return;
      }
      const entry: LocalEntry = {
        bytes: c.bytes,
        request: c.request,
        respond: c.respond,
        sent: link === 'ready',
      };
      locals.set(c.queryId, entry);
      if (entry.sent) transmit(c.bytes);
      else held++;
      deadlines.set(c.queryId, c.timeoutMs, () => {
        const e = locals.get(c.queryId);
        if (e)
          settleLocalEntry(
            c.queryId,
            e,
            fail(new TimeoutError(`${c.request.key}: no reply within ${c.timeoutMs} ms`)),
          );
      });
    }

    // ---- ARQ operations ----

    function createOp(queryId: string, entry: OpEntry) {
      const systemId = OP_PREFIX + queryId;
      const actor = createActor(arqMachine, {
        parent: entry.parent ?? self,
        id: systemId,
        systemId,
        input: entry.input,
      });
      if (!entry.actor) held--;
      entry.actor = actor;
      // An operation this registry parents reports its end to it (xstate.done.actor.op:…, handled
      // below); a window's box operation reports to the window, so it is watched here (an observer
      // costs about 900 bytes: not worth it for every one of 10,000 operations).
      if (entry.parent) {
        actor.subscribe({
          complete: () => {
            forgetStoppedParent(actor);
            settleOp(queryId, actor.getSnapshot().output as ArqOutput);
          },
          error: (error) => opFailed(queryId, error),
        });
      }
      actor.start();
    }

    function opFailed(queryId: string, error: unknown) {
      logger.error({ actor: OP_PREFIX + queryId, err: String(error) }, 'operation actor failed');
      settleOp(queryId, {
        outcome: 'abandoned',
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }

    function settleOp(queryId: string, output: ArqOutput) {
      const entry = ops.get(queryId);
      if (!entry) return;
      ops.delete(queryId);
      if (!entry.actor) held--;
      byCancelKey.remove(entry.input.cancelKey, queryId);
      const ofApp = !schedulerIds.delete(queryId);
      entry.respond(ok(output));
      if (ofApp) waiting?.appSettled();
    }

    function startOp(c: Extract<RegistryCommand, { type: 'registry.startOp' }>) {
      const refused = refusal(true);
      if (refused) {
        c.respond(fail(refused));
        return;
      }
      const queryId = c.op.queryId;
      if (ops.has(queryId)) {
        c.respond(fail(new Error(`duplicate query id ${queryId}`)));
        return;
      }
      if (c.read && waiting) {
        waiting.start(queryId, c.read, c.respond, c.parent);
        return;
      }
      const entry: OpEntry = { input: c.op, parent: c.parent, respond: c.respond, actor: undefined };
      ops.set(queryId, entry);
      byCancelKey.add(c.op.cancelKey, queryId);
      held++;
      if (link === 'ready') createOp(queryId, entry);
    }

    function cancel(c: Extract<RegistryCommand, { type: 'registry.cancel' }>) {
      if (link === 'closed') {
        c.respond(fail(new ClientClosedError()));
        return;
      }
      const sent = link === 'ready';
      if (sent) {
        cancels.set(c.queryId, { cancelKey: c.cancelKey, respond: c.respond });
        transmit(c.bytes);
        // A daemon that never answers the cancel costs its caller a TimeoutError, not a hang.
        const timeoutMs = c.timeoutMs ?? Number.POSITIVE_INFINITY;
        deadlines.set(`cancel:${c.queryId}`, timeoutMs, () => {
          if (!cancels.delete(c.queryId)) return;
          // The operations it stops end as cancelled here, as when the link is lost mid-cancel.
          for (const id of byCancelKey.get(c.cancelKey)) ops.get(id)?.actor?.send({ type: 'op.cancelAck' });
          c.respond(fail(new TimeoutError(`cancel: no reply within ${timeoutMs} ms`)));
        });
      }
      waiting?.cancel(c.cancelKey);
      for (const queryId of byCancelKey.get(c.cancelKey)) {
        const entry = ops.get(queryId)!;
        if (entry.actor) entry.actor.send({ type: 'op.cancel', sent });
        else settleOp(queryId, { outcome: 'cancelled' });
      }
      // Nothing reaches a daemon we are not connected to: dropping local tracking is the whole cancel.
      if (!sent) c.respond(ok(undefined));
    }

    function onCancelReply(queryId: string) {
      const pending = cancels.get(queryId);
      if (!pending) return;
      cancels.delete(queryId);
      deadlines.clear(`cancel:${queryId}`);
      for (const id of byCancelKey.get(pending.cancelKey)) ops.get(id)?.actor?.send({ type: 'op.cancelAck' });
      pending.respond(ok(undefined));
    }

    /** The scheduler of reads waiting for a box: its polls are operations and local requests here. */
    function waitingReads(): WaitingReads {
      const policy = { ...DEFAULT_WAITING_READS, ...(input.waitingReads || {}) };
      return new WaitingReads(
        {
          clock: input.clock,
          sendSlotMs: () => input.sendSlotMs?.() ?? DEFAULT_SEND_SLOT_MS,
          appBusy: () => locals.size + ops.size > schedulerIds.size,
          poll(params, respond, parent) {
            const call = startResendingEncryptedMessage(params);
            const queryId = randomId();
            const op = {
              queryId: hex(queryId),
              kind: call.kind,
              request: encodeWithQueryId(call.key, call.body as never, queryId),
              cancelKey: hex(call.cancelKey),
            };
            schedulerIds.add(op.queryId);
            // A refused start never enters `ops`: forget its id here too.
            const settle = (result: Result<ArqOutput>) => {
              schedulerIds.delete(op.queryId);
              respond(result);
            };
            startOp({ type: 'registry.startOp', op, ...(parent ? { parent } : {}), respond: settle });
          },
          encryptRead(readCap, index, respond) {
            const { request, body } = requests.encryptRead(readCap, index);
            const queryId = randomId();
            schedulerIds.add(hex(queryId));
            startLocal({
              type: 'registry.request',
              queryId: hex(queryId),
              bytes: encodeWithQueryId(request.key as 'encrypt_read', body as never, queryId),
              request,
              timeoutMs: ENCRYPT_READ_TIMEOUT_MS,
              respond: ((result) => {
                schedulerIds.delete(hex(queryId));
                (respond as Respond<unknown>)(result);
              }) as Respond<unknown>,
            });
          },
          cancelPoll(envelopeHash) {
            const call = cancelResendingEncryptedMessage(envelopeHash);
            const queryId = randomId();
            cancel({
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
    }

    // ---- messaging, streams ----

    function send(c: Extract<RegistryCommand, { type: 'registry.send' }>) {
      const refused = refusal(true) ?? (link === 'ready' ? undefined : new NotConnectedError());
      if (refused) {
        c.respond(fail(refused));
        return;
      }
      if (c.surb) {
        const id = c.surb.id;
        surbs.set(id, c.respond);
        deadlines.set(`surb:${id}`, c.surb.timeoutMs, () =>
          settleSurb(id, fail(new TimeoutError(`no reply within ${c.surb!.timeoutMs} ms`))),
        );
      }
      transmit(c.bytes);
      if (!c.surb) c.respond(ok(undefined));
    }

    function settleSurb(id: string, result: Parameters<Respond<unknown>>[0]) {
      const respond = surbs.get(id);
      if (!respond) return;
      surbs.delete(id);
      deadlines.clear(`surb:${id}`);
      respond(result);
    }

    function failSurbs(error: Error) {
      for (const id of [...surbs.keys()]) settleSurb(id, fail(error));
    }

    function spawn(c: Extract<RegistryCommand, { type: 'registry.spawn' }>) {
      if (link === 'closed') {
        c.respond(fail(new ClientClosedError()));
        return;
      }
      if (works.has(c.systemId) || system.get(c.systemId)) {
        c.respond(fail(new Error(`an actor with system id ${c.systemId} is already running`)));
        return;
      }
      const actor = createActor(c.logic, {
        parent: self,
        id: c.systemId,
        systemId: c.systemId,
        input: c.input,
      });
      works.set(c.systemId, { actor, respond: c.respond });
      const settle = (result: Parameters<Respond<unknown>>[0]) => {
        if (works.get(c.systemId)?.actor !== actor) return;
        works.delete(c.systemId);
        c.respond(result);
      };
      actor.subscribe({
        complete: () => settle(ok(actor.getSnapshot().output)),
        error: (error) => settle(fail(error instanceof Error ? error : new Error(String(error)))),
      });
      c.attach?.(actor);
      actor.start();
    }

    // ---- the link ----

    function onReady(replay: boolean, resumed: boolean) {
      link = 'ready';
      if (!resumed)
        failSurbs(new ConnectionLostError('the daemon lost the session; the reply will not arrive'));
      let replayed = 0;
      for (const [queryId, entry] of ops) {
        if (!entry.actor) {
          if (mixnet) createOp(queryId, entry);
          else
            settleOp(queryId, {
              outcome: 'abandoned',
              error: new NotConnectedError('the daemon is not connected to the mixnet'),
            });
          continue;
        }
        entry.actor.send({ type: replay ? 'op.replay' : 'op.resume' });
        if (replay) replayed++;
      }
      for (const entry of locals.values()) {
        if (entry.sent) continue;
        entry.sent = true;
        held--;
        transmit(entry.bytes);
      }
      sendBack({ type: 'registry.ready', replayed });
    }

    function onLost(requested: boolean) {
      link = requested ? 'disconnected' : 'down';
      mixnet = false;
      for (const entry of ops.values()) entry.actor?.send({ type: 'op.pause' });
      // A cancel whose reply can no longer come has done what it could.
      for (const [id, c] of cancels) {
        cancels.delete(id);
        deadlines.clear(`cancel:${id}`);
        c.respond(ok(undefined));
      }
      for (const [queryId, entry] of locals) {
        if (requested) {
          settleLocalEntry(queryId, entry, fail(new ConnectionLostError('disconnected from the daemon')));
        } else if (entry.sent) {
          // Re-sent with the same bytes once the session is back (side-effect free at the daemon).
          entry.sent = false;
          held++;
        }
      }
    }

    function failEverything(error: Error, outcome: 'closed' | 'abandoned') {
      for (const [queryId, entry] of locals) settleLocalEntry(queryId, entry, fail(error));
      for (const [queryId, entry] of ops) {
        if (entry.actor)
          entry.actor.send(outcome === 'closed' ? { type: 'op.close' } : { type: 'op.abandon', error });
        else
          settleOp(queryId, outcome === 'closed' ? { outcome: 'closed' } : { outcome: 'abandoned', error });
      }
      waiting?.endIdle(outcome === 'closed' ? { outcome: 'closed' } : { outcome: 'abandoned', error });
      for (const [id, c] of cancels) {
        cancels.delete(id);
        deadlines.clear(`cancel:${id}`);
        c.respond(ok(undefined));
      }
      failSurbs(error);
      for (const [id, work] of works) {
        works.delete(id);
        stopChild(work.actor);
        work.respond(fail(error));
      }
    }

    function onMessage(message: DecodedResponse) {
      if (message.key === 'message_reply_event') {
        const surb = message.body.surbid;
        if (surb) settleSurb(hex(surb), ok(message.body.payload ?? new Uint8Array(0)));
        return;
      }
      const queryId = replyQueryId(message);
      if (queryId === undefined) return;
      const op = ops.get(queryId);
      if (op?.actor && REPLY_KEY[op.input.kind] === message.key) {
        op.actor.send({ type: 'op.reply', reply: message.body as never });
        return;
      }
      const local = locals.get(queryId);
      if (local) {
        settleLocalEntry(queryId, local, settleLocal(local.request, message));
        return;
      }
      if (CANCEL_REPLY_KEYS.has(message.key)) {
        onCancelReply(queryId);
        return;
      }
      logger.debug({ key: message.key }, 'a reply nobody waits for (late, or for a forgotten request)');
    }

    /** The end of an operation this registry parents: `xstate.done.actor.op:…` or `…error…`. */
    function onChildEnded(event: { type: string; output?: unknown; error?: unknown }) {
      if (event.type.startsWith(DONE_OP)) {
        settleOp(event.type.slice(DONE_OP.length), event.output as ArqOutput);
      } else if (event.type.startsWith(ERROR_OP)) {
        opFailed(event.type.slice(ERROR_OP.length), event.error);
      }
    }

    receive((event) => {
      try {
        handle(event);
      } catch (error) {
        // A bug here must not take the client down; the caller of the failing command is answered.
        logger.error({ event: event.type, err: String(error) }, 'work registry failed to handle an event');
        if ('respond' in event)
          event.respond(fail(error instanceof Error ? error : new Error(String(error))));
      }
    });

    function handle(event: RegistryEvent): void {
      switch (event.type) {
        case 'registry.request':
          startLocal(event);
          return;
        case 'registry.send':
          send(event);
          return;
        case 'registry.startOp':
          startOp(event);
          return;
        case 'registry.cancel':
          cancel(event);
          return;
        case 'registry.spawn':
          spawn(event);
          return;
        case 'registry.forget': {
          const entry = locals.get(event.queryId);
          if (entry) settleLocalEntry(event.queryId, entry, fail(new Error('forgotten')));
          return;
        }
        case 'op.transmit':
          if (link === 'ready') transmit(event.bytes);
          return;
        case 'registry.message':
        case 'transport.reply':
          onMessage(event.message);
          return;
        case 'registry.mixnet':
          mixnet = event.connected;
          if (!mixnet) failSurbs(new ConnectionLostError('the daemon lost its mixnet connection'));
          return;
        case 'registry.linkReady':
          onReady(event.replay, event.resumed);
          return;
        case 'registry.linkLost':
          onLost(event.requested);
          return;
        case 'registry.linkFailed':
          link = 'failed';
          failEverything(
            new ConnectionLostError('gave up reconnecting to the daemon', { cause: event.error }),
            'abandoned',
          );
          return;
        case 'registry.close':
          link = 'closed';
          failEverything(new ClientClosedError(), 'closed');
          return;
        default:
          onChildEnded(event as { type: string; output?: unknown; error?: unknown });
          return;
      }
    }

    return () => {
      deadlines.clearAll();
      if (link !== 'closed') {
        link = 'closed';
        failEverything(new ClientClosedError(), 'closed');
      }
    };
  },
);

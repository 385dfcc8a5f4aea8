/**
 * The work registry (systemId `registry`): the client actor's owner of every piece of work.
 *
 * - Local requests (localRequests.ts), held while the client redials (up to `queueLimit`).
 * - ARQ operations: one `arq` actor each (systemId `op:<query id hex>`), created with
 *   `createActor(logic, { parent })` so it joins the client's system, root and inspection without
 *   entering a machine snapshot's children record (which XState copies on every spawn and stop).
 *   A window passes itself as the parent of its box operations.
 * - Copy streams and windows (works.ts), SURB replies (surbReplies.ts), cancels (cancels.ts), the
 *   scheduler of reads waiting for a box (readPolls.ts).
 * - When the link comes back: the same session on the same daemon resyncs every operation in
 *   flight (a cancel, then the same request again: machines/arq.ts `resyncing`); any other session
 *   gets them replayed verbatim.
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
import { ClientClosedError, ConnectionLostError, NotConnectedError } from '../src/errors.js';
import { hex } from '../src/protocol/index.js';
import type { ArqOutput } from '../src/protocol/outcome.js';
import { fail, ok, type Respond } from '../src/protocol/result.js';
import type { DecodedResponse } from '../src/wire/index.js';
import { CancelIndex } from './cancelIndex.js';
import { Cancels, isCancelReply } from './cancels.js';
import { Deadlines } from './deadlines.js';
import { LocalRequests } from './localRequests.js';
import { waitingReadsFor } from './readPolls.js';
import { SurbReplies } from './surbReplies.js';
import { forgetStoppedParent, stopChild, Works } from './works.js';

type Link = 'connecting' | 'ready' | 'down' | 'disconnected' | 'failed' | 'closed';

interface OpEntry {
  input: ArqInput;
  parent: AnyActorRef | undefined;
  respond: Respond<ArqOutput>;
  /** Undefined while it waits for the connection (it has not been created yet). */
  actor: AnyActorRef | undefined;
}

const OP_PREFIX = 'op:';
const DONE_OP = `xstate.done.actor.${OP_PREFIX}`;
const ERROR_OP = `xstate.error.actor.${OP_PREFIX}`;

const REPLY_KEY = {
  encryptedMessage: 'start_resending_encrypted_message_reply',
  copyCommand: 'start_resending_copy_command_reply',
} as const;

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
    const ops = new Map<string, OpEntry>();
    /** cancel key → query ids of the operations it stops (usually one). */
    const byCancelKey = new CancelIndex();
    const works = new Works(self, system);
    const deadlines = new Deadlines(input.clock);
    const locals = new LocalRequests(
      deadlines,
      (bytes) => transmit(bytes),
      (queryId) => polls?.settling(queryId),
    );
    const surbs = new SurbReplies(deadlines);
    const cancels = new Cancels({
      transmit: (bytes) => transmit(bytes),
      deadlines,
      byCancelKey,
      opActor: (queryId) => ops.get(queryId)?.actor,
    });
    const cancelsOnResume = new Map<string, Extract<RegistryCommand, { type: 'registry.cancel' }>>();
    /** Operations waiting for the connection (not created yet). */
    let heldOps = 0;
    const held = () => locals.held + heldOps;
    // Its polls are operations and local requests here.
    const polls = waitingReadsFor(input, {
      startOp,
      startLocal,
      cancel,
      inFlight: () => locals.size + ops.size,
    });
    const waiting = polls?.scheduler;
    input.exposeStats?.(() => ({
      requests: locals.size,
      operations: ops.size,
      streams: works.size,
      waiting: held(),
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
          if (held() >= input.queueLimit)
            return new NotConnectedError(
              `not connected to the daemon, and ${held()} requests are already waiting`,
            );
          return undefined;
      }
    }

    // ---- local requests ----

    function startLocal(c: Extract<RegistryCommand, { type: 'registry.request' }>) {
      const refused = refusal(false);
      if (refused) c.respond(fail(refused));
      else locals.start(c, link === 'ready');
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
      if (!entry.actor) heldOps--;
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
      if (!entry.actor) heldOps--;
      byCancelKey.remove(entry.input.cancelKey, queryId);
      polls?.settling(queryId);
      entry.respond(ok(output));
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
      // Started again after a cancel made while down: the new start is what the caller wants.
      cancelsOnResume.delete(c.op.cancelKey);
      heldOps++;
      if (link === 'ready') createOp(queryId, entry);
    }

    function cancel(c: Extract<RegistryCommand, { type: 'registry.cancel' }>) {
      if (link === 'closed') {
        c.respond(fail(new ClientClosedError()));
        return;
      }
      const sent = link === 'ready';
      if (sent) cancels.send(c);
      waiting?.cancel(c.cancelKey);
      // Running operations are paused exactly when the link is not ready, and know what that means.
      for (const queryId of byCancelKey.get(c.cancelKey)) {
        const entry = ops.get(queryId)!;
        if (entry.actor) entry.actor.send({ type: 'op.cancel' });
        else settleOp(queryId, { outcome: 'cancelled' });
      }
      // Nothing reaches a daemon we are not connected to: the caller is answered now, and the cancel
      // goes out if the same session comes back (that daemon still retries the operation).
      if (!sent) {
        cancelsOnResume.set(c.cancelKey, c);
        c.respond(ok(undefined));
      }
    }

    /** Cancels made while the socket was down, sent when the same session resumes. */
    function sendCancelsOnResume(resumed: boolean) {
      const pending = [...cancelsOnResume.values()];
      cancelsOnResume.clear();
      if (!resumed) return;
      // Its caller has its answer already; the daemon never saw these bytes, so they go as they are.
      for (const c of pending) cancels.send({ ...c, respond: () => {} });
    }

    // ---- messaging, streams ----

    function send(c: Extract<RegistryCommand, { type: 'registry.send' }>) {
      const refused = refusal(true) ?? (link === 'ready' ? undefined : new NotConnectedError());
      if (refused) {
        c.respond(fail(refused));
        return;
      }
      if (c.surb) surbs.await(c.surb.id, c.surb.timeoutMs, c.respond);
      transmit(c.bytes);
      if (!c.surb) c.respond(ok(undefined));
    }

    function spawn(c: Extract<RegistryCommand, { type: 'registry.spawn' }>) {
      if (link === 'closed') {
        c.respond(fail(new ClientClosedError()));
        return;
      }
      works.spawn(c);
    }

    // ---- the link ----

    function onReady(resumed: boolean) {
      link = 'ready';
      // Before anything else goes out, so that a new start of the same operation follows its cancel.
      sendCancelsOnResume(resumed);
      if (!resumed)
        surbs.failAll(new ConnectionLostError('the daemon lost the session; the reply will not arrive'));
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
        // The same session on the same daemon may hold the operation, or have lost its reply
        // (kpclientd drops a reply with no connection to give it to: katzenpost client/pigeonhole.go
        // 1429-1434): resynchronise. Any other session lost it: send it again.
        if (resumed) entry.actor.send({ type: 'op.resync.begin' });
        else {
          entry.actor.send({ type: 'op.replay' });
          replayed++;
        }
      }
      locals.flush();
      sendBack({ type: 'registry.ready', replayed });
    }

    function onLost(requested: boolean) {
      link = requested ? 'disconnected' : 'down';
      mixnet = false;
      for (const entry of ops.values()) entry.actor?.send({ type: 'op.pause' });
      cancels.endAll();
      locals.onLost(requested, () => new ConnectionLostError('disconnected from the daemon'));
    }

    function failEverything(error: Error, outcome: 'closed' | 'abandoned') {
      cancelsOnResume.clear();
      locals.failAll(error);
      for (const [queryId, entry] of ops) {
        if (entry.actor)
          entry.actor.send(outcome === 'closed' ? { type: 'op.close' } : { type: 'op.abandon', error });
        else
          settleOp(queryId, outcome === 'closed' ? { outcome: 'closed' } : { outcome: 'abandoned', error });
      }
      waiting?.endIdle(outcome === 'closed' ? { outcome: 'closed' } : { outcome: 'abandoned', error });
      cancels.endAll();
      surbs.failAll(error);
      works.stopAll(error);
    }

    function onMessage(message: DecodedResponse) {
      if (message.key === 'message_reply_event') {
        const surb = message.body.surbid;
        if (surb) surbs.deliver(hex(surb), message.body.payload ?? new Uint8Array(0));
        return;
      }
      const queryId = replyQueryId(message);
      if (queryId === undefined) return;
      const op = ops.get(queryId);
      if (op?.actor && REPLY_KEY[op.input.kind] === message.key) {
        op.actor.send({ type: 'op.reply', reply: message.body as never });
        return;
      }
      if (locals.onReply(queryId, message)) return;
      if (isCancelReply(message.key) && cancels.onReply(queryId)) return;
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
          locals.settle(event.queryId, fail(new Error('forgotten')));
          return;
        }
        case 'op.transmit':
          if (link === 'ready') transmit(event.bytes);
          return;
        case 'op.resync.cancel': {
          const entry = ops.get(event.queryId);
          if (link === 'ready' && entry)
            cancels.resync(event.queryId, entry.input.kind, entry.input.cancelKey);
          return;
        }
        case 'registry.message':
        case 'transport.reply':
          onMessage(event.message);
          return;
        case 'registry.mixnet':
          mixnet = event.connected;
          if (!mixnet) surbs.failAll(new ConnectionLostError('the daemon lost its mixnet connection'));
          return;
        case 'registry.linkReady':
          onReady(event.resumed);
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
      // Stopped (the client closed, or failed on a bug): an operation's end would now reach no one,
      // so every caller still waiting is answered here, and its actor stopped.
      for (const [queryId, entry] of [...ops]) {
        settleOp(queryId, { outcome: 'closed' });
        if (entry.actor) stopChild(entry.actor);
      }
    };
  },
);

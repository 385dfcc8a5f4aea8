/**
 * Copy streams and windows the work registry runs on request (`copy:<id>`, `window:<id>`): created
 * with `createActor(logic, { parent })`, like operations, so they join the client's system and
 * inspection; each caller is answered once, with the actor's output or error.
 */
import { type AnyActorRef, createActor } from 'xstate';
import type { RegistryCommand } from '../machines/registry.js';
import { fail, ok, type Respond, type Result } from '../src/protocol/result.js';

/**
 * Stops an actor this registry parents. `ActorRef.stop()` refuses non-root actors; XState's own
 * stopChild action does exactly this for a machine's children.
 */
export function stopChild(actor: AnyActorRef): void {
  (actor as AnyActorRef & { _stop(): void })._stop();
}

/**
 * A window that finished before one of its box operations (it was cancelled or failed) no longer
 * listens: the operation's done event would only make XState warn about a stopped actor. Called on
 * completion, which XState runs before it relays that event to the parent.
 */
export function forgetStoppedParent(actor: AnyActorRef): void {
  const child = actor as AnyActorRef & { _parent?: AnyActorRef };
  if (child._parent && child._parent.getSnapshot().status !== 'active') child._parent = undefined;
}
export class Works {
  private readonly running = new Map<string, { actor: AnyActorRef; respond: Respond<unknown> }>();

  constructor(
    private readonly parent: AnyActorRef,
    private readonly system: { get(id: string): unknown },
  ) {}

  get size(): number {
    return this.running.size;
  }

  spawn(c: Extract<RegistryCommand, { type: 'registry.spawn' }>): void {
    if (this.running.has(c.systemId) || this.system.get(c.systemId)) {
      c.respond(fail(new Error(`an actor with system id ${c.systemId} is already running`)));
      return;
    }
    const actor = createActor(c.logic, {
      parent: this.parent,
      id: c.systemId,
      systemId: c.systemId,
      input: c.input,
    });
    this.running.set(c.systemId, { actor, respond: c.respond });
    const settle = (result: Result<unknown>) => {
      if (this.running.get(c.systemId)?.actor !== actor) return;
      this.running.delete(c.systemId);
      c.respond(result);
    };
    actor.subscribe({
      complete: () => settle(ok(actor.getSnapshot().output)),
      error: (error) => settle(fail(error instanceof Error ? error : new Error(String(error)))),
    });
    c.attach?.(actor);
    actor.start();
  }

  /** Stops every one; its caller gets `error`. */
  stopAll(error: Error): void {
    for (const [id, work] of this.running) {
      this.running.delete(id);
      stopChild(work.actor);
      work.respond(fail(error));
    }
  }
}

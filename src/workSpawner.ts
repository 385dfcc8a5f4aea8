/**
 * How the Pigeonhole helpers run their actors (copy streams, windows) under the client actor, so
 * that they join its tree, its inspection and its close(). A client that offers this carries a
 * function under `SPAWN_WORK`; helpers given any other object create a root actor of their own.
 */
import type { AnyActorLogic, AnyActorRef } from 'xstate';

export const SPAWN_WORK: unique symbol = Symbol('katzenpost.spawnWork');
/** Call option: the actor that parents a box operation (a window's box ops are its children). */
export const OP_PARENT: unique symbol = Symbol('katzenpost.opParent');

export interface SpawnRequest {
  /** `copy:<id>` or `window:<id>`. */
  systemId: string;
  logic: AnyActorLogic;
  input: unknown;
  /** Called with the actor before it starts: attach listeners, wire the abort signal. */
  attach?: (actor: AnyActorRef) => void;
}

/** Starts the actor under the client; resolves with its output, rejects if it errors or the client closes. */
export type WorkSpawner = (request: SpawnRequest) => Promise<unknown>;

export interface SpawnsWork {
  [SPAWN_WORK]?: WorkSpawner;
}

/**
 * Wiring: the pure machines with their I/O bodies provided. The client actor's `connection` child
 * gets the real socket transport and `registry` the work registry; tests provide other bodies the
 * same way.
 */
import type { AnyActorLogic } from 'xstate';
import { clientMachine } from '../machines/client.js';
import { connectionMachine } from '../machines/connection.js';
import { registryLogic } from './registry.js';
import { createTransportLogic, type FrameStallGuard } from './transport.js';

export interface WiringOptions {
  /** Replaces the socket transport (tests). */
  transport?: AnyActorLogic;
  /** The socket transport drops a connection whose frame stays unfinished this long. */
  frameStall?: FrameStallGuard;
}

/** The connection machine with a socket transport. */
export function wiredConnectionMachine(options: WiringOptions = {}) {
  const transport = options.transport ?? createTransportLogic(options.frameStall);
  return connectionMachine.provide({ actors: { transport: transport as never } });
}

/** The supervising client machine, ready for `createActor`. */
export function wiredClientMachine(options: WiringOptions = {}) {
  return clientMachine.provide({
    actors: { connection: wiredConnectionMachine(options), registry: registryLogic },
  });
}

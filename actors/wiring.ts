/**
 * Wiring: the pure machines with their I/O bodies provided. The client actor's `connection` child
 * gets the real socket transport and `registry` the work registry; tests provide other bodies the
 * same way.
 */
import type { AnyActorLogic } from 'xstate';
import { clientMachine } from '../machines/client.js';
import { connectionMachine } from '../machines/connection.js';
import type { Dialer } from './dialers/byteStream.js';
import { defaultDialer } from './dialers/default.js';
import { registryLogic } from './registry.js';
import { createTransportLogic } from './transport.js';

export interface WiringOptions {
  /** Replaces the whole transport actor (tests). */
  transport?: AnyActorLogic;
  /** Opens the byte streams of the standard transport; defaults to unix/TCP/`ws` in Node. */
  dialer?: Dialer;
}

const defaultTransport = createTransportLogic(defaultDialer);

/** The connection machine with a transport over the dialer's byte streams. */
export function wiredConnectionMachine(options: WiringOptions = {}) {
  const transport =
    options.transport ?? (options.dialer ? createTransportLogic(options.dialer) : defaultTransport);
  return connectionMachine.provide({ actors: { transport: transport as never } });
}

/** The supervising client machine, ready for `createActor`. */
export function wiredClientMachine(options: WiringOptions = {}) {
  return clientMachine.provide({
    actors: { connection: wiredConnectionMachine(options), registry: registryLogic },
  });
}

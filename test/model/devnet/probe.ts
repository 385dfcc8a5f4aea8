/**
 * What the real actors of every ThinClient a devnet path runs did, per machine. One probe is shared by
 * the devnet suites of test/model/machines.model.test.ts, so a transition counts for its machine
 * whichever path took it (the client paths exercise the connection as well), and only paths run over
 * the devnet feed it: the scripted-daemon and stub tests beside it do not.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { arqMachine } from '../../../machines/arq.js';
import { clientMachine } from '../../../machines/client.js';
import { connectionMachine } from '../../../machines/connection.js';
import { copyStreamMachine } from '../../../machines/copyStream.js';
import { windowMachine } from '../../../machines/window.js';
import { Coverage } from '../coverage.js';

export type MachineName = 'client' | 'connection' | 'arq' | 'window' | 'copyStream';

export const coverage: Record<MachineName, Coverage> = {
  client: new Coverage('client', clientMachine),
  connection: new Coverage('connection', connectionMachine),
  arq: new Coverage('arq', arqMachine),
  window: new Coverage('window', windowMachine),
  copyStream: new Coverage('copyStream', copyStreamMachine),
};

/** The machine an actor of a ThinClient's system runs, by its system id (see actors/registry.ts). */
export function machineOf(actor: AnyActorRef): MachineName | undefined {
  const id = (actor as AnyActorRef & { systemId?: string }).systemId ?? '';
  if (id === 'client') return 'client';
  if (id === 'connection') return 'connection';
  if (id.startsWith('op:')) return 'arq';
  if (id.startsWith('window:')) return 'window';
  if (id.startsWith('copy:')) return 'copyStream';
  return undefined;
}

function record(ev: InspectionEvent): void {
  const name = machineOf(ev.actorRef as AnyActorRef);
  if (name) coverage[name].inspect(ev, () => true);
}

/**
 * A ThinClient.connect `inspect` option that subscribes to the client's whole actor system,
 * unredacted (the client's own inspector empties the transitions), and feeds the probe; `also` sees
 * every raw event too.
 */
export function probeInspect(also?: (ev: InspectionEvent) => void): (ev: InspectionEvent) => void {
  let attached = false;
  return (ev) => {
    if (attached) return;
    attached = true;
    (ev.actorRef as AnyActorRef).system.inspect((e) => {
      record(e);
      also?.(e);
    });
  };
}

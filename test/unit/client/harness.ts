/**
 * Shared pieces for the client behaviour tests: a ThinClient on a simulated clock against a
 * ScriptedDaemon, and event-driven waits (no wall-clock thresholds anywhere).
 */
import { SimulatedClock } from 'xstate';
import { type ConnectOptions, ThinClient } from '../../../src/client.js';
import type { EventOfType, ThinClientEventType } from '../../../src/events.js';
import {
  type ReceivedRequest,
  ScriptedDaemon,
  type ScriptedDaemonOptions,
} from '../../helpers/scriptedDaemon.js';

export const bytes = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A SimulatedClock that also records every delay it was asked for. */
export class RecordingClock extends SimulatedClock {
  readonly delays: number[] = [];
  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    this.delays.push(timeout);
    return super.setTimeout(fn, timeout) as number;
  }
}

export interface Harness {
  daemon: ScriptedDaemon;
  client: ThinClient;
  clock: RecordingClock;
}

const open: Array<{ daemon: ScriptedDaemon; client?: ThinClient }> = [];

/** A daemon and a connected client (jitter 0, simulated clock). Cleaned up by `cleanup()`. */
export async function setup(
  daemonOptions: ScriptedDaemonOptions = {},
  connectOptions: ConnectOptions = {},
): Promise<Harness> {
  const daemon = await ScriptedDaemon.start(daemonOptions);
  const entry: { daemon: ScriptedDaemon; client?: ThinClient } = { daemon };
  open.push(entry);
  const clock = new RecordingClock();
  const client = await ThinClient.connect(daemon.config, {
    clock,
    ...connectOptions,
    reconnect: { jitter: 0, ...connectOptions.reconnect },
  });
  entry.client = client;
  return { daemon, client, clock };
}

export async function cleanup(): Promise<void> {
  for (const { daemon, client } of open.splice(0)) {
    await client?.close();
    await daemon.stop();
  }
}

/** Resolves with the next event of `type` the client publishes (optionally matching). */
export function nextEvent<T extends ThinClientEventType>(
  client: ThinClient,
  type: T,
  match: (e: EventOfType<T>) => boolean = () => true,
): Promise<EventOfType<T>> {
  return new Promise((resolve) => {
    const off = client.on(type, (e) => {
      if (!match(e)) return;
      off();
      resolve(e);
    });
  });
}

/** The connection actor's state value, e.g. 'backoff' or { online: 'ready' }. */
export function connectionState(client: ThinClient): unknown {
  return client.actorRef.system.get('connection')?.getSnapshot().value;
}

/** Yields to the event loop until `predicate` holds (bounded only by the test timeout). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

/** Advances the simulated clock past the next redial and waits for handshake number `n`. */
export async function redial(h: Harness, n: number, delayMs = 1000): Promise<void> {
  await until(() => connectionState(h.client) === 'backoff');
  h.clock.increment(delayMs);
  await h.daemon.handshake(n);
  await until(() => h.client.isDaemonConnected());
}

/** A settled-state probe for a promise, without waiting on it. */
export function track<T>(promise: Promise<T>): {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: unknown;
  promise: Promise<T>;
} {
  const t: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown; promise: Promise<T> } =
    {
      state: 'pending',
      promise,
    };
  promise.then(
    (value) => {
      t.state = 'fulfilled';
      t.value = value;
    },
    (error) => {
      t.state = 'rejected';
      t.error = error;
    },
  );
  return t;
}

/** Prepared-looking arguments for start_resending_encrypted_message (the scripted daemon does no crypto). */
export function writeParams(fill = 1) {
  return {
    writeCap: bytes(168, fill),
    envelopeDescriptor: bytes(40, fill),
    messageCiphertext: bytes(300, fill),
    envelopeHash: bytes(32, fill),
  };
}

export function readParams(fill = 2) {
  return {
    readCap: bytes(136, fill),
    messageBoxIndex: bytes(104, fill),
    envelopeDescriptor: bytes(40, fill),
    messageCiphertext: bytes(300, fill),
    envelopeHash: bytes(32, fill),
  };
}

export { ScriptedDaemon, ThinClient };

/** Answers a new_keypair request with fixed caps. */
export function replyKeypair(req: ReceivedRequest): void {
  req.conn.reply(req, 'new_keypair_reply', {
    write_cap: bytes(168, 1),
    read_cap: bytes(136, 1),
    first_message_index: bytes(104, 1),
    error_code: 0,
  });
}

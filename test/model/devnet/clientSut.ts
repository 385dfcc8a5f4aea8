/**
 * The system under test of the client machine's model paths (devnet/clientPaths.ts): a real
 * ThinClient on a fresh devnet, the knobs that make each model event happen, and what the client's
 * actors did (seen through the probe, which also counts coverage).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import {
  ConnectionLostError,
  NotConnectedError,
  OperationCancelledError,
  ThinClient,
} from '../../../src/index.js';
import { until } from '../../unit/client/harness.js';
import { probeInspect } from './probe.js';

/** What a path does to the real client and devnet for one model event. */
export type Knob =
  | 'dialStatus'
  | 'connect'
  | 'connectOffline'
  | 'drop'
  | 'restart'
  | 'disconnect'
  | 'disconnectAgain'
  | 'disconnectDown'
  | 'reconnect'
  | 'reconnectOffline'
  | 'restartReconnect'
  | 'redialled'
  | 'redialledOffline'
  | 'mixnetDown'
  | 'mixnetUp'
  | 'close'
  | 'gaveUp'
  | 'reconnectGaveUp'
  | 'garbage'
  | 'echo';

/** The live regions of a client snapshot (none once it has closed). */
export type Value = { link: string; mixnet: string; work: string };
export const liveValue = (s: { value: unknown; status?: string }): Value | undefined => {
  const v = s.value as { live?: Value } | string;
  return typeof v === 'object' && v.live ? v.live : undefined;
};

/** Whether the next dial hears that the mixnet is down. */
const offlineDial = (rest: Knob[]) =>
  rest[0] === 'connectOffline' || rest[0] === 'redialledOffline' || rest[0] === 'reconnectOffline';

const text = (s: string) => new TextEncoder().encode(s);

/** A real client on a fresh devnet; the knobs; and what the client's actors did. */
export class Sut {
  client!: ThinClient;
  private readonly links: string[] = [];
  private constructor(readonly net: Devnet) {}

  static async start(): Promise<Sut> {
    const net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
    });
    return new Sut(net);
  }

  private readonly received: string[] = [];
  private observe = (ev: InspectionEvent) => {
    if ((ev.actorRef as AnyActorRef & { systemId?: string }).systemId !== 'client') return;
    if (ev.type === '@xstate.event') this.received.push(ev.event.type);
    const v = liveValue(
      ((ev as { snapshot?: { value: unknown } }).snapshot ?? { value: undefined }) as never,
    );
    if (v && this.links.at(-1) !== v.link) this.links.push(v.link);
  };

  async connect(): Promise<void> {
    this.client = await ThinClient.connect(this.net.thinClientConfig, {
      reconnect: { initialDelayMs: 20, factor: 1, jitter: 0, maxAttempts: 2 },
      inspect: probeInspect(this.observe),
    });
  }

  value(): Value | undefined {
    return liveValue(this.client.actorRef.getSnapshot() as never);
  }

  private last: Knob | undefined;

  /** Runs a knob; resolves once the client has seen its effect. `rest` are the path's later knobs. */
  async apply(knob: Knob, rest: Knob[]): Promise<void> {
    const from = this.links.length;
    const reached = (link: string) => until(() => this.links.slice(from).includes(link));
    const last = this.last;
    this.last = knob;
    switch (knob) {
      case 'dialStatus':
        // Before giving up or disconnecting with the mixnet up, the redial has heard the status and stalls.
        if (rest[0] === 'gaveUp' || rest[0] === 'disconnectDown')
          await until(() => this.value()?.mixnet === 'connected');
        return;
      case 'connect':
        await this.connect();
        return;
      case 'connectOffline':
        this.net.setMixnetConnected(false);
        await this.connect();
        return;
      case 'drop':
      case 'restart':
        // A redial hears the mixnet up, unless the model's next step says it heard it down.
        this.net.setMixnetConnected(!offlineDial(rest));
        // The redial stalls after the status before giving up or disconnecting with the mixnet up.
        if (rest[0] === 'dialStatus' && (rest[1] === 'gaveUp' || rest[1] === 'disconnectDown'))
          this.net.stallHandshakes('sessionReply');
        // The link stays down until disconnect(): the redial hears nothing.
        if (rest[0] === 'disconnectDown') this.net.stallHandshakes('status');
        // The transport closes by itself right behind an unreadable frame.
        if (last === 'garbage') return reached('down');
        // Before giving up with the mixnet offline, the devnet goes away for good instead.
        if (rest[0] === 'gaveUp') await this.net.stop();
        else if (knob === 'drop') this.net.dropConnections();
        else await this.net.restartDaemon();
        await reached('down');
        return;
      case 'redialled':
      case 'redialledOffline':
        await until(() => this.value()?.link === 'ready');
        return;
      case 'gaveUp':
        await this.net.stop();
        await reached('failed');
        return;
      case 'disconnect':
        this.net.setMixnetConnected(!offlineDial(rest));
        await this.client.disconnect();
        await reached('disconnected');
        return;
      case 'disconnectDown':
        this.net.setMixnetConnected(!offlineDial(rest));
        await this.client.disconnect();
        await reached('disconnected');
        expect(this.value()?.link).toBe('disconnected');
        return;
      case 'disconnectAgain': {
        const seen = this.received.length;
        await this.client.disconnect();
        await until(() => this.received.slice(seen).includes('client.disconnect'));
        return;
      }
      case 'restartReconnect': {
        this.net.stallHandshakes(null);
        const before = Buffer.from(this.net.instanceToken()).toString('hex');
        await this.net.restartDaemon();
        expect(Buffer.from(this.net.instanceToken()).toString('hex')).not.toBe(before);
        await this.client.reconnect();
        return;
      }
      case 'reconnect':
      case 'reconnectOffline':
        this.net.stallHandshakes(null);
        await this.client.reconnect();
        await until(() => this.value()?.link === 'ready');
        return;
      case 'reconnectGaveUp':
        await this.net.stop();
        await expect(this.client.reconnect()).rejects.toBeInstanceOf(ConnectionLostError);
        await reached('failed');
        return;
      case 'mixnetDown':
        this.net.setMixnetConnected(false);
        await until(() => this.value()?.mixnet === 'offline');
        return;
      case 'mixnetUp':
        this.net.setMixnetConnected(true);
        await until(() => this.value()?.mixnet === 'connected');
        return;
      case 'close':
        await this.client.close();
        return;
      case 'garbage': {
        const n = this.received.filter((t) => t === 'connection.protocolError').length;
        this.net.sendUnreadableFrame();
        await until(() => this.received.filter((t) => t === 'connection.protocolError').length > n);
        return;
      }
      case 'echo': {
        const [node, queue] = this.client.getService('echo').toDestination();
        const reply = await this.client.blockingSendMessage(text('echo'), node, queue);
        expect(new TextDecoder().decode(reply.subarray(0, 4))).toBe('echo');
        return;
      }
    }
  }

  /** A real ARQ write in the current state: done where the link is ready, cancelled elsewhere. */
  async writeOrCancel(value: Value | undefined): Promise<void> {
    const client = this.client;
    if (!value || value.link === 'failed' || this.client.actorRef.getSnapshot().status !== 'active') {
      await expect(client.newKeypair(new Uint8Array(randomBytes(32)))).rejects.toBeInstanceOf(Error);
      return;
    }
    // Made in the path's first ready state (every path starts there): later ones may wait for the link.
    this.keys ??= await client.newKeypair(new Uint8Array(randomBytes(32)));
    const keys = this.keys;
    if (value.link === 'ready' && value.mixnet === 'connected') {
      const w = await client.encryptWrite(text('model'), keys.writeCap, keys.firstMessageIndex);
      await client.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w });
      return;
    }
    if (value.link === 'ready') return; // mixnet down: operations fail fast or wait; not this test's concern
    if (value.link === 'disconnected') {
      // After disconnect() nothing waits: a new operation fails at once.
      await expect(this.write()).rejects.toBeInstanceOf(NotConnectedError);
      return;
    }
    // The link is down and redialling: the operation waits, and a cancel ends it.
    const write = this.write();
    await client.cancelResendingEncryptedMessage(this.hash);
    await expect(write).rejects.toBeInstanceOf(OperationCancelledError);
  }

  private write(): Promise<unknown> {
    return this.client.startResendingEncryptedMessage({
      writeCap: this.keys!.writeCap,
      envelopeDescriptor: new Uint8Array(8).fill(1),
      messageCiphertext: new Uint8Array(64).fill(2),
      envelopeHash: this.hash,
    });
  }

  private keys: Awaited<ReturnType<ThinClient['newKeypair']>> | undefined;
  private readonly hash = new Uint8Array(randomBytes(32));

  async stop(): Promise<void> {
    await this.client?.close();
    await this.net.stop();
  }
}

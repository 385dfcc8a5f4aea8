import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { type ConnectionStatusEvent, ThinClient } from '../../../src/index.js';

describe('events around a daemon restart', () => {
  let net: Devnet;
  let client: ThinClient;
  beforeAll(async () => {
    net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', authorityScheme: 'Ed25519' });
    client = await ThinClient.connect(net.thinClientConfig);
  });
  afterAll(async () => {
    await client?.close();
    await net?.stop();
  });

  it('publishes connectionStatus(true) only once the new session can send, so an offline queue can flush on it', async () => {
    const { writeCap, firstMessageIndex } = await client.newKeypair(randomBytes(32));
    const outcome = new Promise<{ connectedAtEvent: boolean; wrote: boolean }>((resolve) => {
      const off = client.on('connectionStatus', async (ev: ConnectionStatusEvent) => {
        if (!ev.isConnected) return;
        off();
        const connectedAtEvent = client.isConnected();
        try {
          const w = await client.encryptWrite(Uint8Array.of(1), writeCap, firstMessageIndex);
          await client.startResendingEncryptedMessage({ writeCap, ...w });
          resolve({ connectedAtEvent, wrote: true });
        } catch {
          resolve({ connectedAtEvent, wrote: false });
        }
      });
    });
    await net.restartDaemon();
    expect(await outcome).toEqual({ connectedAtEvent: true, wrote: true });
  });

  it('orders the restart as daemonDisconnected, then connectionStatus, then daemonConnected with the new instance token', async () => {
    const seen: string[] = [];
    const controller = new AbortController();
    const collecting = (async () => {
      for await (const ev of client.events({ signal: controller.signal })) {
        if (['daemonDisconnected', 'connectionStatus', 'daemonConnected'].includes(ev.type))
          seen.push(ev.type);
        if (ev.type === 'daemonConnected') break;
      }
    })();
    const before = net.instanceToken();
    await net.restartDaemon();
    await collecting;
    controller.abort();
    expect(Buffer.from(net.instanceToken()).equals(Buffer.from(before))).toBe(false);
    expect(seen).toEqual(['daemonDisconnected', 'connectionStatus', 'daemonConnected']);
  });
});

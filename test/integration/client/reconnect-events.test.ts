import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConnectionStatusEvent } from '../../../src/index.js';
import { useDevnetClient } from '../../helpers/devnetClient.js';

describe('events around a daemon restart', () => {
  const env = useDevnetClient();

  it('publishes connectionStatus(true) only once the new session can send, so an offline queue can flush on it', async () => {
    const { writeCap, firstMessageIndex } = await env.client.newKeypair(randomBytes(32));
    const outcome = new Promise<{ connectedAtEvent: boolean; wrote: boolean }>((resolve) => {
      const off = env.client.on('connectionStatus', async (ev: ConnectionStatusEvent) => {
        if (!ev.isConnected) return;
        off();
        const connectedAtEvent = env.client.isConnected();
        try {
          const w = await env.client.encryptWrite(Uint8Array.of(1), writeCap, firstMessageIndex);
          await env.client.startResendingEncryptedMessage({ writeCap, ...w });
          resolve({ connectedAtEvent, wrote: true });
        } catch {
          resolve({ connectedAtEvent, wrote: false });
        }
      });
    });
    await env.net.restartDaemon();
    expect(await outcome).toEqual({ connectedAtEvent: true, wrote: true });
  });

  it('orders the restart as daemonDisconnected, then connectionStatus, then daemonConnected with the new instance token', async () => {
    const seen: string[] = [];
    const controller = new AbortController();
    const collecting = (async () => {
      for await (const ev of env.client.events({ signal: controller.signal })) {
        if (['daemonDisconnected', 'connectionStatus', 'daemonConnected'].includes(ev.type))
          seen.push(ev.type);
        if (ev.type === 'daemonConnected') break;
      }
    })();
    const before = env.net.instanceToken();
    await env.net.restartDaemon();
    await collecting;
    controller.abort();
    expect(Buffer.from(env.net.instanceToken()).equals(Buffer.from(before))).toBe(false);
    expect(seen).toEqual(['daemonDisconnected', 'connectionStatus', 'daemonConnected']);
  });
});

/**
 * The devnet handle's lifecycle: close() / closed() / [Symbol.asyncDispose], with stop() as an alias.
 * Every check dials the real listener.
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { startDevnet } from '../../../src/devnet/index.js';
import { dialOptions, RawClient } from './rawClient.js';

const fast = { authorityScheme: 'Ed25519' as const };

/** Dials the devnet's listener: 'accepted', or the error code the dial failed with. */
function dial(config: Config): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(dialOptions(config));
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('devnet lifecycle', () => {
  it('stops listening when an `await using` block ends', async () => {
    let config: Config;
    {
      await using net = await startDevnet(fast);
      config = net.thinClientConfig;
      expect(await dial(config)).toBe('accepted');
    }
    expect(await dial(config)).toBe('ECONNREFUSED');
  });

  it('tells a connected client shutdown_event and ends its socket on close()', async () => {
    const net = await startDevnet(fast);
    const { client } = await RawClient.session(net.thinClientConfig);
    await net.close();
    await client.closed;
    expect(client.arrivals.at(-1)).toBe('shutdown_event');
  });

  it('resolves closed() for a watcher when someone else stops the devnet', async () => {
    const net = await startDevnet(fast);
    const order: string[] = [];
    const watcher = net.closed().then(() => order.push('closed'));
    await net.stop();
    order.push('stop returned');
    await watcher;
    expect(order).toEqual(['closed', 'stop returned']);
    expect(await dial(net.thinClientConfig)).toBe('ECONNREFUSED');
  });

  it('lets close() be called twice, concurrently or after it finished, and stop() after close()', async () => {
    const net = await startDevnet(fast);
    await Promise.all([net.close(), net.close(), net[Symbol.asyncDispose]()]);
    await net.close();
    await net.stop();
    await net.closed();
    expect(await dial(net.thinClientConfig)).toBe('ECONNREFUSED');
  });

  it('refuses restartDaemon once closed', async () => {
    const net = await startDevnet(fast);
    await net.close();
    await expect(net.restartDaemon()).rejects.toThrow(/stopped/);
  });

  it('removes its unix socket on close(), so the path no longer answers', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kp-devnet-')), 'kpclientd.sock');
    const net = await startDevnet({ ...fast, listen: `unix://${path}` });
    expect(await dial(net.thinClientConfig)).toBe('accepted');
    await net.close();
    expect(await dial(net.thinClientConfig)).toBe('ENOENT');
  });
});

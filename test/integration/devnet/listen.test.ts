/**
 * The daemon listens on TCP, on a unix socket path and on a Linux abstract socket, and tells clients how
 * to dial it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configToToml, parseConfig } from '../../../src/config.js';
import { startDevnet } from '../../../src/devnet/index.js';
import { parseListen } from '../../../src/devnet/listen.js';
import { RawClient } from './rawClient.js';

const fast = { authorityScheme: 'Ed25519' as const };

describe('devnet listeners', () => {
  it('parses tcp://, unix:// paths, unix://@abstract names and bare host:port', () => {
    expect(parseListen('tcp://127.0.0.1:0')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(parseListen('127.0.0.1:64331')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 64331 });
    expect(parseListen('tcp://[::1]:5')).toEqual({ kind: 'tcp', host: '::1', port: 5 });
    expect(parseListen('unix:///run/kp.sock')).toEqual({ kind: 'unix', path: '/run/kp.sock' });
    expect(parseListen('unix://@kpclientd')).toEqual({ kind: 'abstract', name: 'kpclientd' });
    for (const bad of ['', 'tcp://nowhere', 'unix://relative.sock', 'unix://@', 'tcp://1.2.3.4:99999']) {
      expect(() => parseListen(bad)).toThrow(RangeError);
    }
  });

  it('serves on a TCP port and hands out a thinclient.toml the config loader accepts', async () => {
    const net = await startDevnet({ ...fast, listen: 'tcp://127.0.0.1:0' });
    try {
      expect(net.thinClientConfig.dial.type).toBe('tcp');
      expect(net.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(parseConfig(configToToml(net.thinClientConfig))).toEqual(net.thinClientConfig);
      const { client, resumed } = await RawClient.session(net.thinClientConfig);
      expect(resumed).toBe(false);
      client.close();
    } finally {
      await net.stop();
    }
  });

  it('serves on a unix socket path, replacing a stale socket but never another file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-devnet-'));
    const path = join(dir, 'kpclientd.sock');
    const first = await startDevnet({ ...fast, listen: `unix://${path}` });
    expect(first.thinClientConfig).toEqual({ dial: { type: 'unix', address: path } });
    const { client } = await RawClient.session(first.thinClientConfig);
    client.close();
    await first.stop();
    // A socket file left behind by a process that died (bound, never closed).
    const bind = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(bind.signal).toBe('SIGKILL');
    expect(existsSync(path)).toBe(true);
    const second = await startDevnet({ ...fast, listen: `unix://${path}` });
    const again = await RawClient.session(second.thinClientConfig);
    again.client.close();
    await second.stop();
    expect(existsSync(path)).toBe(false);

    const plain = join(dir, 'not-a-socket');
    writeFileSync(plain, 'keep me');
    await expect(startDevnet({ ...fast, listen: `unix://${plain}` })).rejects.toThrow();
    expect(existsSync(plain)).toBe(true);
  });

  it('serves on a Linux abstract socket named with @', async () => {
    const name = `kp-devnet-test-${process.pid}-${Date.now()}`;
    const net = await startDevnet({ ...fast, listen: `unix://@${name}` });
    try {
      expect(net.thinClientConfig).toEqual({ dial: { type: 'unix', address: `@${name}` } });
      expect(net.address).toBe(`@${name}`);
      const { client } = await RawClient.session(net.thinClientConfig);
      client.close();
    } finally {
      await net.stop();
    }
  });
});

describe('devnet seed', () => {
  it('makes the network reproducible: same authorities, instance token and signed documents', async () => {
    const options = { ...fast, seed: 'reproducible', startEpoch: 42_000n };
    const a = await startDevnet(options);
    const b = await startDevnet(options);
    const c = await startDevnet({ ...options, seed: 'another' });
    try {
      expect(b.authorities).toEqual(a.authorities);
      expect(b.instanceToken()).toEqual(a.instanceToken());
      expect(b.network.directory().signed).toEqual(a.network.directory().signed);
      expect(c.authorities).not.toEqual(a.authorities);
      expect(c.instanceToken()).not.toEqual(a.instanceToken());
      await a.restartDaemon();
      await b.restartDaemon();
      expect(b.instanceToken()).toEqual(a.instanceToken());
      expect(a.instanceToken()).not.toEqual(c.instanceToken());
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });
});

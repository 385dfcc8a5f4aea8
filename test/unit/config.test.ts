import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configToToml, loadConfig, parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('thinclient.toml', () => {
  it('accepts the Tcp example the reference clients ship', () => {
    const c = parseConfig('[Dial]\n  [Dial.Tcp]\n    Address = "localhost:64331"\n    Network = "tcp"\n');
    expect(c).toEqual({ dial: { type: 'tcp', address: 'localhost:64331', network: 'tcp' } });
  });

  it('accepts a Tcp dial without Network and an IPv6 literal', () => {
    expect(parseConfig('[Dial.Tcp]\nAddress = "[::1]:64331"\n').dial).toEqual({
      type: 'tcp',
      address: '[::1]:64331',
    });
  });

  it('accepts a unix socket path and a Linux abstract name', () => {
    expect(parseConfig('[Dial.Unix]\nAddress = "/run/kp.sock"\n').dial).toEqual({
      type: 'unix',
      address: '/run/kp.sock',
    });
    expect(parseConfig('[Dial.Unix]\nAddress = "@katzenpost"\n').dial).toEqual({
      type: 'unix',
      address: '@katzenpost',
    });
  });

  it.each([
    ['a missing Dial', '', 'Dial'],
    ['an unknown top-level key', '[Dial.Tcp]\nAddress="a:1"\n[SphinxGeometry]\nNrHops=5\n', 'SphinxGeometry'],
    ['the old flat Network key', 'Network = "tcp"\n[Dial.Tcp]\nAddress="a:1"\n', 'Network'],
    ['an unknown dial kind', '[Dial.Ws]\nAddress="ws://x"\n', 'Dial.Ws'],
    ['two dial kinds', '[Dial.Tcp]\nAddress="a:1"\n[Dial.Unix]\nAddress="/x"\n', 'Dial'],
    ['an unknown Tcp key', '[Dial.Tcp]\nAddress="a:1"\nTimeout=3\n', 'Dial.Tcp.Timeout'],
    ['a bad Network', '[Dial.Tcp]\nAddress="a:1"\nNetwork="udp"\n', 'Dial.Tcp.Network'],
    ['a missing Address', '[Dial.Unix]\n', 'Dial.Unix.Address'],
    ['an Address without port', '[Dial.Tcp]\nAddress="localhost"\n', 'Dial.Tcp.Address'],
  ])('rejects %s with a ConfigError naming the key', (_name, text, key) => {
    let err: unknown;
    try {
      parseConfig(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
  });

  it('rejects invalid TOML with a ConfigError', () => {
    expect(() => parseConfig('[Dial\n')).toThrow(ConfigError);
  });

  it('renders a config that parses back to itself', () => {
    for (const c of [
      { dial: { type: 'tcp', address: '127.0.0.1:1234', network: 'tcp' } },
      { dial: { type: 'unix', address: '@kp' } },
    ] as const) {
      expect(parseConfig(configToToml(c))).toEqual(c);
    }
  });

  it('loads a file and reports an unreadable path as a ConfigError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kpcfg-'));
    const path = join(dir, 'thinclient.toml');
    await writeFile(path, '[Dial.Unix]\nAddress = "/tmp/x.sock"\n');
    expect((await loadConfig(path)).dial.address).toBe('/tmp/x.sock');
    await expect(loadConfig(join(dir, 'missing.toml'))).rejects.toBeInstanceOf(ConfigError);
  });
});

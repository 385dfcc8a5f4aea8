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
    ['an unknown dial kind', '[Dial.Quic]\nAddress="x:1"\n', 'Dial.Quic'],
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

  it('accepts a Ws dial with a ws:// or wss:// URL, with or without a path', () => {
    for (const address of [
      'ws://127.0.0.1:8080',
      'ws://localhost:8080/ws',
      'wss://[::1]/',
      'wss://kp.example',
    ]) {
      expect(parseConfig(`[Dial.Ws]\nAddress = "${address}"\n`).dial).toEqual({ type: 'ws', address });
    }
  });

  type Case = readonly [name: string, text: string, message: string, key: string];
  const badWsAddress = (name: string, address: string, why: string): Case => [
    `a Ws Address with ${name}`,
    `[Dial.Ws]\nAddress = "${address}"\n`,
    `k.toml: Dial.Ws.Address ${why}, got ${JSON.stringify(address)}`,
    'Dial.Ws.Address',
  ];

  it.each<Case>([
    badWsAddress('an unparsable URL', 'not a url', 'must be a ws:// or wss:// URL'),
    badWsAddress('a port out of range', 'ws://h:99999', 'must be a ws:// or wss:// URL'),
    badWsAddress('an http URL', 'http://127.0.0.1:8080', 'must use the ws:// or wss:// scheme'),
    badWsAddress('a bare host:port', 'localhost:8080', 'must use the ws:// or wss:// scheme'),
    badWsAddress('a fragment', 'ws://127.0.0.1:8080/#x', 'must not have a #fragment'),
    badWsAddress('credentials', 'ws://me:pw@127.0.0.1:8080', 'must not carry a user name or password'),
    ['a missing Ws Address', '[Dial.Ws]\n', 'k.toml: missing Dial.Ws.Address', 'Dial.Ws.Address'],
    [
      'an empty Ws Address',
      '[Dial.Ws]\nAddress = ""\n',
      'k.toml: Dial.Ws.Address must be a non-empty string',
      'Dial.Ws.Address',
    ],
    [
      'an unknown Ws key',
      '[Dial.Ws]\nAddress = "ws://h:1"\nOrigin = "x"\n',
      'k.toml: unknown key Dial.Ws.Origin',
      'Dial.Ws.Origin',
    ],
    [
      'Ws beside Tcp',
      '[Dial.Tcp]\nAddress = "a:1"\n[Dial.Ws]\nAddress = "ws://h:1"\n',
      'k.toml: [Dial] must hold exactly one of [Dial.Tcp], [Dial.Unix] or [Dial.Ws]',
      'Dial',
    ],
    [
      'an empty Dial',
      '[Dial]\n',
      'k.toml: [Dial] must hold exactly one of [Dial.Tcp], [Dial.Unix] or [Dial.Ws]',
      'Dial',
    ],
  ])('rejects %s with its exact message', (_name, text, message, key) => {
    let err: unknown;
    try {
      parseConfig(text, 'k.toml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(message);
    expect((err as ConfigError).key).toBe(key);
  });

  it('rejects invalid TOML with a ConfigError', () => {
    expect(() => parseConfig('[Dial\n')).toThrow(ConfigError);
  });

  it('renders a config that parses back to itself', () => {
    for (const c of [
      { dial: { type: 'tcp', address: '127.0.0.1:1234', network: 'tcp' } },
      { dial: { type: 'unix', address: '@kp' } },
      { dial: { type: 'ws', address: 'ws://127.0.0.1:8080/ws' } },
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

/**
 * thinclient.toml, exactly as the Go, Python and Rust clients accept it (katzenpost
 * client/thin/transport/transport.go; thin_client katzenpost_thinclient/core.py, src/lib.rs):
 * a `[Dial]` table holding exactly one of `[Dial.Tcp]` (Address, optional Network),
 * `[Dial.Unix]` (Address; a leading "@" names a Linux abstract socket) or `[Dial.Ws]` (Address, a
 * ws:// or wss:// URL of kpclientd's WebSocket listener). Any other key is an error.
 */
import { parse, stringify } from 'smol-toml';
import { ConfigError } from './errors.js';
import { readTextFile } from './platform/files.js';

/** `[Dial.Tcp] Network`: which IP versions to dial (`tcp`: either). */
export type TcpNetwork = 'tcp' | 'tcp4' | 'tcp6';

/** Where the daemon listens: the `[Dial]` table of thinclient.toml, one of its three kinds. */
export type DialConfig =
  | {
      /** `[Dial.Tcp]`. */
      readonly type: 'tcp';
      /** `host:port` (or `[v6]:port`). */
      readonly address: string;
      /** Which IP versions to dial; default `tcp` (either). */
      readonly network?: TcpNetwork;
    }
  | {
      /** `[Dial.Unix]`. */
      readonly type: 'unix';
      /** The socket path; a leading `@` names a Linux abstract socket. */
      readonly address: string;
    }
  | {
      /** `[Dial.Ws]`. */
      readonly type: 'ws';
      /** A `ws://` or `wss://` URL of kpclientd's WebSocket listener. */
      readonly address: string;
    };

/** A validated thinclient.toml (`loadConfig`, `parseConfig`), or one built by hand or by the devnet. */
export interface Config {
  /** How to reach the daemon. */
  readonly dial: DialConfig;
}

/**
 * Reads and validates a thinclient.toml file.
 *
 * @throws ConfigError when the file cannot be read, is not TOML, or is not a valid thinclient.toml
 * (unknown key, missing `[Dial]`, not exactly one of `[Dial.Tcp]`, `[Dial.Unix]`, `[Dial.Ws]`, a bad
 * address); `key` names the offending key.
 * @example
 * ```ts
 * const client = await ThinClient.connect(await loadConfig('thinclient.toml'));
 * ```
 */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (cause) {
    throw new ConfigError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseConfig(text, path);
}

/**
 * Parses thinclient.toml text. `source` only names the file in error messages.
 *
 * @throws ConfigError when the text is not TOML or not a valid thinclient.toml; `key` names the
 * offending key.
 * @example
 * ```ts
 * const config = parseConfig('[Dial]\n[Dial.Tcp]\nAddress = "127.0.0.1:64331"\n');
 * // { dial: { type: 'tcp', address: '127.0.0.1:64331' } }
 * ```
 */
export function parseConfig(text: string, source = 'thinclient.toml'): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(`${source}: invalid TOML: ${(cause as Error).message}`, { cause });
  }
  return validateConfig(doc, source);
}

/** Validates an already-parsed TOML document (PascalCase keys, as in the file). */
export function validateConfig(doc: Record<string, unknown>, source = 'config'): Config {
  rejectUnknown(doc, ['Dial'], '', source);
  const dial = doc.Dial;
  if (dial === undefined) throw new ConfigError(`${source}: missing [Dial]`, { key: 'Dial' });
  if (!isTable(dial)) throw new ConfigError(`${source}: Dial must be a table`, { key: 'Dial' });
  rejectUnknown(dial, ['Tcp', 'Unix', 'Ws'], 'Dial.', source);
  const kinds = Object.keys(dial);
  if (kinds.length !== 1) {
    throw new ConfigError(`${source}: [Dial] must hold exactly one of [Dial.Tcp], [Dial.Unix] or [Dial.Ws]`, {
      key: 'Dial',
    });
  }
  if (dial.Ws !== undefined) {
    const ws = table(dial.Ws, 'Dial.Ws', source);
    rejectUnknown(ws, ['Address'], 'Dial.Ws.', source);
    const address = requiredString(ws.Address, 'Dial.Ws.Address', source);
    parseWsUrl(address, source);
    return { dial: { type: 'ws', address } };
  }
  if (dial.Tcp !== undefined) {
    const tcp = table(dial.Tcp, 'Dial.Tcp', source);
    rejectUnknown(tcp, ['Address', 'Network'], 'Dial.Tcp.', source);
    const address = requiredString(tcp.Address, 'Dial.Tcp.Address', source);
    parseHostPort(address, source);
    const network = tcp.Network === undefined || tcp.Network === '' ? undefined : tcp.Network;
    if (network !== undefined && network !== 'tcp' && network !== 'tcp4' && network !== 'tcp6') {
      throw new ConfigError(
        `${source}: Dial.Tcp.Network must be "tcp", "tcp4" or "tcp6", got ${JSON.stringify(network)}`,
        {
          key: 'Dial.Tcp.Network',
        },
      );
    }
    return { dial: network ? { type: 'tcp', address, network } : { type: 'tcp', address } };
  }
  const unix = table(dial.Unix, 'Dial.Unix', source);
  rejectUnknown(unix, ['Address'], 'Dial.Unix.', source);
  return { dial: { type: 'unix', address: requiredString(unix.Address, 'Dial.Unix.Address', source) } };
}

/** Renders a Config as thinclient.toml text that all four clients accept. */
export function configToToml(config: Config): string {
  const { dial } = config;
  const inner =
    dial.type === 'tcp'
      ? { Tcp: { Address: dial.address, Network: dial.network ?? 'tcp' } }
      : dial.type === 'ws'
        ? { Ws: { Address: dial.address } }
        : { Unix: { Address: dial.address } };
  return stringify({ Dial: inner });
}

/** Splits "host:port" or "[v6]:port". */
export function parseHostPort(address: string, source = 'config'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new ConfigError(`${source}: Dial.Tcp.Address must be host:port, got ${JSON.stringify(address)}`, {
      key: 'Dial.Tcp.Address',
    });
  }
  return { host: m[1] ?? (m[2] || 'localhost'), port };
}

/**
 * Checks a `[Dial.Ws]` Address: an absolute ws:// or wss:// URL with a host and no #fragment (a
 * WebSocket URL cannot carry one). Any path is allowed; kpclientd's listener answers on every path.
 */
export function parseWsUrl(address: string, source = 'config'): URL {
  const fail = (why: string): never => {
    throw new ConfigError(`${source}: Dial.Ws.Address ${why}, got ${JSON.stringify(address)}`, {
      key: 'Dial.Ws.Address',
    });
  };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return fail('must be a ws:// or wss:// URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail('must use the ws:// or wss:// scheme');
  if (url.hostname === '') fail('must name a host');
  if (url.hash !== '' || address.includes('#')) fail('must not have a #fragment');
  if (url.username !== '' || url.password !== '') fail('must not carry a user name or password');
  return url;
}

function rejectUnknown(t: Record<string, unknown>, allowed: string[], prefix: string, source: string): void {
  for (const key of Object.keys(t)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${source}: unknown key ${prefix}${key}`, { key: `${prefix}${key}` });
    }
  }
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function table(v: unknown, key: string, source: string): Record<string, unknown> {
  if (!isTable(v)) throw new ConfigError(`${source}: ${key} must be a table`, { key });
  return v;
}

function requiredString(v: unknown, key: string, source: string): string {
  if (v === undefined) throw new ConfigError(`${source}: missing ${key}`, { key });
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(`${source}: ${key} must be a non-empty string`, { key });
  return v;
}

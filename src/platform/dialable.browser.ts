/**
 * The browser's twin of dialable.ts: a page can open neither a unix socket nor a raw TCP connection,
 * only a WebSocket (`[Dial.Ws]`).
 */
import type { DialConfig } from '../config.js';
import { ConfigError } from '../errors.js';

/** Why a browser cannot make `dial`, or undefined when it can. */
export function undialable(dial: DialConfig): ConfigError | undefined {
  if (dial.type === 'ws') return undefined;
  const table = dial.type === 'tcp' ? 'Dial.Tcp' : 'Dial.Unix';
  return new ConfigError(
    `a browser cannot dial [${table}]: use [Dial.Ws] with the address of kpclientd's WebSocket listener`,
    { key: table },
  );
}

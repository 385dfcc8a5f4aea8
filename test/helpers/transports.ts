/**
 * The three ways a client reaches the daemon, as devnet listen addresses: a unix socket (a fresh path
 * each time), TCP and WebSocket (a free port each time, on loopback). Suites run once per entry with
 * `describe.each(TRANSPORTS)('over $type', ({ listen }) => …)`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TransportCase {
  /** The dial type the devnet's thinClientConfig then has. */
  readonly type: 'unix' | 'tcp' | 'ws';
  /** A fresh listen address for startDevnet. */
  listen(): string;
}

export const TRANSPORTS: readonly TransportCase[] = [
  { type: 'unix', listen: () => `unix://${join(mkdtempSync(join(tmpdir(), 'kp-unix-')), 'kpclientd.sock')}` },
  { type: 'tcp', listen: () => 'tcp://127.0.0.1:0' },
  { type: 'ws', listen: () => 'ws://127.0.0.1:0' },
];

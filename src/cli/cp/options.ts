// The command's options: their parsed shape, their value parsers, and what they mean for a run.
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { type Config, loadConfig } from '../../config.js';
import { PigeonholeStore } from '../../pigeonhole/store.js';
import { DEFAULT_DAEMON_CONFIG } from './runtime.js';

export interface CommonOptions {
  config?: string;
  state?: string;
  quiet?: boolean;
  timeout?: number;
  poll?: number;
  force?: boolean;
}

export function seconds(value: string): number {
  return nonNegative(value, 'seconds');
}

export function milliseconds(value: string): number {
  return nonNegative(value, 'milliseconds');
}

function nonNegative(value: string, unit: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new CommanderArgumentError(`must be a non-negative number of ${unit}`);
  return n;
}

/** The daemon `send` and `recv` talk to: --config's, else the usual local address. */
export async function daemonConfig(opts: CommonOptions): Promise<Config> {
  return opts.config ? await loadConfig(opts.config) : DEFAULT_DAEMON_CONFIG;
}

/** The --state store, if one was named. */
export function stateStore(opts: CommonOptions): PigeonholeStore | undefined {
  return opts.state ? PigeonholeStore.open(opts.state) : undefined;
}

/** The receive options --timeout and --poll ask for (`defaultPollMs` when --poll is absent). */
export function receiveTiming(
  opts: CommonOptions,
  defaultPollMs?: number,
): { timeoutMs?: number; pollIntervalMs?: number } {
  const poll = opts.poll ?? defaultPollMs;
  return {
    ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
    ...(poll !== undefined ? { pollIntervalMs: poll } : {}),
  };
}

// How the command reaches a daemon and a terminal; the real one, or a test's substitute.
import type { Config } from '../../config.js';
import type { ChannelClient } from '../../pigeonhole/channels.js';

/** A connected client the command can close. ThinClient is one. */
export type ClosableChannelClient = ChannelClient & { close(): Promise<void> };

/** How the command reaches a daemon; tests and the main program may substitute their own. */
export interface CpRuntime {
  connect(config: Config): Promise<ClosableChannelClient>;
  startEmbeddedDevnet(): Promise<{ config: Config; stop(): Promise<void> }>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Draw progress bars (default: when stderr is a terminal). */
  progress?: boolean;
}

/** The usual local daemon address (kpclientd's example thinclient.toml, `pigeonhole devnet`). */
export const DEFAULT_DAEMON_CONFIG: Config = { dial: { type: 'tcp', address: 'localhost:64331' } };

export async function defaultCpRuntime(): Promise<CpRuntime> {
  const [{ ThinClient }, { startDevnet }] = await Promise.all([
    import('../../client.js'),
    import('../../devnet/index.js'),
  ]);
  return {
    connect: async (config) => (await ThinClient.connect(config)) as unknown as ClosableChannelClient,
    startEmbeddedDevnet: async () => {
      // Ed25519 authorities: the PKI scheme does not matter to cp, and Falcon key generation would
      // add seconds to every demo start.
      const net = await startDevnet({
        listen: 'tcp://127.0.0.1:0',
        profile: 'instant',
        authorityScheme: 'Ed25519',
      });
      return { config: net.thinClientConfig, stop: () => net.stop() };
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/**
 * One embedded devnet (instant profile, Ed25519 authorities for a fast start) and one connected
 * ThinClient for a test file: `const env = useDevnetClient();` then `env.net` / `env.client` inside tests.
 */
import { afterAll, beforeAll } from 'vitest';
import { type Devnet, type DevnetOptions, startDevnet } from '../../src/devnet/index.js';
import { type ConnectOptions, ThinClient } from '../../src/index.js';

export interface DevnetClientEnv {
  readonly net: Devnet;
  readonly client: ThinClient;
}

export function useDevnetClient(
  devnetOptions: Partial<DevnetOptions> = {},
  connectOptions: ConnectOptions = {},
): DevnetClientEnv {
  let net: Devnet | undefined;
  let client: ThinClient | undefined;
  beforeAll(async () => {
    net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
      ...devnetOptions,
    });
    client = await ThinClient.connect(net.thinClientConfig, connectOptions);
  });
  afterAll(async () => {
    await client?.close();
    await net?.stop();
  });
  return {
    get net() {
      if (!net) throw new Error('the devnet is not started (use env.net inside a test)');
      return net;
    },
    get client() {
      if (!client) throw new Error('the client is not connected (use env.client inside a test)');
      return client;
    },
  };
}

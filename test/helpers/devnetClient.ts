/**
 * One embedded devnet (instant profile, Ed25519 authorities for a fast start) and connected ThinClients
 * for a test file: `const env = useDevnetClient();` then `env.net` / `env.client` inside tests, or
 * `useDevnetClients(2)` and `env.clients` for two ends.
 */
import { afterAll, beforeAll } from 'vitest';
import { type Devnet, type DevnetOptions, startDevnet } from '../../src/devnet/index.js';
import { type ConnectOptions, ThinClient } from '../../src/index.js';

export interface DevnetClientEnv {
  readonly net: Devnet;
  readonly client: ThinClient;
}

export interface DevnetClientsEnv {
  readonly net: Devnet;
  readonly clients: readonly ThinClient[];
}

/** The devnet and `count` clients, started before the file's tests and closed after them. */
export function useDevnetClients(
  count: number,
  devnetOptions: Partial<DevnetOptions> = {},
  connectOptions: ConnectOptions = {},
): DevnetClientsEnv {
  let net: Devnet | undefined;
  const clients: ThinClient[] = [];
  beforeAll(async () => {
    net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      profile: 'instant',
      authorityScheme: 'Ed25519',
      ...devnetOptions,
    });
    for (let i = 0; i < count; i++)
      clients.push(await ThinClient.connect(net.thinClientConfig, connectOptions));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await net?.stop();
  });
  return {
    get net() {
      if (!net) throw new Error('the devnet is not started (use env.net inside a test)');
      return net;
    },
    get clients() {
      if (clients.length < count)
        throw new Error('the clients are not connected (use env.clients inside a test)');
      return clients;
    },
  };
}

export function useDevnetClient(
  devnetOptions: Partial<DevnetOptions> = {},
  connectOptions: ConnectOptions = {},
): DevnetClientEnv {
  const env = useDevnetClients(1, devnetOptions, connectOptions);
  return {
    get net() {
      return env.net;
    },
    get client() {
      return env.clients[0]!;
    },
  };
}

/**
 * How every guide example reaches a daemon. Pass `--config thinclient.toml` (or set
 * KP_THINCLIENT_TOML) to use a real kpclientd or a devnet that is already running; otherwise the
 * example starts an embedded devnet of its own and stops it at the end.
 */
import { parseArgs } from 'node:util';
import { type ConnectOptions, ThinClient } from 'katzenpost-thin-client';
import { type Devnet, startDevnet } from 'katzenpost-thin-client/devnet';

export interface ExampleDaemon {
  readonly client: ThinClient;
  /** The embedded devnet, when this process started one. */
  readonly net: Devnet | undefined;
  /** Closes the client, then the devnet if there is one. */
  close(): Promise<void>;
}

/** The thinclient.toml to use, if the command line or the environment names one. */
export function configPath(): string | undefined {
  const { values } = parseArgs({ options: { config: { type: 'string' } }, strict: false });
  const fromArgs = typeof values.config === 'string' ? values.config : undefined;
  return fromArgs ?? (process.env.KP_THINCLIENT_TOML || undefined);
}

/** Connects a client to the configured daemon, or to a fresh embedded devnet. */
export async function openExample(options: ConnectOptions = {}): Promise<ExampleDaemon> {
  const path = configPath();
  const net = path ? undefined : await startDevnet({ profile: 'instant' });
  const client = await ThinClient.connect(path ?? net!.thinClientConfig, options);
  return {
    client,
    net,
    async close() {
      await client.close();
      await net?.close();
    },
  };
}

/** For the examples that drive the network itself (restarts, outages): always an embedded devnet. */
export async function openDevnetExample(
  options: ConnectOptions = {},
): Promise<ExampleDaemon & { net: Devnet }> {
  if (configPath()) console.log('this example needs the embedded devnet; ignoring the configured daemon');
  const net = await startDevnet({ profile: 'instant' });
  const client = await ThinClient.connect(net.thinClientConfig, options);
  return {
    client,
    net,
    async close() {
      await client.close();
      await net.close();
    },
  };
}

/** A random 32-byte seed for newKeypair. */
export function randomSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

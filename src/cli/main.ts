#!/usr/bin/env node
/**
 * `pigeonhole`: the command-line face of the library.
 *
 *   pigeonhole devnet --listen 127.0.0.1:64331 [--profile docker] [--time-warp 20] [--state DIR]
 *   pigeonhole devnet --listen ws://127.0.0.1:64331 [--allow-origin http://localhost:8080]...
 *       runs the embedded network as a stand-alone daemon any thin client can dial, printing the
 *       thinclient.toml to use, until interrupted. With --state the network (seed, epochs, boxes) is
 *       kept in DIR, and a devnet started again on it, even after a SIGKILL, is the same network.
 *   pigeonhole cp FILE OUT | cp send FILE | cp recv SHARE OUT
 *       sends a file over a Pigeonhole channel (src/cli/cp/).
 *   pigeonhole inspect [--config thinclient.toml] [--port 0]
 *       connects a client (to an embedded devnet without --config) and serves the live inspector.
 */
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { configToToml } from '../config.js';
import { startDevnet } from '../devnet/index.js';
import { ThinClient } from '../index.js';
import { startInspectorServer } from '../inspector/server.js';
import { registerCpCommand } from './cp/index.js';

export function buildProgram(): Command {
  const program = new Command('pigeonhole').description(
    'Katzenpost Pigeonhole tools (TypeScript thin client)',
  );

  program
    .command('devnet')
    .description('run the embedded Katzenpost network as a kpclientd-compatible daemon')
    .option(
      '--listen <address>',
      'host:port, unix:/path, unix:@abstract or ws://host:port',
      '127.0.0.1:64331',
    )
    .option(
      '--allow-origin <origin>',
      'a web origin (scheme://host[:port]) whose pages may open the ws:// listener; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addOption(
      new Option('--profile <name>', 'timing profile').choices(['instant', 'docker']).default('instant'),
    )
    .option('--time-warp <factor>', 'divide every delay of the profile by this', positiveNumber, 1)
    .option('--seed <hex>', '32-byte hex seed for a reproducible network')
    .option('--write-config <path>', 'also write the thinclient.toml to this file')
    .option('--max-connections <n>', 'close sockets beyond this many at once (default 1024)', positiveNumber)
    .option(
      '--handshake-timeout <ms>',
      'close a socket with no complete frame by then (default 30000)',
      positiveNumber,
    )
    .option(
      '--partial-frame-timeout <ms>',
      'close a socket whose frame is not complete by then (default 30000)',
      positiveNumber,
    )
    .option('--state <dir>', "keep the network's seed, epochs and boxes in this directory (0700)")
    .addOption(
      new Option('--authority-scheme <scheme>', 'directory authority signatures')
        .choices(['Falcon-padded-512-Ed25519', 'Ed25519'])
        .default('Falcon-padded-512-Ed25519'),
    )
    .action(
      async (opts: {
        listen: string;
        allowOrigin: string[];
        profile: 'instant' | 'docker';
        timeWarp: number;
        seed?: string;
        writeConfig?: string;
        maxConnections?: number;
        handshakeTimeout?: number;
        partialFrameTimeout?: number;
        state?: string;
        authorityScheme: 'Falcon-padded-512-Ed25519' | 'Ed25519';
      }) => {
        const net = await startDevnet({
          listen: toListenUrl(opts.listen),
          allowedOrigins: opts.allowOrigin,
          profile: opts.profile,
          timeWarp: opts.timeWarp,
          authorityScheme: opts.authorityScheme,
          ...(opts.seed ? { seed: hexSeed(opts.seed) } : {}),
          limits: {
            ...(opts.maxConnections ? { maxConnections: opts.maxConnections } : {}),
            ...(opts.handshakeTimeout ? { handshakeTimeoutMs: opts.handshakeTimeout } : {}),
            ...(opts.partialFrameTimeout ? { partialFrameTimeoutMs: opts.partialFrameTimeout } : {}),
          },
          ...(opts.state ? { state: opts.state } : {}),
        });
        const toml = configToToml(net.thinClientConfig);
        if (opts.writeConfig) await writeFile(opts.writeConfig, toml);
        process.stdout.write(
          `# devnet (${opts.profile}) listening on ${net.address}\n# thinclient.toml:\n${toml}`,
        );
        const stop = async () => {
          await net.stop();
          process.exit(0);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );

  program
    .command('inspect')
    .description('connect a client and serve the live inspector of its actors and operations')
    .option('--config <path>', 'thinclient.toml of the daemon to use (default: an embedded devnet)')
    .option('--port <port>', 'port of the inspector page on 127.0.0.1 (0: any free port)', portNumber, 0)
    .action(async (opts: { config?: string; port: number }) => {
      const inspector = await startInspectorServer({ port: opts.port });
      const net = opts.config ? undefined : await startDevnet({ listen: 'tcp://127.0.0.1:0' });
      const client = await ThinClient.connect(opts.config ?? net!.thinClientConfig, {
        inspect: inspector.inspect,
      });
      process.stdout.write(`inspector: ${inspector.url}\n`);
      const stop = async () => {
        await client.close();
        await inspector.close();
        await net?.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  registerCpCommand(program);
  return program;
}

/** Accepts the listener forms people type: host:port, tcp://host:port, unix:/path, unix:@name, ws://host:port. */
export function toListenUrl(listen: string): string {
  if (/^(tcp|unix|wss?):\/\//.test(listen)) return listen;
  if (listen.startsWith('unix:')) return `unix://${listen.slice(5)}`;
  if (listen.startsWith('/') || listen.startsWith('@')) return `unix://${listen}`;
  return `tcp://${listen}`;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function hexSeed(value: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('--seed must be 64 hex digits');
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

// Run when executed directly (node dist/src/cli/main.js, tsx src/cli/main.ts, or the bin link).
const invokedAs = process.argv[1] ?? '';
if (/(^|[\\/])(main\.[jt]s|pigeonhole)$/.test(invokedAs)) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`pigeonhole: ${(err as Error).message}\n`);
      process.exit(1);
    });
}

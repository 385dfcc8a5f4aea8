// `cp send FILE` and `cp recv SHARE OUT`: one end each, talking to a daemon.
import type { PigeonholeStore } from '../../pigeonhole/store.js';
import { type CommonOptions, daemonConfig, receiveTiming, stateStore } from './options.js';
import { type Bar, progressBar } from './progress.js';
import { receiveFile } from './receive.js';
import type { ClosableChannelClient, CpRuntime } from './runtime.js';
import { sendFile } from './send.js';
import { decodeCpShare } from './share.js';

export async function runSend(rt: CpRuntime, file: string, opts: CommonOptions): Promise<void> {
  await withDaemon(rt, opts, 'send', async (client, store, bar) => {
    const result = await sendFile(file, { client, ...(store ? { store } : {}), onProgress: bar.update });
    bar.stop();
    rt.stderr.write(
      `sent ${result.length} bytes in ${result.boxCount} boxes${result.resumed ? ' (resumed)' : ''}; receive with:\n`,
    );
    rt.stdout.write(`${result.share}\n`);
  });
}

export async function runRecv(rt: CpRuntime, share: string, out: string, opts: CommonOptions): Promise<void> {
  decodeCpShare(share);
  await withDaemon(rt, opts, 'recv', async (client, store, bar) => {
    const result = await receiveFile(share, out, {
      client,
      ...(store ? { store } : {}),
      onProgress: bar.update,
      ...receiveTiming(opts),
      ...(opts.force ? { force: true } : {}),
    });
    bar.stop();
    rt.stderr.write(`received ${result.length} bytes into ${out}\n`);
  });
}

/** Connects to the daemon with the --state store and a progress bar, and closes all three after `use`. */
async function withDaemon(
  rt: CpRuntime,
  opts: CommonOptions,
  label: string,
  use: (client: ClosableChannelClient, store: PigeonholeStore | undefined, bar: Bar) => Promise<void>,
): Promise<void> {
  const config = await daemonConfig(opts);
  const store = stateStore(opts);
  const client = await rt.connect(config);
  const bar = progressBar(rt, opts, label);
  try {
    await use(client, store, bar);
  } finally {
    bar.stop();
    await client.close();
    store?.close();
  }
}

// `cp FILE OUT`: both ends in this process, on the embedded devnet (or on --config's daemon).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../config.js';
import { type TransferProgress, WriteChannel } from '../../pigeonhole/channels.js';
import { framedBoxCount } from '../../pigeonhole/framing.js';
import { PigeonholeStore } from '../../pigeonhole/store.js';
import { hex, refuseExisting } from './files.js';
import { type CommonOptions, receiveTiming, stateStore } from './options.js';
import { multiBar } from './progress.js';
import { receiveFile } from './receive.js';
import type { ClosableChannelClient, CpRuntime } from './runtime.js';
import { encodeCpShare } from './share.js';

export async function runDemo(rt: CpRuntime, file: string, out: string, opts: CommonOptions): Promise<void> {
  await refuseExisting(out, opts.force);
  const data = new Uint8Array(await readFile(file));
  const net = opts.config ? undefined : await rt.startEmbeddedDevnet();
  const config = opts.config ? await loadConfig(opts.config) : net!.config;
  const store = stateStore(opts);
  const clients: ClosableChannelClient[] = [];
  const bars = multiBar(rt, opts);
  try {
    const sender = await rt.connect(config);
    clients.push(sender);
    const receiver = await rt.connect(config);
    clients.push(receiver);
    rt.stderr.write(
      `copying ${data.length} bytes of ${file} over ${net ? 'the embedded devnet' : `the daemon of ${opts.config}`}\n`,
    );
    const sendBar = bars.add('send', data.length);
    // The share is known before the first box is written, so the receiver starts at once and waits for
    // boxes as they land (the "wait for a message not yet written" path).
    const sent = await prepareShare(sender, data, store);
    const receiving = receiveFile(sent.share, out, {
      client: receiver,
      ...(store ? { store } : {}),
      onProgress: bars.add('recv', data.length).update,
      // On the embedded devnet both ends and the network share this process: polling faster than
      // ~250 ms only spends the CPU the writer needs on reads that find nothing yet.
      ...receiveTiming(opts, net ? 250 : undefined),
      ...(opts.force ? { force: true } : {}),
    });
    const sending = sent.send(sendBar.update);
    const [result] = await Promise.all([receiving, sending]);
    bars.stop();
    rt.stderr.write(`copied ${result.length} bytes in ${sent.boxCount} boxes into ${out}\n`);
  } finally {
    bars.stop();
    for (const c of clients) await c.close().catch(() => undefined);
    store?.close();
    await net?.stop();
  }
}

/** Creates the demo's channel and returns its share before sending. */
async function prepareShare(
  client: ClosableChannelClient,
  data: Uint8Array,
  store: PigeonholeStore | undefined,
): Promise<{
  share: string;
  boxCount: number;
  send(onProgress: (p: TransferProgress) => void): Promise<void>;
}> {
  const own = store === undefined;
  const s = store ?? PigeonholeStore.open(':memory:');
  const channel = await WriteChannel.create(s, client, `cp-demo:${hex(randomBytes(8))}`);
  const geometry = client.pigeonholeGeometry;
  const boxCount = geometry ? framedBoxCount(data.length, geometry.maxPlaintextPayloadLength) : 0;
  return {
    share: encodeCpShare({ readCap: channel.readCap, firstIndex: channel.firstIndex, length: data.length }),
    boxCount,
    async send(onProgress) {
      try {
        await channel.send(data, { onProgress });
      } finally {
        await channel.close();
        if (own) s.close();
      }
    },
  };
}

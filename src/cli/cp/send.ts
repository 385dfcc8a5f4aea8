// Sending a file as the one message of a WriteChannel named after its content (resumable).
import { readFile } from 'node:fs/promises';
import { indexCounter } from '../../crypto/bacap.js';
import { blake2b256 } from '../../crypto/hash.js';
import { InvalidArgumentError, ThinClientError } from '../../errors.js';
import { type ChannelClient, type TransferProgress, WriteChannel } from '../../pigeonhole/channels.js';
import { MAX_FRAMED_PAYLOAD_LENGTH } from '../../pigeonhole/framing.js';
import type { PigeonholeStore } from '../../pigeonhole/store.js';
import { hex } from './files.js';
import { encodeCpShare } from './share.js';
import { reportFinished, withStore } from './transfer.js';

export interface CpSendOptions {
  client: ChannelClient;
  /** Where the channel lives. Default: a private in-memory store. */
  store?: PigeonholeStore;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
}

export interface CpSendResult {
  share: string;
  length: number;
  boxCount: number;
  /** The channel already existed in the store (an earlier run was interrupted or had finished). */
  resumed: boolean;
}

/** Sends `data` as one message on the channel for this content; see the module comment on resuming. */
export async function sendBytes(data: Uint8Array, options: CpSendOptions): Promise<CpSendResult> {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data', 'must be a Uint8Array');
  if (data.length > MAX_FRAMED_PAYLOAD_LENGTH) {
    throw new InvalidArgumentError('data', `is ${data.length} bytes; at most ${MAX_FRAMED_PAYLOAD_LENGTH}`);
  }
  const name = `cp-send:${hex(blake2b256(data)).slice(0, 32)}:${data.length}`;
  return withStore(options.store, async (store) => {
    const existing = WriteChannel.list(store).includes(name);
    const channel = existing
      ? WriteChannel.open(store, options.client, name)
      : await WriteChannel.create(store, options.client, name);
    try {
      const boxCount = await sendOnce(channel, data, options);
      const share = encodeCpShare({
        readCap: channel.readCap,
        firstIndex: channel.firstIndex,
        length: data.length,
      });
      return { share, length: data.length, boxCount, resumed: existing };
    } finally {
      await channel.close();
    }
  });
}

/** Sends `data` unless the channel already holds it; flushes what an interrupted run left pending. */
async function sendOnce(channel: WriteChannel, data: Uint8Array, options: CpSendOptions): Promise<number> {
  const sendOpts = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  if (channel.messageCount === 0) return (await channel.send(data, sendOpts)).boxCount;
  const flushed = await channel.flush(sendOpts);
  const pendingLeft = channel.pending();
  if (pendingLeft.length > 0) throw new ThinClientError('ERR_CP', 'the file is still pending');
  const boxCount = flushed[0]?.boxCount ?? sentBoxCount(channel);
  if (flushed.length === 0) reportFinished(options.onProgress, boxCount, data.length);
  return boxCount;
}

function sentBoxCount(channel: WriteChannel): number {
  // The only message of a cp channel starts at firstIndex and ends at the channel's next index.
  return Number(indexCounter(channel.nextIndex) - indexCounter(channel.firstIndex));
}

export async function sendFile(path: string, options: CpSendOptions): Promise<CpSendResult> {
  const data = new Uint8Array(await readFile(path));
  return sendBytes(data, options);
}

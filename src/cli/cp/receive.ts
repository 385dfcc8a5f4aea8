// Receiving the file a share string points at, on a ReadChannel named after the share (resumable).
import { blake2b256 } from '../../crypto/hash.js';
import { ThinClientError } from '../../errors.js';
import {
  type ChannelClient,
  decodeBase64url,
  ReadChannel,
  type TransferProgress,
} from '../../pigeonhole/channels.js';
import type { PigeonholeStore } from '../../pigeonhole/store.js';
import { hex, refuseExisting, writeAtomically } from './files.js';
import { decodeCpShare } from './share.js';
import { reportFinished, withStore } from './transfer.js';

export interface CpReceiveOptions {
  client: ChannelClient;
  store?: PigeonholeStore;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  /** Give up when a box stays unwritten this long (ms). Default 120000. */
  timeoutMs?: number;
  /** Delay between two reads of a box not written yet (ms). Default 3000. */
  pollIntervalMs?: number;
}

/** Receives the file a share string points at. */
export async function receiveBytes(shareText: string, options: CpReceiveOptions): Promise<Uint8Array> {
  const share = decodeCpShare(shareText);
  const name = `cp-recv:${hex(blake2b256(decodeBase64url(shareText, 'share'))).slice(0, 32)}`;
  return withStore(options.store, async (store) => {
    const existing = ReadChannel.list(store).includes(name);
    const channel = existing
      ? ReadChannel.open(store, options.client, name)
      : ReadChannel.create(store, options.client, name, {
          readCap: share.readCap,
          firstIndex: share.firstIndex,
        });
    try {
      const stored = channel.messages()[0];
      const message =
        stored ??
        (await channel.receive({
          maxPayloadLength: share.length,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
        }));
      if (message.payload.length !== share.length) {
        throw new ThinClientError(
          'ERR_CP',
          `the channel holds ${message.payload.length} bytes but the share announces ${share.length}`,
        );
      }
      if (stored) reportFinished(options.onProgress, stored.boxCount, share.length);
      return message.payload;
    } finally {
      await channel.close();
    }
  });
}

export interface CpReceiveFileOptions extends CpReceiveOptions {
  /** Replace OUT if it exists. Default false: refuse before anything is read. */
  force?: boolean;
}

/** Receives into `outPath`, atomically (a temporary file in the same directory, then a rename). */
export async function receiveFile(
  shareText: string,
  outPath: string,
  options: CpReceiveFileOptions,
): Promise<{ length: number }> {
  decodeCpShare(shareText);
  await refuseExisting(outPath, options.force);
  const data = await receiveBytes(shareText, options);
  await writeAtomically(outPath, data);
  return { length: data.length };
}

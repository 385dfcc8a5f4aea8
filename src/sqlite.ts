/**
 * katzenpost-thin-client/sqlite: everything backed by SQLite (better-sqlite3), kept off the main entry so
 * that users who never open a store do not need the native module installed.
 */
import { createRequire } from 'node:module';

// Fail with an actionable message instead of a bare ERR_MODULE_NOT_FOUND from deep inside store.ts.
try {
  createRequire(import.meta.url).resolve('better-sqlite3');
} catch (err) {
  throw new Error('install better-sqlite3 to use katzenpost-thin-client/sqlite (npm install better-sqlite3)', {
    cause: err,
  });
}

export {
  ChannelBusyError,
  type ChannelClient,
  ChannelExistsError,
  ChannelNotFoundError,
  type ChannelShare,
  type CreateWriteChannelOptions,
  decodeChannelShare,
  encodeChannelShare,
  type FlushOptions,
  type PendingMessage,
  ReadChannel,
  type ReadChannelOptions,
  type ReceiveOptions,
  type ReceivedMessage,
  type SendOptions,
  type SentMessage,
  type TransferProgress,
  WriteChannel,
  type WriteChannelOptions,
} from './pigeonhole/channels.js';
export { SqliteCheckpointStore } from './pigeonhole/checkpointSqliteStore.js';
export { SqliteOfflineStorage } from './pigeonhole/offlineStore.js';
export { PigeonholeStore, StoreError } from './pigeonhole/store.js';

/**
 * katzenpost-thin-client/sqlite: everything backed by SQLite (better-sqlite3), kept off the main entry so
 * that users who never open a store do not need the native module installed (better-sqlite3 is an
 * optional peer dependency: importing this entry without it fails with Node's own module-not-found).
 */
export * from './pigeonhole/channelExports.js';
export {
  type CreateWriteChannelOptions,
  type FlushOptions,
  type PendingMessage,
  ReadChannel,
  type ReadChannelOptions,
  type ReceiveOptions,
  type SendOptions,
  type TransferProgress,
  WriteChannel,
  type WriteChannelOptions,
} from './pigeonhole/channels.js';
export { SqliteCheckpointStore } from './pigeonhole/checkpointSqliteStore.js';
export { SqliteOfflineStorage } from './pigeonhole/offlineStore.js';
export { PigeonholeStore, StoreError } from './pigeonhole/store.js';

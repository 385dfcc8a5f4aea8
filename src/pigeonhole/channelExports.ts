/**
 * The channel names both entries export (src/index.ts and src/sqlite.ts): the errors, share strings and
 * types that need no SQLite. One list, so the two entries cannot drift apart.
 */
export {
  ChannelBusyError,
  type ChannelClient,
  ChannelExistsError,
  ChannelNotFoundError,
  type ChannelShare,
  decodeChannelShare,
  encodeChannelShare,
  type ReceivedMessage,
  type SentMessage,
} from './channelTypes.js';

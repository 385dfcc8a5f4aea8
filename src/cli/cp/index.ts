/**
 * `pigeonhole cp`: copy a file over a Pigeonhole channel (the TypeScript counterpart of the Rust client's
 * pigeonhole-cp).
 *
 *   pigeonhole cp FILE OUT                 demo: send FILE and receive it into OUT, both ends in this
 *                                          process, on the embedded devnet (or on --config's daemon)
 *   pigeonhole cp send FILE                send FILE on a fresh channel; prints a share string
 *   pigeonhole cp recv SHARE OUT           receive the file a share string points at into OUT
 *
 * The file travels as one framed message of a durable WriteChannel (4-byte length prefix, as many boxes
 * as it needs). The share string carries what the receiver needs and nothing secret: the read cap, the
 * first index and the file length (base64url), so the receiver can show progress from the first box
 * and refuse a stream that announces a different length.
 *
 * `send` and `recv` talk to a daemon: the one --config names, else the usual local address
 * localhost:64331 (where kpclientd and `pigeonhole devnet` listen). With --state FILE the channel lives
 * in that SQLite file instead of memory, and an interrupted run resumes when re-run with the same
 * arguments: the send channel is named after the file's hash, the receive channel after the share.
 *
 * Layers, top down: command (commander) → runDemo, runSendRecv (one run each) → send, receive (no
 * process, no terminal: what the command and the tests call) → share, transfer, files; beside them
 * options, progress and runtime.
 */
export { registerCpCommand } from './command.js';
export {
  type CpReceiveFileOptions,
  type CpReceiveOptions,
  receiveBytes,
  receiveFile,
} from './receive.js';
export {
  type ClosableChannelClient,
  type CpRuntime,
  DEFAULT_DAEMON_CONFIG,
  defaultCpRuntime,
} from './runtime.js';
export { type CpSendOptions, type CpSendResult, sendBytes, sendFile } from './send.js';
export { type CpShare, decodeCpShare, encodeCpShare } from './share.js';

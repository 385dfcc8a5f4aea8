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
 */
import { randomBytes } from 'node:crypto';
import { access, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { type Config, loadConfig } from '../config.js';
import { indexCounter, MESSAGE_BOX_INDEX_SIZE, READ_CAP_SIZE } from '../crypto/bacap.js';
import { blake2b256 } from '../crypto/hash.js';
import { InvalidArgumentError, ThinClientError } from '../errors.js';
import {
  type ChannelClient,
  decodeBase64url,
  ReadChannel,
  type TransferProgress,
  WriteChannel,
} from '../pigeonhole/channels.js';
import { framedBoxCount, MAX_FRAMED_PAYLOAD_LENGTH } from '../pigeonhole/framing.js';
import { PigeonholeStore } from '../pigeonhole/store.js';

// ---------------------------------------------------------------------------------------------------------
// The share string

/** What `cp send` prints and `cp recv` takes. */
export interface CpShare {
  readCap: Uint8Array;
  firstIndex: Uint8Array;
  /** File length in bytes. */
  length: number;
}

const CP_SHARE_TAG = 0xc1; // "cp, version 1"; distinct from a channel share's leading 0x01
const CP_SHARE_SIZE = 1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE + 4;

/** `0xC1 ‖ readCap (136) ‖ firstIndex (104) ‖ length (u32 BE)`, base64url without padding. */
export function encodeCpShare(share: CpShare): string {
  if (!(share?.readCap instanceof Uint8Array) || share.readCap.length !== READ_CAP_SIZE) {
    throw new InvalidArgumentError('readCap', `expected ${READ_CAP_SIZE} bytes`);
  }
  if (!(share.firstIndex instanceof Uint8Array) || share.firstIndex.length !== MESSAGE_BOX_INDEX_SIZE) {
    throw new InvalidArgumentError('firstIndex', `expected ${MESSAGE_BOX_INDEX_SIZE} bytes`);
  }
  if (!Number.isSafeInteger(share.length) || share.length < 0 || share.length > MAX_FRAMED_PAYLOAD_LENGTH) {
    throw new InvalidArgumentError('length', `must be an integer in [0, ${MAX_FRAMED_PAYLOAD_LENGTH}]`);
  }
  const out = new Uint8Array(CP_SHARE_SIZE);
  out[0] = CP_SHARE_TAG;
  out.set(share.readCap, 1);
  out.set(share.firstIndex, 1 + READ_CAP_SIZE);
  new DataView(out.buffer).setUint32(1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE, share.length, false);
  return Buffer.from(out).toString('base64url');
}

export function decodeCpShare(text: string): CpShare {
  const bytes = decodeBase64url(text, 'share');
  if (bytes.length !== CP_SHARE_SIZE || bytes[0] !== CP_SHARE_TAG) {
    throw new InvalidArgumentError('share', 'is not a `pigeonhole cp send` share string');
  }
  return {
    readCap: bytes.slice(1, 1 + READ_CAP_SIZE),
    firstIndex: bytes.slice(1 + READ_CAP_SIZE, 1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE),
    length: new DataView(bytes.buffer).getUint32(1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE, false),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Core send / receive (no process, no terminal: what the command and the tests call)

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
  const own = options.store === undefined;
  const store = options.store ?? PigeonholeStore.open(':memory:');
  const name = `cp-send:${hex(blake2b256(data)).slice(0, 32)}:${data.length}`;
  try {
    const existing = WriteChannel.list(store).includes(name);
    const channel = existing
      ? WriteChannel.open(store, options.client, name)
      : await WriteChannel.create(store, options.client, name);
    try {
      let boxCount: number;
      const sendOpts = {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      };
      if (channel.messageCount === 0) {
        boxCount = (await channel.send(data, sendOpts)).boxCount;
      } else {
        const flushed = await channel.flush(sendOpts);
        const pendingLeft = channel.pending();
        if (pendingLeft.length > 0) throw new ThinClientError('ERR_CP', 'the file is still pending');
        boxCount = flushed[0]?.boxCount ?? sentBoxCount(channel);
        if (flushed.length === 0) {
          options.onProgress?.({
            boxesDone: boxCount,
            boxesTotal: boxCount,
            bytesDone: data.length,
            bytesTotal: data.length,
          });
        }
      }
      const share = encodeCpShare({
        readCap: channel.readCap,
        firstIndex: channel.firstIndex,
        length: data.length,
      });
      return { share, length: data.length, boxCount, resumed: existing };
    } finally {
      await channel.close();
    }
  } finally {
    if (own) store.close();
  }
}

function sentBoxCount(channel: WriteChannel): number {
  // The only message of a cp channel starts at firstIndex and ends at the channel's next index.
  return Number(indexCounter(channel.nextIndex) - indexCounter(channel.firstIndex));
}

export async function sendFile(path: string, options: CpSendOptions): Promise<CpSendResult> {
  const data = new Uint8Array(await readFile(path));
  return sendBytes(data, options);
}

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
  const own = options.store === undefined;
  const store = options.store ?? PigeonholeStore.open(':memory:');
  const name = `cp-recv:${hex(blake2b256(decodeBase64url(shareText, 'share'))).slice(0, 32)}`;
  try {
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
      if (stored) {
        options.onProgress?.({
          boxesDone: stored.boxCount,
          boxesTotal: stored.boxCount,
          bytesDone: share.length,
          bytesTotal: share.length,
        });
      }
      return message.payload;
    } finally {
      await channel.close();
    }
  } finally {
    if (own) store.close();
  }
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
  if (!options.force && (await exists(outPath))) {
    throw new ThinClientError('ERR_CP', `${outPath} exists; pass --force to replace it`);
  }
  const data = await receiveBytes(shareText, options);
  const tmp = join(dirname(outPath), `.${basename(outPath)}.${hex(randomBytes(6))}.part`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { length: data.length };
}

// ---------------------------------------------------------------------------------------------------------
// The command

/** A connected client the command can close. ThinClient is one. */
export type ClosableChannelClient = ChannelClient & { close(): Promise<void> };

/** How the command reaches a daemon; tests and the main program may substitute their own. */
export interface CpRuntime {
  connect(config: Config): Promise<ClosableChannelClient>;
  startEmbeddedDevnet(): Promise<{ config: Config; stop(): Promise<void> }>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Draw progress bars (default: when stderr is a terminal). */
  progress?: boolean;
}

/** The usual local daemon address (kpclientd's example thinclient.toml, `pigeonhole devnet`). */
export const DEFAULT_DAEMON_CONFIG: Config = { dial: { type: 'tcp', address: 'localhost:64331' } };

export async function defaultCpRuntime(): Promise<CpRuntime> {
  const [{ ThinClient }, { startDevnet }] = await Promise.all([
    import('../client.js'),
    import('../devnet/index.js'),
  ]);
  return {
    connect: async (config) => (await ThinClient.connect(config)) as unknown as ClosableChannelClient,
    startEmbeddedDevnet: async () => {
      // Ed25519 authorities: the PKI scheme does not matter to cp, and Falcon key generation would
      // add seconds to every demo start.
      const net = await startDevnet({
        listen: 'tcp://127.0.0.1:0',
        profile: 'instant',
        authorityScheme: 'Ed25519',
      });
      return { config: net.thinClientConfig, stop: () => net.stop() };
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

interface CommonOptions {
  config?: string;
  state?: string;
  quiet?: boolean;
  timeout?: number;
  poll?: number;
  force?: boolean;
}

/**
 * Adds `cp` (with `send` and `recv`) to a commander program. `runtime` defaults to the real ThinClient
 * and embedded devnet.
 */
export function registerCpCommand(
  program: Command,
  runtime?: CpRuntime | (() => Promise<CpRuntime>),
): Command {
  const getRuntime = async (): Promise<CpRuntime> =>
    typeof runtime === 'function' ? runtime() : (runtime ?? defaultCpRuntime());

  const cp = program
    .command('cp')
    .description(
      'copy a file over a Pigeonhole channel: `cp FILE OUT` (demo, embedded devnet), `cp send FILE`, `cp recv SHARE OUT`',
    )
    .argument('[file]', 'file to send (demo mode)')
    .argument('[out]', 'where to write the received copy (demo mode)')
    .option(
      '-c, --config <thinclient.toml>',
      'daemon to use (send/recv default: localhost:64331; demo default: embedded devnet)',
    )
    .option(
      '--state <file.db>',
      'keep channel state in this SQLite file, so an interrupted run can be resumed',
    )
    .addOption(
      new Option('--timeout <seconds>', 'give up when a box stays unwritten this long')
        .argParser(seconds)
        .default(120),
    )
    .addOption(
      new Option('--poll <ms>', 'delay between reads of a box not written yet').argParser(milliseconds),
    )
    .option('-f, --force', 'replace OUT if it exists')
    .option('-q, --quiet', 'no progress bar')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Examples:
  pigeonhole cp photo.jpg copy.jpg                      both ends here, on an embedded devnet
  pigeonhole cp send photo.jpg -c thinclient.toml       prints SHARE (read cap, first index, length)
  pigeonhole cp recv SHARE copy.jpg -c thinclient.toml  on the other side
  pigeonhole cp send big.iso --state cp.db              re-run the same command to resume`,
    )
    .action(async (file: string | undefined, out: string | undefined, _opts: unknown, cmd: Command) => {
      if (!file || !out) {
        cmd.help({ error: true });
        return;
      }
      const opts = cmd.opts<CommonOptions>();
      await runDemo(await getRuntime(), file, out, opts);
    });

  cp.command('send')
    .description('send FILE on a channel of its own and print the share string the receiver needs')
    .configureHelp({ showGlobalOptions: true })
    .argument('<file>', 'file to send')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      await runSend(await getRuntime(), file, cmd.optsWithGlobals<CommonOptions>());
    });

  cp.command('recv')
    .alias('receive')
    .description('receive the file SHARE points at into OUT')
    .configureHelp({ showGlobalOptions: true })
    .argument('<share>', 'the string `cp send` printed')
    .argument('<out>', 'file to write')
    .action(async (share: string, out: string, _opts: unknown, cmd: Command) => {
      await runRecv(await getRuntime(), share, out, cmd.optsWithGlobals<CommonOptions>());
    });

  return cp;
}

async function runSend(rt: CpRuntime, file: string, opts: CommonOptions): Promise<void> {
  const config = opts.config ? await loadConfig(opts.config) : DEFAULT_DAEMON_CONFIG;
  const store = opts.state ? PigeonholeStore.open(opts.state) : undefined;
  const client = await rt.connect(config);
  const bar = progressBar(rt, opts, 'send');
  try {
    const result = await sendFile(file, { client, ...(store ? { store } : {}), onProgress: bar.update });
    bar.stop();
    rt.stderr.write(
      `sent ${result.length} bytes in ${result.boxCount} boxes${result.resumed ? ' (resumed)' : ''}; receive with:\n`,
    );
    rt.stdout.write(`${result.share}\n`);
  } finally {
    bar.stop();
    await client.close();
    store?.close();
  }
}

async function runRecv(rt: CpRuntime, share: string, out: string, opts: CommonOptions): Promise<void> {
  decodeCpShare(share);
  const config = opts.config ? await loadConfig(opts.config) : DEFAULT_DAEMON_CONFIG;
  const store = opts.state ? PigeonholeStore.open(opts.state) : undefined;
  const client = await rt.connect(config);
  const bar = progressBar(rt, opts, 'recv');
  try {
    const result = await receiveFile(share, out, {
      client,
      ...(store ? { store } : {}),
      onProgress: bar.update,
      ...receiveTiming(opts),
      ...(opts.force ? { force: true } : {}),
    });
    bar.stop();
    rt.stderr.write(`received ${result.length} bytes into ${out}\n`);
  } finally {
    bar.stop();
    await client.close();
    store?.close();
  }
}

async function runDemo(rt: CpRuntime, file: string, out: string, opts: CommonOptions): Promise<void> {
  if (!opts.force && (await exists(out))) {
    throw new ThinClientError('ERR_CP', `${out} exists; pass --force to replace it`);
  }
  const data = new Uint8Array(await readFile(file));
  const net = opts.config ? undefined : await rt.startEmbeddedDevnet();
  const config = opts.config ? await loadConfig(opts.config) : net!.config;
  const store = opts.state ? PigeonholeStore.open(opts.state) : undefined;
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

function receiveTiming(
  opts: CommonOptions,
  defaultPollMs?: number,
): { timeoutMs?: number; pollIntervalMs?: number } {
  const poll = opts.poll ?? defaultPollMs;
  return {
    ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
    ...(poll !== undefined ? { pollIntervalMs: poll } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Progress bars (stderr, only on a terminal unless the runtime says otherwise)

interface Bar {
  update: (p: TransferProgress) => void;
  stop: () => void;
}

const BAR_FORMAT = '{label} [{bar}] {percentage}% | {value}/{total} bytes | {boxes} boxes';

function wantBars(rt: CpRuntime, opts: CommonOptions): boolean {
  if (opts.quiet) return false;
  return rt.progress ?? Boolean((rt.stderr as NodeJS.WriteStream).isTTY);
}

function progressBar(rt: CpRuntime, opts: CommonOptions, label: string): Bar {
  if (!wantBars(rt, opts)) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: BAR_FORMAT, stream: rt.stderr as NodeJS.WriteStream, noTTYOutput: true, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    update: (p) => {
      const payload = { label, boxes: `${p.boxesDone}/${p.boxesTotal ?? '?'}` };
      if (!started) {
        bar.start(p.bytesTotal ?? 0, p.bytesDone, payload);
        started = true;
      } else {
        if (p.bytesTotal !== undefined) bar.setTotal(p.bytesTotal);
        bar.update(p.bytesDone, payload);
      }
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

function multiBar(
  rt: CpRuntime,
  opts: CommonOptions,
): { add(label: string, total: number): Bar; stop(): void } {
  if (!wantBars(rt, opts)) {
    const none = { update: () => undefined, stop: () => undefined };
    return { add: () => none, stop: () => undefined };
  }
  const multi = new MultiBar(
    { format: BAR_FORMAT, stream: rt.stderr as NodeJS.WriteStream, noTTYOutput: true, hideCursor: true },
    Presets.shades_classic,
  );
  let stopped = false;
  return {
    add(label, total) {
      const bar = multi.create(total, 0, { label, boxes: '0/?' });
      return {
        update: (p) => bar.update(p.bytesDone, { label, boxes: `${p.boxesDone}/${p.boxesTotal ?? '?'}` }),
        stop: () => bar.stop(),
      };
    },
    stop() {
      if (!stopped) multi.stop();
      stopped = true;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new CommanderArgumentError('must be a non-negative number of seconds');
  return n;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new CommanderArgumentError('must be a non-negative number of milliseconds');
  return n;
}

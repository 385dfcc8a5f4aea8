/**
 * The mixed operations of a chaos run and the ledger of what each one left in the network: local
 * requests (checked against the local BACAP code), single-box writes, reads of written boxes,
 * tombstones, copy commands (copyToChannel) and windowed streams (writeStream / readStream). Each
 * operation checks its own result; `verify` then reads back every box the run touched.
 */
import { randomBytes } from 'node:crypto';
import { indexCounter, nextIndex } from '../../src/crypto/bacap.js';
import type { Drbg } from '../../src/devnet/rng.js';
import { BoxIdNotFoundError, TombstoneError } from '../../src/errors.js';
import { copyToChannel, MemoryCheckpointStore, type ThinClient } from '../../src/index.js';
import { streamBoxCount } from '../../src/pigeonhole/streams.js';
import type { Tally } from './tally.js';

interface Channel {
  writeCap: Uint8Array;
  readCap: Uint8Array;
  next: Uint8Array;
}

type BoxState = 'writing' | 'written' | 'unknown' | 'tombstoning' | 'tombstoned';

interface Box {
  channel: Channel;
  index: Uint8Array;
  plaintext: Uint8Array;
  state: BoxState;
  reads: number;
}

interface Stream {
  channel: Channel;
  start: Uint8Array;
  payload: Uint8Array;
  /** Known complete (the write resolved); else it may be partial. */
  complete: boolean;
}

export type OpKind = 'local' | 'write' | 'read' | 'tombstone' | 'copy' | 'stream';
const WEIGHTS: [OpKind, number][] = [
  ['local', 40],
  ['write', 22],
  ['read', 18],
  ['tombstone', 7],
  ['copy', 5],
  ['stream', 8],
];

const bytes = (n: number) => new Uint8Array(randomBytes(n));

export class Workload {
  private readonly channels: Channel[] = [];
  private readonly boxes: Box[] = [];
  private readonly streams: Stream[] = [];
  readonly byKind = new Map<OpKind, number>();

  constructor(
    private readonly client: ThinClient,
    private readonly rng: Drbg,
    private readonly tally: Tally,
  ) {}

  /** Boxes per stream box: MaxPlaintextPayloadLength − 4. */
  private get per(): number {
    return this.client.pigeonholeGeometry.maxPlaintextPayloadLength - 4;
  }

  /** A few channels to write single boxes into. */
  async setup(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.channels.push(await this.newChannel());
  }

  private async newChannel(): Promise<Channel> {
    const kp = await this.client.newKeypair(bytes(32));
    return { writeCap: kp.writeCap, readCap: kp.readCap, next: kp.firstMessageIndex };
  }

  private pick(): OpKind {
    let r = this.rng.int(WEIGHTS.reduce((s, [, w]) => s + w, 0));
    for (const [kind, w] of WEIGHTS) {
      if (r < w) return kind;
      r -= w;
    }
    return 'local';
  }

  /** Starts one random operation; resolves when it has ended (counted in the tally). */
  next(): Promise<void> {
    const kind = this.pick();
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    return this.tally.run(kind, () => this[kind]());
  }

  private async local(): Promise<void> {
    const c = this.channels[this.rng.int(this.channels.length)]!;
    const at = c.next;
    switch (this.rng.int(3)) {
      case 0: {
        const got = await this.client.nextMessageBoxIndex(at);
        if (!eq(got, nextIndex(at))) this.tally.wrongBytesIn('nextMessageBoxIndex');
        return;
      }
      case 1: {
        const got = await this.client.getMessageBoxIndexCounter(at);
        if (got !== indexCounter(at)) this.tally.wrongBytesIn('getMessageBoxIndexCounter');
        return;
      }
      default:
        await this.client.encryptRead(c.readCap, at);
    }
  }

  private async write(): Promise<void> {
    const c = this.channels[this.rng.int(this.channels.length)]!;
    const box: Box = {
      channel: c,
      index: c.next,
      plaintext: bytes(1 + this.rng.int(200)),
      state: 'writing',
      reads: 0,
    };
    c.next = nextIndex(c.next);
    this.boxes.push(box);
    try {
      const w = await this.client.encryptWrite(box.plaintext, c.writeCap, box.index);
      await this.client.startResendingEncryptedMessage({ writeCap: c.writeCap, ...w });
      box.state = 'written';
    } catch (err) {
      box.state = 'unknown';
      throw err;
    }
  }

  private async read(): Promise<void> {
    const box = this.readable();
    if (!box) return this.local();
    box.reads++;
    try {
      const got = await this.readBox(box.channel.readCap, box.index);
      if (!eq(got, box.plaintext)) this.tally.wrongBytesIn('read');
    } finally {
      box.reads--;
    }
  }

  private async tombstone(): Promise<void> {
    const box = this.readable();
    if (!box || box.reads > 0) return this.local();
    box.state = 'tombstoning';
    const c = box.channel;
    try {
      const t = await this.client.tombstoneRange(c.writeCap, box.index, 1);
      await this.client.startResendingEncryptedMessage({ writeCap: c.writeCap, ...t.envelopes[0]! });
      box.state = 'tombstoned';
    } catch (err) {
      box.state = 'unknown';
      throw err;
    }
  }

  private async copy(): Promise<void> {
    const stream = await this.newStream(1 + this.rng.int(2));
    await copyToChannel(this.client, stream.payload, stream.channel.writeCap, stream.start, {
      checkpointStore: new MemoryCheckpointStore(),
    });
    stream.complete = true;
  }

  private async stream(): Promise<void> {
    const done = this.streams.filter((s) => s.complete);
    if (done.length > 0 && this.rng.chance(0.4)) {
      const s = done[this.rng.int(done.length)]!;
      const got = await this.client.readStream(s.channel.readCap, s.start, this.boxCount(s), 3, {
        pacing: false,
      });
      if (!eq(got.data, s.payload)) this.tally.wrongBytesIn('readStream');
      return;
    }
    const s = await this.newStream(2 + this.rng.int(3));
    await this.client.writeStream(s.channel.writeCap, s.start, s.payload, 3, { pacing: false });
    s.complete = true;
  }

  private async newStream(boxes: number): Promise<Stream> {
    const channel = await this.newChannel();
    const payload = bytes((boxes - 1) * this.per + 1 + this.rng.int(this.per));
    const s: Stream = { channel, start: channel.next, payload, complete: false };
    this.streams.push(s);
    return s;
  }

  private boxCount(s: Stream): number {
    return streamBoxCount(s.payload.length, this.per);
  }

  private readable(): Box | undefined {
    const written = this.boxes.filter((b) => b.state === 'written');
    return written.length > 0 ? written[this.rng.int(written.length)] : undefined;
  }

  private async readBox(readCap: Uint8Array, index: Uint8Array, noRetry = false): Promise<Uint8Array> {
    const r = await this.client.encryptRead(readCap, index);
    const got = await this.client.startResendingEncryptedMessage({
      readCap,
      messageBoxIndex: index,
      ...r,
      ...(noRetry ? { noRetryOnBoxIdNotFound: true } : {}),
    });
    return got.plaintext;
  }

  /**
   * Reads back everything the run touched: written boxes hold their message, tombstoned ones are
   * tombstones, a box whose operation failed holds its message or nothing, every complete stream holds
   * exactly its payload and no box after it. Returns the number of boxes checked.
   */
  async verify(): Promise<number> {
    let checked = 0;
    const check = async (what: string, fn: () => Promise<boolean>) => {
      checked++;
      let ok = false;
      try {
        ok = await fn();
      } catch (err) {
        this.tally.wrong.push(`${what}: ${String(err)}`);
      }
      if (!ok) this.tally.wrongBytesIn(what);
    };
    const jobs: (() => Promise<void>)[] = [];
    for (const b of this.boxes) {
      const { readCap } = b.channel;
      jobs.push(() =>
        check(`box ${b.state}`, async () => {
          if (b.state === 'written') return eq(await this.readBox(readCap, b.index), b.plaintext);
          const outcome = await this.readBox(readCap, b.index, true).then(
            (p) => p,
            (e: unknown) => e,
          );
          if (b.state === 'tombstoned') return outcome instanceof TombstoneError;
          // A failed write or tombstone: either it happened or it did not; nothing else is allowed.
          return (
            outcome instanceof BoxIdNotFoundError ||
            outcome instanceof TombstoneError ||
            (outcome instanceof Uint8Array && eq(outcome, b.plaintext))
          );
        }),
      );
    }
    for (const s of this.streams.filter((x) => x.complete)) {
      jobs.push(() =>
        check('stream', async () => {
          const got = await this.client.readStream(s.channel.readCap, s.start, this.boxCount(s), 4, {
            pacing: false,
          });
          if (!eq(got.data, s.payload)) return false;
          const after = await this.readBox(s.channel.readCap, got.nextIndex, true).then(
            () => 'a box after the end',
            (e: unknown) => e,
          );
          return after instanceof BoxIdNotFoundError;
        }),
      );
    }
    await runAll(jobs, 32);
    return checked;
  }
}

/** Runs `jobs` with at most `limit` at a time. */
async function runAll(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

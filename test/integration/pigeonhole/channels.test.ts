/**
 * Durable channels against the devnet over a real socket: single- and multi-box messages, state that
 * survives closing the store, waiting for a message not yet written, tombstones, aborts, a box someone
 * else filled, and a send attempted while the daemon has no mixnet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ThinClient } from '../../../src/client.js';
import { indexCounter } from '../../../src/crypto/bacap.js';
import {
  BoxAlreadyExistsError,
  BoxIdNotFoundError,
  isExpectedOutcome,
  TombstoneError,
} from '../../../src/errors.js';
import {
  type ChannelClient,
  decodeChannelShare,
  encodeChannelShare,
  ReadChannel,
  WriteChannel,
} from '../../../src/pigeonhole/channels.js';
import { PigeonholeStore } from '../../../src/pigeonhole/store.js';
import { useDevnetClients } from '../../helpers/devnetClient.js';

const text = (s: string) => new TextEncoder().encode(s);

const env = useDevnetClients(2, {}, { reconnect: { initialDelayMs: 10 } });
let writerClient: ThinClient;
let readerClient: ThinClient;
let dir: string;
let boxSize: number;

beforeAll(() => {
  [writerClient, readerClient] = env.clients as [ThinClient, ThinClient];
  boxSize = writerClient.pigeonholeGeometry!.maxPlaintextPayloadLength;
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-ch-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A writer in one store file and a reader (another client, another file) following it. */
async function pair(
  name: string,
  readerOptions = { pollIntervalMs: 5 },
  readerSide: ChannelClient = readerClient,
) {
  const wStore = PigeonholeStore.open(join(dir, `${name}-w.db`));
  const rStore = PigeonholeStore.open(join(dir, `${name}-r.db`));
  const writer = await WriteChannel.create(wStore, writerClient, name);
  const share = decodeChannelShare(encodeChannelShare(writer.share()));
  const reader = ReadChannel.create(rStore, readerSide, name, share, readerOptions);
  return {
    writer,
    reader,
    async close() {
      await writer.close();
      await reader.close();
      wStore.close();
      rStore.close();
    },
  };
}

async function tombstone(writer: WriteChannel, index: Uint8Array, count = 1): Promise<void> {
  const t = await writerClient.tombstoneRange(writer.writeCap, index, count);
  for (const e of t.envelopes) {
    await writerClient.startResendingEncryptedMessage({
      writeCap: writer.writeCap,
      envelopeDescriptor: e.envelopeDescriptor,
      messageCiphertext: e.messageCiphertext,
      envelopeHash: e.envelopeHash,
    });
  }
}

describe('durable channels on the devnet', () => {
  it('deliver one-box, multi-box and empty messages in order', async () => {
    const p = await pair('basic');
    const messages = [text('hello'), new Uint8Array(3 * boxSize).fill(0x5a), new Uint8Array(0), text('bye')];
    for (const m of messages) await p.writer.send(m);
    for (const [i, m] of messages.entries()) {
      const got = await p.reader.receive({ timeoutMs: 0 });
      expect(got.seq).toBe(i);
      expect(got.payload).toEqual(m);
    }
    expect(p.reader.messages().map((m) => m.payload)).toEqual(messages);
    expect(indexCounter(p.reader.nextIndex)).toBe(indexCounter(p.writer.nextIndex));
    await p.close();
  });

  it('lay a multi-box message over consecutive boxes with the 4-byte length prefix in the first', async () => {
    const p = await pair('layout');
    const payload = new Uint8Array(boxSize + 10).map((_, i) => i & 0xff);
    const sent = await p.writer.send(payload);
    expect(sent.boxCount).toBe(2);
    expect(indexCounter(sent.nextIndex) - indexCounter(sent.startIndex)).toBe(2n);
    // Read the raw boxes the way the guide's hand loop does.
    const boxes: Uint8Array[] = [];
    let index = sent.startIndex;
    for (let i = 0; i < 2; i += 1) {
      const r = await readerClient.encryptRead(p.writer.readCap, index);
      const res = await readerClient.startResendingEncryptedMessage({
        readCap: p.writer.readCap,
        messageBoxIndex: index,
        envelopeDescriptor: r.envelopeDescriptor,
        messageCiphertext: r.messageCiphertext,
        envelopeHash: r.envelopeHash,
      });
      boxes.push(res.plaintext);
      index = r.nextMessageBoxIndex;
    }
    expect(boxes[0]!.length).toBe(boxSize);
    expect(new DataView(boxes[0]!.buffer, boxes[0]!.byteOffset).getUint32(0, false)).toBe(boxSize + 10);
    expect(boxes[1]!.length).toBe(14);
    await p.close();
  });

  it('continue from where they were after the store is closed and reopened', async () => {
    const wPath = join(dir, 'persist-w.db');
    const rPath = join(dir, 'persist-r.db');
    let wStore = PigeonholeStore.open(wPath);
    let rStore = PigeonholeStore.open(rPath);
    let writer = await WriteChannel.create(wStore, writerClient, 'persist');
    let reader = ReadChannel.create(rStore, readerClient, 'persist', writer.share(), { pollIntervalMs: 5 });
    await writer.send(text('one'));
    expect((await reader.receive({ timeoutMs: 0 })).payload).toEqual(text('one'));
    await writer.close();
    await reader.close();
    wStore.close();
    rStore.close();

    wStore = PigeonholeStore.open(wPath);
    rStore = PigeonholeStore.open(rPath);
    writer = WriteChannel.open(wStore, writerClient, 'persist');
    reader = ReadChannel.open(rStore, readerClient, 'persist', { pollIntervalMs: 5 });
    await writer.send(text('two'));
    const got = await reader.receive({ timeoutMs: 0 });
    expect(got).toMatchObject({ seq: 1, payload: text('two') });
    await writer.close();
    await reader.close();
    wStore.close();
    rStore.close();
  });

  it('wait for a message that has not been written yet', async () => {
    const watched = watchMisses(readerClient);
    const p = await pair('wait', { pollIntervalMs: 5 }, watched.client);
    const progress: number[] = [];
    const receiving = p.reader.receive({ timeoutMs: 60_000, onProgress: (x) => progress.push(x.boxesDone) });
    // The reader finds the box empty before the writer writes it.
    await watched.firstMiss;
    await p.writer.send(new Uint8Array(2 * boxSize).fill(1));
    const got = await receiving;
    expect(got.payload).toEqual(new Uint8Array(2 * boxSize).fill(1));
    expect(progress.at(-1)).toBe(3);
    await p.close();
  });

  it('give up on an unwritten box after the timeout with BoxIdNotFoundError, index unchanged', async () => {
    const p = await pair('timeout');
    const before = p.reader.nextIndex;
    const err = await p.reader.receive({ timeoutMs: 20, pollIntervalMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoxIdNotFoundError);
    expect(isExpectedOutcome(err)).toBe(true);
    expect(p.reader.nextIndex).toEqual(before);
    await p.close();
  });

  it('end the read with TombstoneError at a tombstoned box and stay on it', async () => {
    const p = await pair('tomb');
    await p.writer.send(text('last words'));
    await tombstone(p.writer, p.writer.nextIndex);
    expect((await p.reader.receive({ timeoutMs: 0 })).payload).toEqual(text('last words'));
    const at = p.reader.nextIndex;
    const err = await p.reader.receive({ timeoutMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TombstoneError);
    expect(isExpectedOutcome(err)).toBe(true);
    expect(p.reader.nextIndex).toEqual(at);
    expect(p.reader.messageCount).toBe(1);
    await p.close();
  });

  it('end the read with TombstoneError when a box inside a multi-box message was deleted', async () => {
    const p = await pair('tomb-mid');
    const sent = await p.writer.send(new Uint8Array(2 * boxSize).fill(7));
    expect(sent.boxCount).toBe(3);
    const { nextIndex } = await import('../../../src/crypto/bacap.js');
    await tombstone(p.writer, nextIndex(sent.startIndex));
    await expect(p.reader.receive({ timeoutMs: 0 })).rejects.toBeInstanceOf(TombstoneError);
    expect(p.reader.nextIndex).toEqual(sent.startIndex);
    await p.close();
  });

  it('reject a receive with the signal reason when aborted while waiting, index unchanged', async () => {
    const watched = watchMisses(readerClient);
    const p = await pair('abort', { pollIntervalMs: 60_000 }, watched.client);
    const ac = new AbortController();
    const receiving = p.reader.receive({ signal: ac.signal, timeoutMs: 120_000 });
    const reason = new Error('user gave up');
    // Abort while the reader sleeps between two polls.
    await watched.firstMiss;
    ac.abort(reason);
    await expect(receiving).rejects.toBe(reason);
    expect(p.reader.nextIndex).toEqual(p.reader.firstIndex);
    await p.close();
  });

  it('refuse to advance past a box that already holds a different message, keeping ours pending', async () => {
    const p = await pair('conflict');
    const intruder = await writerClient.encryptWrite(text('intruder'), p.writer.writeCap, p.writer.nextIndex);
    await writerClient.startResendingEncryptedMessage({
      writeCap: p.writer.writeCap,
      envelopeDescriptor: intruder.envelopeDescriptor,
      messageCiphertext: intruder.messageCiphertext,
      envelopeHash: intruder.envelopeHash,
      noIdempotentBoxAlreadyExists: true,
    });
    const err = await p.writer.send(text('mine')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoxAlreadyExistsError);
    expect((err as Error).message).toMatch(/already holds different content; message 0 stays pending/);
    expect(p.writer.pending().map((m) => m.seq)).toEqual([0]);
    expect(p.writer.nextIndex).toEqual(p.writer.firstIndex);
    await p.close();
  });

  it('send with the one-round-trip write when confirmWrites is off', async () => {
    const store = PigeonholeStore.open(join(dir, 'fast.db'));
    const writer = await WriteChannel.create(store, writerClient, 'fast', { confirmWrites: false });
    const reader = ReadChannel.create(store, readerClient, 'fast-r', writer.share(), { pollIntervalMs: 5 });
    await writer.send(text('quick'));
    expect((await reader.receive({ timeoutMs: 5_000 })).payload).toEqual(text('quick'));
    await writer.close();
    await reader.close();
    store.close();
  });

  it('keep working across a daemon restart (new instance token, same network storage)', async () => {
    const p = await pair('restart');
    await p.writer.send(text('before'));
    const token = env.net.instanceToken();
    const back = Promise.all([reconnected(writerClient), reconnected(readerClient)]);
    await env.net.restartDaemon();
    await back;
    expect(env.net.instanceToken()).not.toEqual(token);
    await p.writer.send(text('after'));
    expect((await p.reader.receive({ timeoutMs: 0 })).payload).toEqual(text('before'));
    expect((await p.reader.receive({ timeoutMs: 0 })).payload).toEqual(text('after'));
    await p.close();
  });

  it('keep a message sent while the mixnet is down and deliver it on flush once it is back', async () => {
    const p = await pair('offline');
    env.net.setMixnetConnected(false);
    try {
      await expect(p.writer.send(text('queued'))).rejects.toThrow();
      expect(p.writer.pending().map((m) => m.seq)).toEqual([0]);
    } finally {
      env.net.setMixnetConnected(true);
    }
    await waitConnected(writerClient);
    const flushed = await p.writer.flush();
    expect(flushed.map((m) => m.seq)).toEqual([0]);
    expect((await p.reader.receive({ timeoutMs: 0 })).payload).toEqual(text('queued'));
    await p.close();
  });
});

/** The client as is, plus a promise that settles when a read first finds its box not written yet. */
function watchMisses(client: ThinClient): { client: ChannelClient; firstMiss: Promise<void> } {
  let missed!: () => void;
  const firstMiss = new Promise<void>((resolve) => {
    missed = resolve;
  });
  const watched: ChannelClient = {
    get pigeonholeGeometry() {
      return client.pigeonholeGeometry;
    },
    newKeypair: (seed) => client.newKeypair(seed),
    encryptWrite: (p, cap, index) => client.encryptWrite(p, cap, index),
    encryptRead: (cap, index) => client.encryptRead(cap, index),
    async startResendingEncryptedMessage(request, options) {
      try {
        return await client.startResendingEncryptedMessage(request, options);
      } catch (err) {
        if (err instanceof BoxIdNotFoundError) missed();
        throw err;
      }
    },
  };
  return { client: watched, firstMiss };
}

/**
 * Resolves when the client has redialled and finished the handshake (daemonConnected). The
 * connectionStatus event of the new daemon arrives before the handshake completes, so it is not the
 * signal to wait for.
 */
function reconnected(client: ThinClient): Promise<void> {
  return new Promise((resolve) => {
    const off = client.on('daemonConnected', () => {
      off();
      resolve();
    });
  });
}

function waitConnected(client: ThinClient): Promise<void> {
  if (client.isConnected()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.on('connectionStatus', (ev) => {
      if (ev.isConnected) {
        off();
        resolve();
      }
    });
  });
}

/**
 * writeStream / readStream with an in-memory stand-in for the client: box framing and indices, the
 * window bound, selective retry of failed boxes only, failure and abort handling, the automatic
 * window, and the admission-gap distribution. (The same functions run against the devnet in
 * test/integration/pigeonhole/stream.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { exponentialGapMs, isRetryableBoxError } from '../../../actors/window.js';
import { nextIndex } from '../../../src/crypto/bacap.js';
import {
  BoxAlreadyExistsError,
  ClientClosedError,
  ConnectionLostError,
  DaemonError,
  InvalidArgumentError,
  NotConnectedError,
  OperationCancelledError,
  TombstoneError,
} from '../../../src/errors.js';
import {
  autoWindow,
  readStream,
  resolveWindow,
  type StreamClient,
  writeStream,
} from '../../../src/pigeonhole/streams.js';

const MAX = 20; // MaxPlaintextPayloadLength of the stand-in: 16 stream bytes per box
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const START = (() => {
  const b = new Uint8Array(104);
  for (let i = 8; i < 104; i++) b[i] = i;
  return b;
})();
const WRITE_CAP = new Uint8Array(168).fill(1);
const READ_CAP = new Uint8Array(136).fill(2);

/**
 * Boxes keyed by index; an envelope's ciphertext is the box index, its descriptor the plaintext.
 * `fail(k, attempt)` may throw for the k-th box (by index order) on that attempt of its send.
 */
function standIn(
  options: { fail?: (box: number, attempt: number) => Error | undefined; hold?: boolean } = {},
) {
  const boxes = new Map<string, Uint8Array>();
  const order = new Map<string, number>();
  let i: Uint8Array = START;
  for (let k = 0; k < 64; k++) {
    order.set(hex(i), k);
    i = nextIndex(i);
  }
  const attempts = new Map<number, number>();
  const live = new Set<{ signal?: AbortSignal }>();
  let maxLive = 0;
  const held: (() => void)[] = [];
  const client = {
    pigeonholeGeometry: { maxPlaintextPayloadLength: MAX },
    sphinxGeometry: { nrHops: 5 },
    pkiDocument: () => ({ lambdaP: 0.001, mu: 0.005, topology: [[], [], []] }),
    async encryptWrite(plaintext: Uint8Array, _cap: Uint8Array, index: Uint8Array) {
      expect(plaintext.length).toBeLessThanOrEqual(MAX);
      return {
        messageCiphertext: index,
        envelopeDescriptor: plaintext,
        envelopeHash: new Uint8Array(32),
        nextMessageBoxIndex: nextIndex(index),
      };
    },
    async encryptRead(_cap: Uint8Array, index: Uint8Array) {
      return {
        messageCiphertext: index,
        envelopeDescriptor: new Uint8Array(1),
        envelopeHash: new Uint8Array(32),
        nextMessageBoxIndex: nextIndex(index),
      };
    },
    async startResendingEncryptedMessage(
      req: {
        writeCap?: Uint8Array;
        messageCiphertext: Uint8Array;
        envelopeDescriptor: Uint8Array;
        messageBoxIndex?: Uint8Array;
      },
      opts: { signal?: AbortSignal } = {},
    ) {
      const key = hex(req.messageCiphertext);
      const k = order.get(key)!;
      const attempt = (attempts.get(k) ?? 0) + 1;
      attempts.set(k, attempt);
      const op = { signal: opts.signal };
      live.add(op);
      maxLive = Math.max(maxLive, live.size);
      try {
        await new Promise<void>((resolve, reject) => {
          const go = () => setImmediate(resolve);
          opts.signal?.addEventListener('abort', () => reject(new OperationCancelledError()), { once: true });
          if (options.hold) held.push(go);
          else go();
        });
        const failure = options.fail?.(k, attempt);
        if (failure) throw failure;
        if (req.writeCap) {
          boxes.set(key, req.envelopeDescriptor);
          return { plaintext: new Uint8Array(0), courierIdentityHash: null, courierQueueId: null };
        }
        expect(hex(req.messageBoxIndex!)).toBe(key);
        const box = boxes.get(key);
        if (!box) throw new Error('read of a missing box');
        return { plaintext: box, courierIdentityHash: null, courierQueueId: null };
      } finally {
        live.delete(op);
      }
    },
  };
  return {
    client: client as unknown as StreamClient,
    boxes,
    attempts,
    live,
    held,
    maxLive: () => maxLive,
    boxAt: (k: number) => boxes.get([...order.entries()].find(([, v]) => v === k)![0]),
  };
}

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const fast = { pacing: false } as const;

describe('writeStream and readStream (stand-in client)', () => {
  it('cuts the payload into boxes of MaxPlaintextPayloadLength − 4 at consecutive indices and reads it back exactly', async () => {
    const s = standIn();
    const payload = bytes(16 * 3 + 5);
    const next = await writeStream(s.client, WRITE_CAP, START, payload, 2, fast);
    expect([0, 1, 2, 3].map((k) => s.boxAt(k)?.length)).toEqual([16, 16, 16, 5]);
    expect(hex(next)).toBe(hex(nextIndex(nextIndex(nextIndex(nextIndex(START))))));
    const got = await readStream(s.client, READ_CAP, START, 4, 3, fast);
    expect(got.data).toEqual(payload);
    expect(got.nextIndex).toEqual(next);
  });

  it('keeps at most `window` operations in flight', async () => {
    const s = standIn();
    await writeStream(s.client, WRITE_CAP, START, bytes(16 * 12), 3, fast);
    expect(s.maxLive()).toBe(3);
    await readStream(s.client, READ_CAP, START, 12, 5, fast);
    expect(s.maxLive()).toBe(5);
  });

  it('retries only the box whose operation failed with a retryable error', async () => {
    const s = standIn({
      fail: (k, attempt) => (k === 2 && attempt === 1 ? new ConnectionLostError() : undefined),
    });
    const payload = bytes(16 * 5);
    await writeStream(s.client, WRITE_CAP, START, payload, 3, fast);
    expect([...s.attempts.entries()].sort(([a], [b]) => a - b)).toEqual([
      [0, 1],
      [1, 1],
      [2, 2],
      [3, 1],
      [4, 1],
    ]);
    expect((await readStream(s.client, READ_CAP, START, 5, 3, fast)).data).toEqual(payload);
  });

  it('gives up on a box after maxAttempts and rejects with its last error', async () => {
    const s = standIn({ fail: (k) => (k === 1 ? new DaemonError(4, 'internal') : undefined) });
    const err = await writeStream(s.client, WRITE_CAP, START, bytes(16 * 3), 2, {
      ...fast,
      maxAttempts: 3,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect(s.attempts.get(1)).toBe(3);
  });

  it('does not retry an expected outcome or a malformed request, and stops the other operations', async () => {
    const s = standIn({ fail: (k) => (k === 0 ? new TombstoneError() : undefined), hold: false });
    await writeStream(s.client, WRITE_CAP, START, bytes(16 * 4), 1, fast).catch(() => undefined);
    const err = await readStream(s.client, READ_CAP, START, 4, 2, fast).catch((e) => e);
    expect(err).toBeInstanceOf(TombstoneError);
    expect(s.attempts.get(0)).toBe(2); // once by the write, once by the read
    expect(s.live.size).toBe(0);
  });

  it('rejects with the abort reason and aborts the signal of every operation in flight', async () => {
    const s = standIn({ hold: true });
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const original = s.client.startResendingEncryptedMessage.bind(s.client);
    (s.client as { startResendingEncryptedMessage: unknown }).startResendingEncryptedMessage = (
      req: Parameters<typeof original>[0],
      opts: Parameters<typeof original>[1],
    ) => {
      signals.push(opts!.signal!);
      return original(req, opts);
    };
    const promise = writeStream(s.client, WRITE_CAP, START, bytes(16 * 8), 4, {
      ...fast,
      signal: controller.signal,
    });
    while (signals.length < 4) await new Promise((r) => setImmediate(r));
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(promise).rejects.toBe(reason);
    expect(signals.every((sig) => sig.aborted)).toBe(true);
  });

  it('validates caps, indices, window and box count before sending anything', async () => {
    const s = standIn();
    await expect(writeStream(s.client, new Uint8Array(3), START, bytes(1), 0)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(writeStream(s.client, WRITE_CAP, new Uint8Array(3), bytes(1), 0)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(writeStream(s.client, WRITE_CAP, START, bytes(1), -1)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(readStream(s.client, READ_CAP, START, 1.5, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(readStream(s.client, WRITE_CAP, START, 1, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(s.attempts.size).toBe(0);
  });

  it('needs the Pigeonhole geometry to cut a payload', async () => {
    const s = standIn();
    const noGeometry = { ...s.client, pigeonholeGeometry: undefined } as unknown as StreamClient;
    await expect(writeStream(noGeometry, WRITE_CAP, START, bytes(1), 1)).rejects.toBeInstanceOf(
      NotConnectedError,
    );
  });
});

describe('the automatic window', () => {
  it('is the removed stream’s bandwidth-delay product: 3 for docker, capped at 15, 1 without usable rates', () => {
    expect(autoWindow(0.001, 0.005, 5)).toBe(11);
    expect(autoWindow(0.001, 0.005, 5, false)).toBe(6);
    expect(autoWindow(0.001, 0.001, 5)).toBe(15);
    expect(autoWindow(0.01, 0.001, 5)).toBe(15);
    expect(autoWindow(0, 0.005, 5)).toBe(1);
    expect(autoWindow(0.001, 0, 5)).toBe(1);
    expect(autoWindow(Number.NaN, 0.005, 5)).toBe(1);
  });

  it('comes from the client’s PKI document and Sphinx hop count, and is 1 without a document', () => {
    const s = standIn();
    expect(resolveWindow(s.client, 0)).toBe(11);
    expect(resolveWindow(s.client, 0, false)).toBe(6);
    expect(resolveWindow(s.client, 7)).toBe(7);
    const noDoc = { ...s.client, pkiDocument: () => null } as unknown as StreamClient;
    expect(resolveWindow(noDoc, 0)).toBe(1);
    // Without a Sphinx geometry the hop count is the topology's layers + 2.
    const noSphinx = { ...s.client, sphinxGeometry: undefined } as unknown as StreamClient;
    expect(resolveWindow(noSphinx, 0)).toBe(11);
  });
});

describe('admission', () => {
  it('draws gaps from Exp(mean), capped at 20 means', () => {
    const n = 20_000;
    const samples = Array.from({ length: n }, () => exponentialGapMs(100));
    const mean = samples.reduce((a, b) => a + b, 0) / n;
    expect(mean).toBeGreaterThan(95);
    expect(mean).toBeLessThan(105);
    expect(Math.max(...samples)).toBeLessThanOrEqual(2000);
    expect(samples.filter((x) => x > 100).length / n).toBeCloseTo(Math.exp(-1), 1);
    expect(exponentialGapMs(0)).toBe(0);
  });

  it('retries transport and daemon trouble but not expected outcomes, bad arguments, cancels or a closed client', () => {
    expect(isRetryableBoxError(new ConnectionLostError())).toBe(true);
    expect(isRetryableBoxError(new NotConnectedError())).toBe(true);
    expect(isRetryableBoxError(new DaemonError(4, 'x'))).toBe(true);
    for (const e of [
      new TombstoneError(),
      new BoxAlreadyExistsError(),
      new InvalidArgumentError('a', 'b'),
      new OperationCancelledError(),
      new ClientClosedError(),
      new TypeError('bug'),
    ]) {
      expect(isRetryableBoxError(e)).toBe(false);
    }
  });
});

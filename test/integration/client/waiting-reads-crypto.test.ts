/**
 * Waiting reads beside a fresh write+read when the daemon's crypto is the bottleneck, as with the real
 * kpclientd: encrypt_read is seconds of CTIDH work on the connection's reader (local requests one after
 * another), and every Pigeonhole reply with a payload is decrypted, one CTIDH operation each, one after
 * another for the whole daemon (the devnet's `serialReplyDecryption`, on by default). The devnet runs
 * the docker profile with a CTIDH cost, on a VirtualClock the client shares; figures are simulated
 * seconds and send slots (one per Exp(1 s)).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/devnet/clock.js';
import { startDevnet } from '../../../src/devnet/index.js';
import { type ConnectOptions, ThinClient } from '../../../src/index.js';
import { drive, driveUntil } from '../devnet/drive.js';

const READERS = 10;
const CTIDH_MS = 1_000;
const CORES = 2;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const seed = (i: number) => new Uint8Array(32).fill(i + 1);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function clockOption(clock: VirtualClock): ConnectOptions['clock'] {
  return {
    setTimeout: (fn, ms) => clock.setTimer(ms, fn),
    clearTimeout: (h) => clock.clearTimer(h as never),
  };
}

async function writeBox(client: ThinClient, writeCap: Uint8Array, index: Uint8Array, text: string) {
  const e = await client.encryptWrite(enc(text), writeCap, index);
  await client.startResendingEncryptedMessage({ writeCap, ...e });
}

/** A write+read of a new box on `client`: simulated ms after each of its four requests. */
async function writeRead(clock: VirtualClock, client: ThinClient, i: number): Promise<number[]> {
  const k = await drive(clock, client.newKeypair(seed(i)), 100);
  const t0 = clock.now();
  const marks: number[] = [];
  const mark = () => marks.push(clock.now() - t0);
  const e = await drive(clock, client.encryptWrite(enc(`box ${i}`), k.writeCap, k.firstMessageIndex), 100);
  mark();
  await drive(clock, client.startResendingEncryptedMessage({ writeCap: k.writeCap, ...e }), 100);
  mark();
  const r = await drive(clock, client.encryptRead(k.readCap, k.firstMessageIndex), 100);
  mark();
  const got = await drive(
    clock,
    client.startResendingEncryptedMessage({ readCap: k.readCap, messageBoxIndex: k.firstMessageIndex, ...r }),
    100,
  );
  mark();
  expect(dec(got.plaintext)).toBe(`box ${i}`);
  return marks;
}

/** Idle write+read, then the same beside 10 waiting reads, then each waiting read's lag after its write. */
async function scenario(waitingReads: NonNullable<ConnectOptions['waitingReads']>) {
  const clock = new VirtualClock();
  const net = await startDevnet({
    authorityScheme: 'Ed25519',
    profile: 'docker',
    seed: 'crypto-bound',
    clock,
    ctidhCostMs: CTIDH_MS,
    timing: { ctidhCores: CORES },
    quirks: { courierRedispatchLimit: 5 },
  });
  const connect = (options: ConnectOptions) =>
    drive(clock, ThinClient.connect(net.thinClientConfig, { ...options, clock: clockOption(clock) }), 100);
  // No jitter: the two runs compared below are then the same every time (the devnet is seeded).
  const reader = await connect({ waitingReads: { ...waitingReads, jitter: 0 } });
  const writer = await connect({});
  try {
    const idle = await writeRead(clock, reader, 100);

    const keys = await drive(
      clock,
      Promise.all(Array.from({ length: READERS }, (_, i) => writer.newKeypair(seed(i)))),
      100,
    );
    const envelopes = await drive(
      clock,
      Promise.all(keys.map((k) => reader.encryptRead(k.readCap, k.firstMessageIndex))),
      100,
    );
    const done: (string | undefined)[] = new Array(READERS);
    for (const [i, k] of keys.entries())
      reader
        .startResendingEncryptedMessage({
          readCap: k.readCap,
          messageBoxIndex: k.firstMessageIndex,
          ...envelopes[i]!,
        })
        .then(
          (r) => {
            done[i] = dec(r.plaintext);
          },
          () => {},
        );
    await driveUntil(clock, () => reader.stats().waitingReads >= READERS - 3, 100);
    const settled = clock.now() + 60_000;
    await driveUntil(clock, () => clock.now() >= settled, 100);

    const decryptedBefore = net.stats().replyDecryption.decrypted;
    const fresh = await writeRead(clock, reader, 101);
    const decryptedDuring = net.stats().replyDecryption.decrypted - decryptedBefore;

    const lags: number[] = [];
    for (const [i, k] of keys.entries()) {
      await drive(clock, writeBox(writer, k.writeCap, k.firstMessageIndex, `message ${i}`), 100);
      const written = clock.now();
      await driveUntil(clock, () => done[i] !== undefined, 100);
      expect(done[i]).toBe(`message ${i}`);
      lags.push(clock.now() - written);
    }
    return { idle, fresh, decryptedDuring, lags };
  } finally {
    await reader.close();
    await writer.close();
    await net.stop();
  }
}

type Figures = Awaited<ReturnType<typeof scenario>>;
const total = (marks: number[]) => marks[marks.length - 1]!;
const meanLag = (r: Figures) => r.lags.reduce((a, b) => a + b, 0) / r.lags.length;
/** encrypt_write, its write, encrypt_read, its read: when each ended. */
const steps = (marks: number[]) => `(${marks.map((m) => (m / 1000).toFixed(1)).join(' / ')})`;

function report(label: string, r: Figures): void {
  console.log(
    `[waiting-reads crypto-bound] ${label}: idle write+read ${secs(total(r.idle))} ${steps(r.idle)}; ` +
      `beside ${READERS} waiting reads ${secs(total(r.fresh))} ${steps(r.fresh)}, replies decrypted meanwhile ` +
      `${r.decryptedDuring}; write → waiting read: mean ${secs(meanLag(r))}, max ${secs(Math.max(...r.lags))}`,
  );
}

/** The scheduler as it was before it yielded to the application. */
const NOT_YIELDING = { whileAppBusy: Number.POSITIVE_INFINITY, inDaemon: 2, youngPolls: 0 };

describe(`reads waiting beside a fresh write+read, daemon crypto ${CTIDH_MS} ms per CTIDH operation (docker devnet)`, () => {
  it('a scheduler that yields to the application slows a fresh write+read less than one that does not, and its waiting reads still return sooner after their writes', {
    timeout: 600_000,
  }, async () => {
    const yielding = await scenario({});
    report('scheduler defaults', yielding);
    const greedy = await scenario(NOT_YIELDING);
    report('scheduler not yielding (whileAppBusy Infinity, inDaemon 2, youngPolls 0)', greedy);
    expect(total(yielding.fresh) - total(yielding.idle)).toBeLessThan(
      total(greedy.fresh) - total(greedy.idle),
    );
    expect(meanLag(yielding)).toBeLessThan(meanLag(greedy));
  });
});

/**
 * Fifty reads waiting for messages do not starve the client that waits (actors/waitingReads.ts), on the
 * docker-profile devnet (one send slot per Exp(1 s), kpclientd v0.0.99's courier re-dispatch cap). The
 * devnet and the client share one VirtualClock; every figure is in send slots, counted by the devnet.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/devnet/clock.js';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { type ConnectOptions, InvalidArgumentError, ThinClient } from '../../../src/index.js';
import { drive, driveUntil } from '../devnet/drive.js';

const READERS = 50;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const seed = (i: number) => new Uint8Array(32).fill(i + 1);
const slots = (net: Devnet) => net.stats().resendSlots + net.stats().freshSlots;

/** The devnet on `clock`, and a client whose timers run on it too. */
async function setUp(clock: VirtualClock, options: ConnectOptions) {
  const net = await startDevnet({
    authorityScheme: 'Ed25519',
    profile: 'docker',
    seed: 'fifty',
    clock,
    quirks: { courierRedispatchLimit: 5 },
  });
  const client = await ThinClient.connect(net.thinClientConfig, {
    ...options,
    clock: {
      setTimeout: (fn, ms) => clock.setTimer(ms, fn),
      clearTimeout: (h) => clock.clearTimer(h as never),
    },
  });
  return { net, client };
}

async function writeBox(client: ThinClient, writeCap: Uint8Array, index: Uint8Array, text: string) {
  const e = await client.encryptWrite(enc(text), writeCap, index);
  await client.startResendingEncryptedMessage({ writeCap, ...e });
}

async function readBox(client: ThinClient, readCap: Uint8Array, index: Uint8Array): Promise<string> {
  const e = await client.encryptRead(readCap, index);
  return dec(
    (await client.startResendingEncryptedMessage({ readCap, messageBoxIndex: index, ...e })).plaintext,
  );
}

/** 50 reads of boxes nobody has written, each settling into `done[i]`. */
async function startWaiting(client: ThinClient) {
  const keys = await Promise.all(Array.from({ length: READERS }, (_, i) => client.newKeypair(seed(i))));
  const done: (string | undefined)[] = new Array(READERS);
  for (const [i, k] of keys.entries())
    void readBox(client, k.readCap, k.firstMessageIndex).then(
      (text) => {
        done[i] = text;
      },
      () => {},
    );
  return { keys, done };
}

describe('reads waiting for messages (docker-profile devnet, 50 waiting reads)', () => {
  it('a fresh write+read finishes within a few send slots, and each waiting read returns within a few slots of its write', {
    timeout: 300_000,
  }, async () => {
    const clock = new VirtualClock();
    const { net, client } = await setUp(clock, {});
    try {
      const { keys, done } = await startWaiting(client);
      await driveUntil(clock, () => slots(net) >= 150, 100);

      const fresh = await client.newKeypair(seed(200));
      const before = slots(net);
      await drive(clock, writeBox(client, fresh.writeCap, fresh.firstMessageIndex, 'fresh'), 100);
      expect(await drive(clock, readBox(client, fresh.readCap, fresh.firstMessageIndex), 100)).toBe('fresh');
      const freshSlots = slots(net) - before;

      const lags: number[] = [];
      for (const [i, k] of keys.entries()) {
        await drive(clock, writeBox(client, k.writeCap, k.firstMessageIndex, `message ${i}`), 100);
        const written = slots(net);
        await driveUntil(clock, () => done[i] !== undefined, 100);
        expect(done[i]).toBe(`message ${i}`);
        lags.push(slots(net) - written);
      }
      const max = Math.max(...lags);
      const mean = lags.reduce((a, b) => a + b, 0) / lags.length;
      console.log(
        `[waiting-reads] ${READERS} waiting reads, scheduler on: fresh write+read ${freshSlots} send slots; ` +
          `write → its waiting read returned: mean ${mean.toFixed(1)}, max ${max} send slots`,
      );
      expect(freshSlots).toBeLessThanOrEqual(20);
      expect(max).toBeLessThanOrEqual(30);
    } finally {
      await client.close();
      await net.stop();
    }
  });

  it('without the scheduler (waitingReads: false) the same fresh write is not even sent in 150 send slots', {
    timeout: 300_000,
  }, async () => {
    const clock = new VirtualClock();
    const { net, client } = await setUp(clock, { waitingReads: false });
    try {
      // Made first: the reads fill the daemon's request queue, behind which local requests wait too.
      const fresh = await client.newKeypair(seed(200));
      await startWaiting(client);
      await driveUntil(clock, () => slots(net) >= 150, 100);
      const freshBefore = net.stats().freshSlots;
      const before = slots(net);
      let written = false;
      writeBox(client, fresh.writeCap, fresh.firstMessageIndex, 'fresh').then(
        () => {
          written = true;
        },
        () => {},
      );
      await driveUntil(clock, () => slots(net) - before >= 150, 100);
      console.log(
        `[waiting-reads] ${READERS} waiting reads, scheduler off: fresh write not done after 150 send slots ` +
          `(fresh requests sent meanwhile: ${net.stats().freshSlots - freshBefore})`,
      );
      expect(written).toBe(false);
    } finally {
      await client.close();
      await net.stop();
    }
  });
});

describe('ConnectOptions.waitingReads', () => {
  it('refuses a policy number that is not a finite number at or above its least value, naming it', async () => {
    const config = { network: 'x', dial: { kind: 'tcp', host: '127.0.0.1', port: 1 } } as never;
    await expect(ThinClient.connect(config, { waitingReads: { firstPolls: 0 } })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(ThinClient.connect(config, { waitingReads: { inDaemon: -1 } })).rejects.toThrow(
      /waitingReads\.inDaemon/,
    );
    await expect(ThinClient.connect(config, { waitingReads: { jitter: 1.5 } })).rejects.toThrow(
      'waitingReads.jitter: expected a fraction in [0, 1]',
    );
  });
});

/**
 * Windowed streams vs the guide's per-box loop, and the client's memory per operation in flight.
 * Prints figures; not a test.
 *
 *   npx tsx bench/stream.ts [throughput | memory]
 *
 * 1. Throughput, devnet `docker` profile with a time warp (BENCH_WARP, default 20): a payload of
 *    BENCH_STREAM_BOXES (256) boxes written and read back with the guide's per-box loop, then with
 *    writeStream/readStream (automatic window, paced as shipped; automatic window unpaced; window 8
 *    unpaced), each on a fresh channel, in the same run. Reported as seconds and as loop / stream.
 *    BENCH_CTIDH_MS (default 0) sets the devnet's cost of one CTIDH operation, in docker milliseconds.
 * 2. Memory: BENCH_INFLIGHT (10,000) writes in flight at once against a devnet whose packets take
 *    minutes to come back, so every operation stays in flight until the daemon holds all of them: the
 *    client process's JS heap and ArrayBuffer bytes after full GCs, before and with all of them in flight,
 *    divided by their number. Measured twice: as bare encryptWrite + startResendingEncryptedMessage calls
 *    (the client's own cost) and as one writeStream with window = n (the stream's cost on top).
 *
 * The devnet runs in a child process, so neither its CPU nor its heap is counted with the client's.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ThinClient } from '../src/client.js';
import type { Config } from '../src/config.js';
import { nextIndex } from '../src/crypto/bacap.js';
import type { DevnetOptions } from '../src/devnet/index.js';
import { readStream, streamBoxPayloadLength, writeStream } from '../src/pigeonhole/streams.js';
import { autoWindow } from '../src/pigeonhole/windowSizing.js';

type ChildMessage =
  | { type: 'ready'; config: Config }
  | { type: 'stats'; arqsInFlight: number; heapUsed: number }
  | { type: 'error'; message: string };

/** A devnet in a child process; `stats()` reports its ARQs in flight. */
export async function spawnDevnet(options: DevnetOptions) {
  const child = fork(fileURLToPath(import.meta.url), ['--devnet-child', JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['--import', 'tsx'],
  });
  const next = <T extends ChildMessage['type']>(type: T) =>
    new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type === 'error') reject(new Error(`devnet child: ${m.message}`));
        else if (m.type === type) resolve(m as Extract<ChildMessage, { type: T }>);
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
    });
  const ready = await next('ready');
  return {
    config: ready.config,
    async stats() {
      const p = next('stats');
      child.send({ type: 'stats' });
      return p;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function devnetChild(optionsJson: string): Promise<void> {
  const send = (m: ChildMessage) => process.send!(m);
  try {
    const { startDevnet } = await import('../src/devnet/index.js');
    const net = await startDevnet({
      listen: 'tcp://127.0.0.1:0',
      seed: 'bench-stream',
      ...JSON.parse(optionsJson),
    });
    process.on('message', (m: { type: string }) => {
      if (m.type === 'stats')
        send({
          type: 'stats',
          arqsInFlight: net.stats().arqsInFlight,
          heapUsed: process.memoryUsage().heapUsed,
        });
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', config: net.thinClientConfig });
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
}

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

/** The guide's per-box loop: one box after another, each awaited. */
async function loopWrite(
  c: ThinClient,
  writeCap: Uint8Array,
  start: Uint8Array,
  payload: Uint8Array,
  per: number,
) {
  let index = start;
  for (let off = 0; off < payload.length; off += per) {
    const e = await c.encryptWrite(payload.subarray(off, off + per), writeCap, index);
    await c.startResendingEncryptedMessage({
      writeCap,
      envelopeDescriptor: e.envelopeDescriptor,
      messageCiphertext: e.messageCiphertext,
      envelopeHash: e.envelopeHash,
    });
    index = e.nextMessageBoxIndex;
  }
}

async function loopRead(
  c: ThinClient,
  readCap: Uint8Array,
  start: Uint8Array,
  boxes: number,
): Promise<Uint8Array> {
  let index = start;
  const parts: Uint8Array[] = [];
  for (let k = 0; k < boxes; k++) {
    const r = await c.encryptRead(readCap, index);
    const res = await c.startResendingEncryptedMessage({
      readCap,
      messageBoxIndex: index,
      envelopeDescriptor: r.envelopeDescriptor,
      messageCiphertext: r.messageCiphertext,
      envelopeHash: r.envelopeHash,
    });
    parts.push(res.plaintext);
    index = r.nextMessageBoxIndex;
  }
  return Buffer.concat(parts);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

export interface StreamFigures {
  profile: 'docker' | 'instant';
  /** loop time / stream time, per variant. */
  speedUps: Record<string, number>;
}

export async function throughput(profile: 'docker' | 'instant' = 'docker'): Promise<StreamFigures> {
  const warp = profile === 'docker' ? env('BENCH_WARP', 20) : 1;
  const boxes = env(
    profile === 'docker' ? 'BENCH_STREAM_BOXES' : 'BENCH_INSTANT_BOXES',
    profile === 'docker' ? 256 : 64,
  );
  const ctidh = env('BENCH_CTIDH_MS', 0);
  const speedUps: Record<string, number> = {};
  const net = await spawnDevnet({
    profile,
    timeWarp: warp,
    ctidhCostMs: ctidh,
    authorityScheme: 'Ed25519',
  });
  const client = await ThinClient.connect(net.config);
  try {
    const per = streamBoxPayloadLength(client);
    const payload = new Uint8Array(randomBytes(boxes * per));
    const doc = client.pkiDocument()!;
    console.log(
      `stream vs per-box loop: ${profile} profile / ${warp}, CTIDH ${ctidh} ms, ${boxes} boxes of ${per} bytes; ` +
        `LambdaP ${doc.lambdaP}, Mu ${doc.mu}, NrHops ${client.sphinxGeometry.nrHops}`,
    );
    const fresh = () => client.newKeypair(new Uint8Array(randomBytes(32)));

    const a = await fresh();
    const [, loopW] = await timed(() => loopWrite(client, a.writeCap, a.firstMessageIndex, payload, per));
    const [loopData, loopR] = await timed(() => loopRead(client, a.readCap, a.firstMessageIndex, boxes));
    if (!same(loopData, payload)) throw new Error('per-box loop read back different bytes');
    const loop = loopW + loopR;
    console.log(
      `  per-box loop          write ${seconds(loopW)}, read ${seconds(loopR)}, total ${seconds(loop)}`,
    );

    // The policy of src/pigeonhole/windowSizing.ts, passed explicitly until streams.ts uses it.
    const tuned = autoWindow(doc, client.sphinxGeometry.nrHops, true);
    const tunedUnpaced = autoWindow(doc, client.sphinxGeometry.nrHops, false);
    const variants: [string, number, { pacing?: boolean }][] = [
      [`tuned auto (${tuned}), paced`, tuned, {}],
      [`tuned auto (${tunedUnpaced}), unpaced`, tunedUnpaced, { pacing: false }],
      ['auto window, paced', 0, {}],
      ['auto window, unpaced', 0, { pacing: false }],
      ['window 8, unpaced', 8, { pacing: false }],
    ];
    for (const [name, window, options] of variants) {
      const ch = await fresh();
      const [, w] = await timed(() =>
        writeStream(client, ch.writeCap, ch.firstMessageIndex, payload, window, options),
      );
      const [r, rt] = await timed(() =>
        readStream(client, ch.readCap, ch.firstMessageIndex, boxes, window, options),
      );
      if (!same(r.data, payload)) throw new Error(`${name}: read back different bytes`);
      const ratio = loop / (w + rt);
      speedUps[name] = ratio;
      console.log(
        `  ${name.padEnd(21)} write ${seconds(w)}, read ${seconds(rt)}, total ${seconds(w + rt)}: ` +
          `${ratio.toFixed(2)}x the loop (write ${(loopW / w).toFixed(2)}x, read ${(loopR / rt).toFixed(2)}x)`,
      );
    }
  } finally {
    await client.close();
    await net.stop();
  }
  const goal = profile === 'docker' ? 2.5 : 1;
  for (const [name, r] of Object.entries(speedUps)) {
    console.log(
      `  goal ${profile === 'docker' ? '>= 2.5x' : 'never slower (>= 1.0x)'}: ${name} ${r.toFixed(2)}x ${r >= goal ? 'met' : 'MISSED'}`,
    );
  }
  return { profile, speedUps };
}

export async function memory(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    const m = process.memoryUsage();
    return { heap: m.heapUsed, buffers: m.arrayBuffers };
  };
  const n = env('BENCH_INFLIGHT', 10_000);

  type Start = (
    client: ThinClient,
    per: number,
    payload: Uint8Array,
    signal: AbortSignal,
  ) => Promise<unknown>;
  /**
   * `count` writes started by `start` against a fresh devnet whose packets take minutes to come back
   * (per-hop delay ~ Exp(60 s), immediate send slots): the client's memory once the daemon holds them
   * all. Each measurement has its own devnet and client, so nothing of an earlier one lingers.
   */
  const measure = async (count: number, start: Start) => {
    const net = await spawnDevnet({
      profile: 'docker',
      authorityScheme: 'Ed25519',
      timing: { hopDelayMeanMs: 60_000, sendSlotMeanMs: 0, linkMeanMs: 0, replicaJitterMs: 0 },
    });
    const client = await ThinClient.connect(net.config);
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    try {
      const per = streamBoxPayloadLength(client);
      // The caller's payload exists before and after; only what the writes add is measured.
      const payload = new Uint8Array(count * per).fill(7);
      const before = await settle();
      const t = performance.now();
      const running = start(client, per, payload, controller.signal).catch(() => undefined);
      let atDaemon = (await net.stats()).arqsInFlight;
      while (atDaemon < count) {
        await new Promise((r) => setTimeout(r, 100));
        atDaemon = (await net.stats()).arqsInFlight;
      }
      const ms = performance.now() - t;
      const during = await settle();
      controller.abort();
      await running;
      return {
        atDaemon,
        ms,
        heap: (during.heap - before.heap) / count,
        buffers: (during.buffers - before.buffers) / count,
      };
    } finally {
      await client.close();
      await net.stop();
    }
  };

  // The guide's calls, all outstanding at once, without stream machinery: what the client itself costs.
  const bare: Start = async (client, per, payload, signal) => {
    const count = payload.length / per;
    const ch = await client.newKeypair(new Uint8Array(randomBytes(32)));
    const indices = [ch.firstMessageIndex];
    for (let k = 1; k < count; k++) indices.push(nextIndex(indices[k - 1]!));
    const calls = indices.map((index, k) =>
      client.encryptWrite(payload.subarray(k * per, (k + 1) * per), ch.writeCap, index).then((e) =>
        client.startResendingEncryptedMessage(
          {
            writeCap: ch.writeCap,
            envelopeDescriptor: e.envelopeDescriptor,
            messageCiphertext: e.messageCiphertext,
            envelopeHash: e.envelopeHash,
          },
          { signal },
        ),
      ),
    );
    indices.length = 0;
    return Promise.allSettled(calls);
  };
  const stream: Start = async (client, per, payload, signal) => {
    const ch = await client.newKeypair(new Uint8Array(randomBytes(32)));
    return writeStream(client, ch.writeCap, ch.firstMessageIndex, payload, payload.length / per, {
      pacing: false,
      signal,
    });
  };

  const row = (name: string, m: Awaited<ReturnType<typeof measure>>) =>
    `  ${name.padEnd(32)} JS heap ${m.heap.toFixed(0).padStart(5)} B, ArrayBuffers ${m.buffers.toFixed(0).padStart(5)} B, ` +
    `together ${(m.heap + m.buffers).toFixed(0).padStart(5)} B  (${m.atDaemon} at the daemon after ${seconds(m.ms)})`;
  console.log(`memory per write in flight, ${n} in flight, client process only:`);
  // Warm both code paths so that compiled code and caches are in the baselines.
  await measure(50, bare);
  await measure(50, stream);
  const s = await measure(n, stream);
  console.log(row('writeStream, window = n', s));
  const b = await measure(n, bare);
  console.log(row('startResending× (client alone)', b));
  console.log(
    `  the stream's own share: JS heap ${(s.heap - b.heap).toFixed(0)} B, ArrayBuffers ${(s.buffers - b.buffers).toFixed(0)} B per operation`,
  );
}

export async function run(): Promise<StreamFigures[]> {
  const out = [await throughput('docker')];
  console.log('');
  out.push(await throughput('instant'));
  return out;
}

if (process.argv[2] === '--devnet-child') {
  await devnetChild(process.argv[3]!);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  const only = process.argv[2];
  if (only === 'throughput') await throughput();
  else if (only === 'instant') await throughput('instant');
  else if (only === 'memory') await memory();
  else await run();
  process.exit(0);
}

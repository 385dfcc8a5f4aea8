/**
 * N operations in flight at once (N = 1,000 and 10,000): client memory per operation, time to submit
 * them, time to close() with all of them pending. Prints figures; not a test.
 *
 *   node --expose-gc --import tsx bench/inflight.ts
 *
 * Setup: writes (encryptWrite, then startResendingEncryptedMessage) against a devnet in its own process
 * whose packets take minutes to come back (docker profile, per-hop delay Exp(60 s), send slots
 * immediate). The daemon's per-app queue of 16 only holds requests waiting for a send slot; with
 * immediate slots every write leaves it at once and stays an ARQ in flight, so N is reached with one
 * client (the devnet's `arqsInFlight` is polled until it equals N). Envelopes are encrypted before the
 * clock starts: "submit" times only the startResendingEncryptedMessage calls.
 * Goals: JS heap ≤ 3 KiB/op; ArrayBuffers ≤ 1.1 × the encoded request the client keeps for replay;
 * t_submit(10,000) ≤ 12 × t_submit(1,000), same for close().
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { ThinClient } from '../src/index.js';
import { encodeRequest } from '../src/wire/index.js';
import { spawnDevnet } from './stream.js';

const gc = (globalThis as { gc?: () => void }).gc;
const ignore = () => undefined;

async function settle() {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

export interface InflightFigure {
  n: number;
  heapPerOp: number;
  buffersPerOp: number;
  requestBytes: number;
  submitMs: number;
  closeMs: number;
}

export async function measure(n: number): Promise<InflightFigure> {
  const net = await spawnDevnet({
    profile: 'docker',
    authorityScheme: 'Ed25519',
    timing: { hopDelayMeanMs: 60_000, sendSlotMeanMs: 0, linkMeanMs: 0, replicaJitterMs: 0 },
  });
  const client = await ThinClient.connect(net.config);
  try {
    const ch = await client.newKeypair(new Uint8Array(randomBytes(32)));
    const plaintext = new Uint8Array(100).fill(7);
    const envelopes = [];
    let index = ch.firstMessageIndex;
    for (let k = 0; k < n; k++) {
      const e = await client.encryptWrite(plaintext, ch.writeCap, index);
      envelopes.push({
        writeCap: ch.writeCap,
        envelopeDescriptor: e.envelopeDescriptor,
        messageCiphertext: e.messageCiphertext,
        envelopeHash: e.envelopeHash,
      });
      index = e.nextMessageBoxIndex;
    }
    const e0 = envelopes[0]!;
    const requestBytes =
      4 +
      encodeRequest('start_resending_encrypted_message', {
        query_id: new Uint8Array(16),
        write_cap: e0.writeCap,
        envelope_descriptor: e0.envelopeDescriptor,
        message_ciphertext: e0.messageCiphertext,
        envelope_hash: e0.envelopeHash,
      }).length;
    const before = await settle();
    const t0 = performance.now();
    // One shared handler: a closure per call would be the caller's memory, counted as the client's.
    const pending = envelopes.map((p) => client.startResendingEncryptedMessage(p).catch(ignore));
    while ((await net.stats()).arqsInFlight < n) await new Promise((r) => setTimeout(r, 20));
    const submitMs = performance.now() - t0;
    const during = await settle();
    const t1 = performance.now();
    await client.close();
    await Promise.all(pending);
    const closeMs = performance.now() - t1;
    return {
      n,
      heapPerOp: (during.heap - before.heap) / n,
      buffersPerOp: (during.buffers - before.buffers) / n,
      requestBytes,
      submitMs,
      closeMs,
    };
  } finally {
    await client.close().catch(() => undefined);
    await net.stop();
  }
}

export async function run(): Promise<InflightFigure[]> {
  if (!gc) console.log('(no global.gc: run node with --expose-gc; memory figures include garbage)');
  console.log('# operations in flight: writes pending at a devnet whose packets take minutes (own process)');
  await measure(50); // warm-up
  const out = [await measure(1_000), await measure(10_000)];
  for (const f of out) {
    console.log(
      `  N=${String(f.n).padStart(6)}: JS heap ${f.heapPerOp.toFixed(0)} B/op (goal <= 3072: ${f.heapPerOp <= 3072 ? 'met' : 'MISSED'}), ` +
        `ArrayBuffers ${f.buffersPerOp.toFixed(0)} B/op = ${(f.buffersPerOp / f.requestBytes).toFixed(2)}x the ${f.requestBytes}-byte request ` +
        `(goal <= 1.1x: ${f.buffersPerOp <= 1.1 * f.requestBytes ? 'met' : 'MISSED'}), submit ${f.submitMs.toFixed(0)} ms, close ${f.closeMs.toFixed(0)} ms`,
    );
  }
  const [a, b] = out as [InflightFigure, InflightFigure];
  const r = (x: number, y: number) =>
    `${(x / y).toFixed(1)}x (goal <= 12x: ${x / y <= 12 ? 'met' : 'MISSED'})`;
  console.log(`  t(10,000)/t(1,000): submit ${r(b.submitMs, a.submitMs)}, close ${r(b.closeMs, a.closeMs)}`);
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
  process.exit(0);
}

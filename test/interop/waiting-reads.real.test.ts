/**
 * By hand, against the real kpclientd (test/interop/testnet/README.md; skipped unless that network is
 * up): 10 reads of one client waiting on unwritten boxes, with the client's scheduler of waiting reads
 * (actors/waitingReads.ts) and without it (`waitingReads: false`, the daemon retries them). Prints how
 * long that client's fresh write+read takes, and how long after each box is written (by a second
 * connection) its waiting read returns. Figures, not assertions: this is a measurement.
 *
 *   KP_BIN=/path/to/bin npx vitest run --config vitest.interop.config.ts test/interop/waiting-reads.real.test.ts
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, ThinClient } from '../../src/index.js';
import { startFrameTap, type TappedFrame } from '../helpers/frameTap.js';

const READERS = 10;
const FRESH_CAP_MS = 240_000;
const LAG_CAP_MS = 180_000;
const WORK = join(dirname(fileURLToPath(import.meta.url)), 'testnet', 'work');
const TOML = process.env.KP_THINCLIENT_TOML ?? join(WORK, 'net/client/thinclient.toml');

async function reachable(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  const m = /Address\s*=\s*"([^"]+):(\d+)"/.exec(readFileSync(path, 'utf8'));
  if (!m) return false;
  return new Promise((resolve) => {
    const s = net.connect({ host: m[1] === 'localhost' ? '127.0.0.1' : m[1], port: Number(m[2]) });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const available = await reachable(TOML);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const random32 = () => crypto.getRandomValues(new Uint8Array(32));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const TRACE_DIR = process.env.KP_TRACE_DIR;

/** Each request of the reader's connection in [from, to): when sent and answered, by query id. */
function timeline(frames: TappedFrame[], from: number, to: number): string[] {
  const rows: string[] = [];
  const replies = new Map<string, TappedFrame>();
  for (const f of frames)
    if (f.dir === 'in' && f.queryId && !replies.has(f.queryId)) replies.set(f.queryId, f);
  for (const f of frames) {
    if (f.dir !== 'out' || f.t < from || f.t >= to) continue;
    const r = f.queryId ? replies.get(f.queryId) : undefined;
    rows.push(
      `+${secs(f.t - from)} ${f.key} ${f.queryId?.slice(0, 6) ?? ''} ${f.envelope ?? ''} → ` +
        (r ? `+${secs(r.t - from)} (${secs(r.t - f.t)}) ${r.key} code ${r.errorCode ?? '-'}` : 'no reply'),
    );
  }
  return rows;
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

/** Resolves with the elapsed ms, or with undefined once `capMs` has passed. */
function timed(promise: Promise<unknown>, capMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), capMs);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      },
      () => resolve(undefined),
    );
  });
}

async function scenario(label: string, scheduler: boolean): Promise<void> {
  const config = await loadConfig(TOML);
  const tap = await startFrameTap(config);
  const policy = process.env.KP_WAITING_POLICY ? JSON.parse(process.env.KP_WAITING_POLICY) : {};
  for (const [k, v] of Object.entries(policy)) if (v === 'Infinity') policy[k] = Number.POSITIVE_INFINITY;
  const reader = await ThinClient.connect(tap.config, { waitingReads: scheduler ? policy : false });
  let freshFrom = 0;
  let freshTo = 0;
  const writer = await ThinClient.connect(config);
  try {
    const keys = await Promise.all(Array.from({ length: READERS }, () => writer.newKeypair(random32())));
    const fresh = await reader.newKeypair(random32());
    const idle = await reader.newKeypair(random32());
    const idleMs = await timed(
      writeBox(reader, idle.writeCap, idle.firstMessageIndex, 'idle').then(() =>
        readBox(reader, idle.readCap, idle.firstMessageIndex),
      ),
      FRESH_CAP_MS,
    );
    const returnedAt: (number | undefined)[] = new Array(READERS);
    // The reads' encrypt_reads first (kpclientd makes them one after another, seconds each), so that the
    // fresh write+read below competes with waiting reads, not with the setting up of them.
    const envelopes = await Promise.all(
      keys.map((k) => reader.encryptRead(k.readCap, k.firstMessageIndex, { timeoutMs: 600_000 })),
    );
    const reads = keys.map((k, i) =>
      reader
        .startResendingEncryptedMessage({
          readCap: k.readCap,
          messageBoxIndex: k.firstMessageIndex,
          ...envelopes[i]!,
        })
        .then((r) => {
          expect(dec(r.plaintext)).toBe(`message ${i}`);
          returnedAt[i] = performance.now();
        }),
    );
    for (const r of reads) r.catch(() => {});
    // Until every read has been answered BoxIDNotFound once (the scheduler holds all but the few it
    // polls), then 10 s more; without the scheduler, 60 s.
    const settleBy = performance.now() + 120_000;
    while (scheduler && reader.stats().waitingReads < READERS - 3 && performance.now() < settleBy)
      await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, scheduler ? 10_000 : 60_000));

    freshFrom = performance.now();
    const freshMs = await timed(
      writeBox(reader, fresh.writeCap, fresh.firstMessageIndex, 'fresh').then(() =>
        readBox(reader, fresh.readCap, fresh.firstMessageIndex),
      ),
      FRESH_CAP_MS,
    );
    freshTo = performance.now();
    console.log(
      `[waiting-reads real] ${label}: fresh write+read ${freshMs === undefined ? 'not done' : secs(freshMs)}`,
    );

    const writtenAt: number[] = [];
    for (const [i, k] of keys.entries()) {
      await writeBox(writer, k.writeCap, k.firstMessageIndex, `message ${i}`);
      writtenAt.push(performance.now());
    }
    await timed(Promise.all(reads), LAG_CAP_MS);
    const lags = keys.map((_, i) =>
      returnedAt[i] === undefined
        ? `>${secs(performance.now() - writtenAt[i]!)}`
        : secs(returnedAt[i]! - writtenAt[i]!),
    );
    console.log(
      `[waiting-reads real] ${label}: idle write+read ${idleMs === undefined ? 'not done' : secs(idleMs)}; ` +
        `${READERS} waiting reads; fresh write+read of the same client: ` +
        `${freshMs === undefined ? `not done in ${secs(FRESH_CAP_MS)}` : secs(freshMs)}; ` +
        `write → its waiting read returned: ${lags.join(', ')}`,
    );
  } finally {
    if (TRACE_DIR) {
      const name = join(TRACE_DIR, `waiting-reads-${scheduler ? 'on' : 'off'}`);
      writeFileSync(`${name}.jsonl`, tap.frames.map((f) => JSON.stringify(f)).join('\n'));
      writeFileSync(
        `${name}-fresh.txt`,
        timeline(tap.frames, freshFrom, freshTo || performance.now()).join('\n'),
      );
    }
    await reader.close();
    await writer.close();
    await tap.close();
  }
}

describe.skipIf(!available)('waiting reads against the real kpclientd (by hand)', () => {
  it('with the client scheduler', { timeout: 1_200_000 }, () =>
    scenario(`scheduler on ${process.env.KP_WAITING_POLICY ?? '(defaults)'}`, true),
  );
  it('with the daemon retrying (waitingReads: false)', { timeout: 900_000 }, () =>
    scenario('scheduler off', false),
  );
});

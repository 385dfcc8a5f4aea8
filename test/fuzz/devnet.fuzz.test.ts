/**
 * Fuzzing the devnet daemon over real sockets: at least 10,000 random, malformed and mutated
 * frames and requests (inputs.ts says what kpclientd does with each), 60 per connection, with a
 * reconnect whenever the devnet drops a connection. Every input is followed by a probe request
 * (get_message_box_index_counter, answered in order): the probes answered tell which input made
 * the devnet close the connection, and prove it still serves the connections it keeps. Runs of
 * inputs that must be kept are pipelined; any other input is sent alone.
 *
 * Checked per input: a `keep` input never loses the connection, a `drop` input always does, a
 * kept local request is answered (before the next probe) with the right reply type and query_id,
 * every frame the devnet sends decodes as a response, no reply carries a query_id the session
 * never sent, tails (oversize prefixes, truncated frames, noise) end the connection, and the devnet
 * never stops answering. Afterwards it still accepts connections and serves a correct write+read.
 *
 *   FUZZ_SEED=123 npx vitest run test/fuzz     reproduce a run (the seed is printed on failure)
 *   FUZZ_RUNS=400 npx vitest run test/fuzz     more connections
 *   FUZZ_STRICT=1                              known deviations (below) fail too
 *   FUZZ_VERBOSE=1                             drops and time per kind of input, devnet counters
 *   FUZZ_SHRINK=1                              let fast-check shrink a failing batch
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet } from '../../src/devnet/index.js';
import { type DecodedResponse, decodeCbor, encodeFrame, encodeRequest } from '../../src/wire/index.js';
import { type FrameInput, type FuzzContext, frameInput, type TailInput, tailInput } from './inputs.js';
import { type Endpoint, endpointOf, newChannel, RawConnection, readBox, writeBox } from './raw.js';

const FRAMES_PER_CONNECTION = 60;
const RUNS = Number(process.env.FUZZ_RUNS ?? 170);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** How long the devnet may take to answer a pipelined segment or to close, before it counts as wedged. */
const STALL_MS = 15_000;

/**
 * Keep/drop differences from kpclientd that the devnet is known to have, reported to the team and
 * tolerated here so that they do not hide new ones (they are counted and printed). FUZZ_STRICT=1
 * turns them back into failures.
 */
const KNOWN_DEVIATIONS: RegExp[] = [
  // None at the moment. The nesting limit and negative uint64 deviations were fixed in src/wire.
];

const timeByLabel = process.env.FUZZ_VERBOSE === '1' ? new Map<string, [number, number]>() : undefined;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const PROBE_MAGIC = 0xf0221e57;

interface Stats {
  /** Keep/drop mismatches tolerated as known devnet deviations (see KNOWN_DEVIATIONS). */
  deviations: Map<string, { count: number; example: string }>;
  frames: number;
  tails: number;
  connectMs: number;
  dropLabels: Map<string, number>;
  segmentMs: number;
  connections: number;
  drops: number;
}

describe('devnet fuzzing over real sockets', () => {
  let net: Awaited<ReturnType<typeof startDevnet>>;
  let ep: Endpoint;
  let ctx: FuzzContext;
  let probeIndex: Uint8Array;
  let probeCounter: bigint;

  beforeAll(async () => {
    net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', seed: 'fuzz' });
    ep = endpointOf(net.thinClientConfig);
    const conn = await RawConnection.open(ep);
    try {
      const ch = await newChannel(conn);
      const plaintext = randomBytes(40);
      const w = await conn.call('encrypt_write', {
        plaintext,
        write_cap: ch.writeCap,
        message_box_index: ch.firstIndex,
      });
      await conn.call('start_resending_encrypted_message', {
        write_cap: ch.writeCap,
        envelope_descriptor: w.envelope_descriptor!,
        message_ciphertext: w.message_ciphertext!,
        envelope_hash: w.envelope_hash!,
      });
      const r = await conn.call('encrypt_read', { read_cap: ch.readCap, message_box_index: ch.firstIndex });
      const geo = conn.handshake.status.pigeonhole_geometry as Record<string, number>;
      const sphinx = conn.handshake.status.sphinx_geometry as Record<string, number>;
      ctx = {
        writeCap: ch.writeCap,
        readCap: ch.readCap,
        firstIndex: ch.firstIndex,
        nextIndex: w.next_message_box_index!,
        writtenIndex: ch.firstIndex,
        writeEnvelope: {
          descriptor: w.envelope_descriptor!,
          ciphertext: w.message_ciphertext!,
          hash: w.envelope_hash!,
        },
        readEnvelope: {
          descriptor: r.envelope_descriptor!,
          ciphertext: r.message_ciphertext!,
          hash: r.envelope_hash!,
        },
        maxPlaintext: Number(geo.MaxPlaintextPayloadLength),
        userForwardPayloadLength: Number(sphinx.UserForwardPayloadLength),
      };
      probeIndex = w.next_message_box_index!;
      probeCounter = Buffer.from(probeIndex).readBigUInt64LE(0);
    } finally {
      await conn.close();
    }
  });

  afterAll(async () => {
    await net?.stop();
  });

  function probeFrame(n: number): { frame: Uint8Array; queryId: Uint8Array } {
    const queryId = new Uint8Array(16);
    const dv = new DataView(queryId.buffer);
    dv.setUint32(0, PROBE_MAGIC);
    dv.setUint32(4, n);
    dv.setUint32(8, 0x5eed);
    return {
      queryId,
      frame: encodeFrame(
        encodeRequest('get_message_box_index_counter', { query_id: queryId, message_box_index: probeIndex }),
      ),
    };
  }

  /** Every query_id the devnet could legitimately echo for these inputs (Go pads/truncates to 16). */
  function queryIdsIn(inputs: FrameInput[]): Set<string> {
    const out = new Set<string>();
    for (const input of inputs) {
      let top: unknown;
      try {
        top = decodeCbor(input.bytes.subarray(4));
      } catch {
        continue;
      }
      if (typeof top !== 'object' || top === null) continue;
      for (const inner of Object.values(top)) {
        if (typeof inner !== 'object' || inner === null) continue;
        for (const [k, v] of Object.entries(inner)) {
          if (k.toLowerCase() === 'query_id' && v instanceof Uint8Array) {
            const q = new Uint8Array(16);
            q.set(v.subarray(0, 16));
            out.add(hex(q));
          }
        }
      }
    }
    return out;
  }

  async function waitFor(p: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([p.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  const describeInput = (input: FrameInput | TailInput) =>
    `${input.label} [${input.bytes.length} bytes: ${hex(input.bytes.subarray(0, 48))}${input.bytes.length > 48 ? '…' : ''}]`;

  /**
   * Sends `inputs` on one connection, each followed by a probe, and returns how many the devnet
   * kept (probes answered in order) and whether the connection is still open. Runs of `keep`
   * inputs are pipelined in one write; any other input goes alone, after every earlier probe is
   * answered, because the devnet (like kpclientd) may drop a connection before answering requests
   * that arrived just ahead of a bad frame, and the drop must be pinned on the right input.
   */
  async function runSegment(
    conn: RawConnection,
    inputs: FrameInput[],
    failures: string[],
    /** query_ids a reply may carry: this connection's, or (for a resumed session) the whole session's. */
    allowed: Set<string>,
  ): Promise<{ kept: number; open: boolean }> {
    const seen = new Map<string, DecodedResponse[]>();
    let answered = 0;
    let target = 0;
    let wake: () => void = () => {};
    conn.onFrame = (r) => {
      const body = (r as { body?: { query_id?: Uint8Array; counter?: bigint } }).body;
      const q = body?.query_id;
      if (!q) return;
      const dv = new DataView(q.buffer, q.byteOffset, 16);
      if (q.length === 16 && dv.getUint32(0) === PROBE_MAGIC && dv.getUint32(8) === 0x5eed) {
        const n = dv.getUint32(4);
        if (r.key !== 'get_message_box_index_counter_reply')
          failures.push(`probe ${n} answered with ${r.key}`);
        else if (body.counter !== probeCounter)
          failures.push(`probe ${n}: counter ${body.counter} instead of ${probeCounter}`);
        if (n !== answered) failures.push(`probe ${n} answered out of order (expected ${answered})`);
        // The input before this probe was kept: a local request of it must have been answered.
        const input = inputs[n];
        if (input?.reply) {
          const list = seen.get(hex(input.reply.queryId)) ?? [];
          const at = list.findIndex((x) => x.key === input.reply!.key);
          if (at < 0)
            failures.push(`no ${input.reply.key} before the next probe for: ${describeInput(input)}`);
          else list.splice(at, 1);
        }
        answered = n + 1;
        if (answered >= target) wake();
        return;
      }
      const k = hex(q);
      if (!allowed.has(k)) failures.push(`${r.key} carries query_id ${k}, never sent on this connection`);
      const list = seen.get(k) ?? [];
      list.push(r);
      seen.set(k, list);
    };
    let pos = 0;
    while (pos < inputs.length && !conn.closed) {
      let end = pos + 1;
      if (inputs[pos]!.expect === 'keep') while (end < inputs.length && inputs[end]!.expect === 'keep') end++;
      const chunks: Uint8Array[] = [];
      for (let n = pos; n < end; n++) chunks.push(inputs[n]!.bytes, probeFrame(n).frame);
      target = end;
      const groupDone = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const tg = performance.now();
      conn.write(Buffer.concat(chunks));
      const done = await waitFor(Promise.race([groupDone, conn.closedPromise]), STALL_MS);
      if (timeByLabel) {
        const per = (performance.now() - tg) / (end - pos);
        for (let n = pos; n < end; n++) {
          const k = inputs[n]!.label.replace(/\d+/g, 'N').replace(/ \((go|minimal)\)$/, '');
          const e = timeByLabel.get(k) ?? [0, 0];
          e[0] += per;
          e[1]++;
          timeByLabel.set(k, e);
        }
      }
      if (!done) {
        failures.push(
          `devnet stopped answering (connection open, ${answered}/${end} probes answered) after: ${describeInput(inputs[answered]!)}`,
        );
        conn.destroy();
        return { kept: answered, open: false };
      }
      if (answered < end) break;
      pos = end;
    }
    return { kept: answered, open: !conn.closed };
  }

  function mismatch(stats: Stats, failures: string[], what: string, input: FrameInput): void {
    const category = `${what}: ${input.label.replace(/\d+/g, 'N')}`;
    if (process.env.FUZZ_STRICT === '1' || !KNOWN_DEVIATIONS.some((re) => re.test(category))) {
      failures.push(`${what}: ${describeInput(input)}`);
      return;
    }
    const d = stats.deviations.get(category) ?? { count: 0, example: describeInput(input) };
    d.count++;
    stats.deviations.set(category, d);
  }

  async function runBatch(
    batch: { frames: FrameInput[]; tail: TailInput | null; session: boolean },
    stats: Stats,
  ): Promise<void> {
    const failures: string[] = [];
    // One session per batch: every reconnect resumes it (session_token with the same token).
    const token = batch.session ? randomBytes(16) : undefined;
    let conn: RawConnection | undefined;
    const connect = async () => {
      stats.connections++;
      const t0 = performance.now();
      const c = await RawConnection.open(ep, { sessionToken: token ?? false, timeoutMs: STALL_MS });
      stats.connectMs += performance.now() - t0;
      return c;
    };
    const checkProtocol = (c: RawConnection) => {
      for (const e of c.protocolErrors) failures.push(`devnet sent a bad frame: ${e}`);
      c.protocolErrors.length = 0;
    };
    let closedGracefully = false;
    try {
      let i = 0;
      while (i < batch.frames.length) {
        conn = await connect();
        const seg = batch.frames.slice(i);
        const t0 = performance.now();
        const allowed = queryIdsIn(token ? batch.frames : seg);
        const { kept, open } = await runSegment(conn, seg, failures, allowed);
        stats.segmentMs += performance.now() - t0;
        for (const input of seg.slice(0, kept)) {
          stats.frames++;
          if (input.expect === 'drop') mismatch(stats, failures, 'kept the connection after', input);
        }
        if (kept < seg.length) {
          const culprit = seg[kept]!;
          stats.frames++;
          stats.drops++;
          const cat = `${culprit.expect} ${culprit.label.replace(/\d+/g, 'N').replace(/^([a-z_]+): .*/, '$1: mutated')}`;
          stats.dropLabels.set(cat, (stats.dropLabels.get(cat) ?? 0) + 1);
          if (open)
            failures.push(`connection open but probe ${kept} unanswered after: ${describeInput(culprit)}`);
          if (culprit.expect === 'keep') mismatch(stats, failures, 'dropped the connection on', culprit);
          checkProtocol(conn);
          conn.destroy();
          i += kept + 1;
        } else {
          i = batch.frames.length;
        }
        if (failures.length > 0) break;
      }
      if (batch.tail && failures.length === 0) {
        const tail = batch.tail;
        if (!conn || conn.closed) conn = await connect();
        stats.tails++;
        conn.write(tail.bytes);
        if (tail.expect === 'eof') conn.socket.end();
        if (!(await waitFor(conn.closedPromise, 5_000))) {
          failures.push(
            `connection not closed ${tail.expect === 'eof' ? 'after our EOF ' : ''}on: ${describeInput(tail)}`,
          );
        }
      }
      if (conn && !conn.closed) {
        checkProtocol(conn);
        await conn.close(true);
        closedGracefully = true;
      }
      if (conn) checkProtocol(conn);
    } finally {
      conn?.destroy();
      // A session whose last connection the devnet dropped keeps its ARQ state for the grace
      // period: resume it once more and end it with thin_close.
      if (token && !closedGracefully) {
        const c = await RawConnection.open(ep, { sessionToken: token, timeoutMs: STALL_MS }).catch(
          () => undefined,
        );
        await c?.close(true);
      }
    }
    if (failures.length > 0)
      throw new Error(`${failures.length} failure(s):\n${failures.slice(0, 12).join('\n')}`);
  }

  it('survives at least 10,000 random and mutated frames, then serves a correct write and read', async () => {
    const stats: Stats = {
      deviations: new Map(),
      dropLabels: new Map(),
      connectMs: 0,
      segmentMs: 0,
      frames: 0,
      tails: 0,
      connections: 0,
      drops: 0,
    };
    const started = performance.now();
    const batchArb = fc.record({
      frames: fc.array(frameInput(ctx), {
        minLength: FRAMES_PER_CONNECTION,
        maxLength: FRAMES_PER_CONNECTION,
      }),
      tail: fc.option(tailInput(ctx), { freq: 2 }),
      session: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(batchArb, async (batch) => {
        await runBatch(batch, stats);
        if (process.env.FUZZ_VERBOSE === '1' && stats.connections % 10 < 1)
          console.log(
            `${stats.frames} frames, ${((performance.now() - started) / 1000).toFixed(1)} s`,
            net.stats(),
          );
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `fuzz seed ${SEED}: ${stats.frames} frames + ${stats.tails} tails over ${stats.connections} connections ` +
        `(${stats.drops} dropped by the devnet) in ${seconds.toFixed(1)} s ` +
        `(connecting ${(stats.connectMs / 1000).toFixed(1)} s, inputs ${(stats.segmentMs / 1000).toFixed(1)} s)`,
    );
    if (process.env.FUZZ_VERBOSE === '1') {
      console.log('devnet stats', net.stats());
      const t = [...(timeByLabel ?? [])].sort((a, b) => b[1][0] - a[1][0]).slice(0, 30);
      console.log(
        t
          .map(
            ([k, [ms, n]]) =>
              `${ms.toFixed(0).padStart(7)} ms ${String(n).padStart(5)}x ${(ms / n).toFixed(2).padStart(7)}  ${k}`,
          )
          .join('\n'),
      );
      const top = [...stats.dropLabels].sort((a, b) => b[1] - a[1]).slice(0, 25);
      console.log(`drops by input:\n${top.map(([k, v]) => `${String(v).padStart(6)}  ${k}`).join('\n')}`);
    }
    for (const [category, d] of stats.deviations) {
      console.log(`known deviation x${d.count}: ${category}\n    e.g. ${d.example}`);
    }
    expect(stats.frames + stats.tails).toBeGreaterThanOrEqual(10_000);

    // Still up: a fresh connection, a write through the ARQ and a read that returns it.
    const conn = await RawConnection.open(ep);
    try {
      const ch = await newChannel(conn);
      const message = randomBytes(64);
      await writeBox(conn, ch.writeCap, ch.firstIndex, message);
      const reader = await RawConnection.open(ep);
      try {
        expect(Buffer.from(await readBox(reader, ch.readCap, ch.firstIndex))).toEqual(Buffer.from(message));
      } finally {
        await reader.close();
      }
      expect(conn.protocolErrors).toEqual([]);
    } finally {
      await conn.close();
    }
  }, 180_000);
});

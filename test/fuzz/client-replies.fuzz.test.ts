/**
 * Fuzzing the client's reply handling over a real socket: a scripted daemon answers each of 400
 * seeded fast-check cases (a pending newKeypair) with golden kpclientd frames, mutations of them
 * (some re-addressed to the pending call's query_id), random bytes or a bad length prefix, and then
 * the proper reply, or drops the connection. Checked: the client never crashes and leaves no
 * unhandled rejection; the pending call always settles, with its result or a typed ThinClientError
 * and never a TimeoutError (after a dropped connection it is re-sent and answered); every bad frame
 * shows as a protocolError event (and a redial), every message with a key it does not know as an unknown event, and
 * the client is ready at the end. The seed is printed; FUZZ_SEED=<n> reproduces a run.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThinClientError, TimeoutError } from '../../src/errors.js';
import { ThinClient } from '../../src/index.js';
import { decodeCbor, encodeCbor, encodeResponse } from '../../src/wire/index.js';
import { type ReceivedRequest, ScriptedDaemon } from '../helpers/scriptedDaemon.js';
import { goldenReplies, mutate, mutatedGoldenArb, mutationArb, withPrefix } from './clientFrames.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const CASES = Number(process.env.FUZZ_SOCKET_RUNS ?? 400);
const golden = goldenReplies();

/** A golden reply re-addressed to `queryId` (when it has a query_id), then mutated. */
function readdressed(
  index: number,
  queryId: Uint8Array,
  mutations: Parameters<typeof mutate>[1],
): Uint8Array {
  const top = decodeCbor(golden[index]!.body) as Record<string, Record<string, unknown> | null>;
  for (const inner of Object.values(top)) if (inner && 'query_id' in inner) inner.query_id = queryId;
  return mutate(encodeCbor(top), mutations);
}

type Hostile =
  | { kind: 'golden'; index: number }
  | { kind: 'mutated'; body: Uint8Array }
  | { kind: 'readdressed'; index: number; mutations: Parameters<typeof mutate>[1] }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'prefix'; announced: number }
  | { kind: 'unknownKey'; key: string; value: unknown };

const hostileArb: fc.Arbitrary<Hostile> = fc.oneof(
  fc.record({ kind: fc.constant('golden' as const), index: fc.integer({ min: 0, max: golden.length - 1 }) }),
  fc.record({ kind: fc.constant('mutated' as const), body: mutatedGoldenArb(golden) }),
  fc.record({
    kind: fc.constant('readdressed' as const),
    index: fc.integer({ min: 0, max: golden.length - 1 }),
    mutations: fc.array(mutationArb, { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({
    kind: fc.constant('unknownKey' as const),
    key: fc.string({ minLength: 1, maxLength: 20 }).map((k) => `x_${k}`),
    value: fc.anything({ maxDepth: 2 }),
  }),
  fc.record({
    kind: fc.constant('prefix' as const),
    announced: fc.oneof(fc.constant(0), fc.constant(40 * 1024 * 1024 + 1), fc.constant(0xffff_ffff)),
  }),
);

interface Case {
  frames: Hostile[];
  end: 'reply' | 'drop';
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  frames: fc.array(hostileArb, { minLength: 1, maxLength: 4 }),
  end: fc.constantFrom('reply' as const, 'drop' as const),
});

describe(`client reply handling under fuzzing over a socket (seed ${SEED})`, () => {
  let daemon: ScriptedDaemon;
  let client: ThinClient;
  let current: Case = { frames: [], end: 'reply' };
  const hostileSent = new Set<string>();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const events = { protocolError: 0, unknown: 0, connected: 0 };

  const properReply = (r: ReceivedRequest) =>
    encodeResponse('new_keypair_reply', {
      query_id: r.body.query_id as Uint8Array,
      write_cap: new Uint8Array(168).fill(1),
      read_cap: new Uint8Array(136).fill(2),
      first_message_index: new Uint8Array(104).fill(3),
      error_code: 0,
    });

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    daemon = await ScriptedDaemon.start({
      autoReply: (r) => {
        if (r.key !== 'new_keypair') return undefined;
        const id = Buffer.from(r.body.query_id as Uint8Array).toString('hex');
        // A re-sent request (after a dropped connection) is answered properly.
        if (hostileSent.has(id)) {
          r.conn.sendBody(properReply(r));
          return undefined;
        }
        hostileSent.add(id);
        const bytes: Uint8Array[] = [];
        for (const f of current.frames) {
          if (f.kind === 'golden') bytes.push(withPrefix(golden[f.index]!.body));
          else if (f.kind === 'mutated') bytes.push(withPrefix(f.body));
          else if (f.kind === 'readdressed')
            bytes.push(withPrefix(readdressed(f.index, r.body.query_id as Uint8Array, f.mutations)));
          else if (f.kind === 'random') bytes.push(f.bytes);
          else if (f.kind === 'unknownKey') bytes.push(withPrefix(encodeCbor({ [f.key]: f.value })));
          else bytes.push(withPrefix(new Uint8Array(0), f.announced));
        }
        r.conn.sendRaw(Buffer.concat(bytes));
        if (current.end === 'reply') r.conn.sendBody(properReply(r));
        else r.conn.drop();
        return undefined;
      },
    });
    client = await ThinClient.connect(daemon.config, {
      reconnect: { initialDelayMs: 1, maxDelayMs: 5, jitter: 0 },
      requestTimeoutMs: 20_000,
      // A random prefix can announce a frame the daemon never finishes: give up on it soon.
      partialFrameTimeoutMs: 200,
    });
    client.on('protocolError', () => events.protocolError++);
    client.on('unknown', () => events.unknown++);
    client.on('daemonConnected', () => events.connected++);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await client?.close();
    await daemon?.stop();
  });

  it(`settles every pending call with its result or a typed error over ${CASES} hostile replies`, async () => {
    const outcomes = { resolved: 0, typedError: 0 };
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        current = c;
        try {
          await client.newKeypair(randomBytes(32));
          outcomes.resolved++;
        } catch (error) {
          if (!(error instanceof ThinClientError) || error instanceof TimeoutError) throw error;
          outcomes.typedError++;
        }
      }),
      { seed: SEED, numRuns: CASES, endOnFailure: true },
    );
    await new Promise((r) => setImmediate(r));
    console.log(
      `client reply fuzzing over a socket, seed ${SEED}: ${CASES} cases; ${outcomes.resolved} calls resolved, ` +
        `${outcomes.typedError} typed errors; ${events.protocolError} protocolError events, ` +
        `${events.unknown} unknown events, ${events.connected} redials`,
    );
    expect(unhandled).toEqual([]);
    expect(outcomes.resolved + outcomes.typedError).toBe(CASES);
    expect(events.protocolError).toBeGreaterThan(0);
    expect(events.unknown).toBeGreaterThan(0);
    // Still served properly afterwards.
    current = { frames: [], end: 'reply' };
    await expect(client.newKeypair(randomBytes(32))).resolves.toBeDefined();
    expect(client.isDaemonConnected()).toBe(true);
  }, 120_000);
});

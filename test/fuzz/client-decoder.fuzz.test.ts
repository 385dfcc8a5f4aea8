/**
 * Fuzzing the client's frame decoder and reply decoding (src/wire): 11,000 seeded fast-check cases
 * over golden kpclientd frames, mutations of them, random bytes and random CBOR, and streams of
 * them cut into random chunks (clientFrames.ts states the properties). The seed is printed;
 * FUZZ_SEED=<n> reproduces a run, bench/fuzz.ts runs a million cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { encodeCbor } from '../../src/wire/index.js';
import { checkStream, decodeOutcome, goldenReplies, mutatedGoldenArb, streamArb } from './clientFrames.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const golden = goldenReplies();
const tally = { known: 0, unknown: 0, protocolError: 0 };

function count(body: Uint8Array): void {
  const outcome = decodeOutcome(body);
  if (outcome instanceof ProtocolError) tally.protocolError++;
  else if (outcome.key === 'unknown') tally.unknown++;
  else tally.known++;
}

describe(`client frame decoding under fuzzing (seed ${SEED})`, () => {
  it('decodes every golden kpclientd frame as the message it was captured as', () => {
    expect(golden.length).toBeGreaterThan(50);
    for (const g of golden) {
      const outcome = decodeOutcome(g.body);
      expect(outcome).not.toBeInstanceOf(ProtocolError);
      expect((outcome as { key: string }).key).toBe(g.kind);
    }
  });

  it('turns 6,000 mutated golden frames into a message or a ProtocolError, nothing else', () => {
    fc.assert(fc.property(mutatedGoldenArb(golden), count), { seed: SEED, numRuns: 6000 });
  });

  it('turns 2,000 random byte strings and random CBOR values into a message or a ProtocolError', () => {
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      fc.anything({ maxDepth: 4 }).map((v) => encodeCbor(v)),
      fc
        .dictionary(fc.string({ maxLength: 24 }), fc.anything({ maxDepth: 2 }), { maxKeys: 4 })
        .map((v) => encodeCbor(v)),
    );
    fc.assert(fc.property(bodies, count), { seed: SEED + 1, numRuns: 2000 });
  });

  it('cuts 3,000 streams of good, mutated, random and oversize frames exactly as a one-shot parse, however chunked', () => {
    fc.assert(
      fc.property(streamArb(golden), ({ stream, cuts }) => checkStream(stream, cuts)),
      { seed: SEED + 2, numRuns: 3000 },
    );
    console.log(
      `client decoder fuzzing, seed ${SEED}: 11,000 cases; ` +
        `bodies: ${tally.known} known messages, ${tally.unknown} unknown, ${tally.protocolError} ProtocolErrors`,
    );
    expect(tally.protocolError).toBeGreaterThan(0);
    expect(tally.known).toBeGreaterThan(0);
  });
});

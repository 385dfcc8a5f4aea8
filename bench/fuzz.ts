/**
 * Fuzz throughput: a million seeded fast-check cases against the client's frame decoder and reply
 * decoding (the cases and properties of test/fuzz/clientFrames.ts: mutated golden kpclientd frames,
 * and streams of good, mutated, random and oversize frames cut into random chunks). Prints cases/s.
 *
 *   npx tsx bench/fuzz.ts            FUZZ_CASES=100000 FUZZ_SEED=7 for a shorter or other run
 */
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  checkStream,
  decodeOutcome,
  goldenReplies,
  mutatedGoldenArb,
  streamArb,
} from '../test/fuzz/clientFrames.js';

export function run(): void {
  const cases = Number(process.env.FUZZ_CASES ?? 1_000_000);
  const seed = Number(process.env.FUZZ_SEED ?? 20261207);
  const golden = goldenReplies();
  // Three mutated frames decoded for every chunked stream checked, as in the test suite.
  const arb = fc.oneof(
    { weight: 3, arbitrary: mutatedGoldenArb(golden).map((body) => () => void decodeOutcome(body)) },
    {
      weight: 1,
      arbitrary: streamArb(golden).map(
        ({ stream, cuts }) =>
          () =>
            checkStream(stream, cuts),
      ),
    },
  );
  const t0 = performance.now();
  fc.assert(
    fc.property(arb, (check) => check()),
    { seed, numRuns: cases },
  );
  const s = (performance.now() - t0) / 1000;
  console.log(
    `fuzz: ${cases.toLocaleString('en')} decoder cases (seed ${seed}), no property broken: ` +
      `${s.toFixed(1)} s, ${Math.round(cases / s).toLocaleString('en')} cases/s`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) run();

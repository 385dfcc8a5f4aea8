/**
 * src/wire micro-benchmark: decode and encode of the frames a busy client handles most, in a tight
 * loop (no sockets). Prints ns per call (median of BENCH_WIRE_ROUNDS rounds); not a test.
 *
 *   npx tsx bench/wire.ts
 *
 * Replies are encoded as Go does (`go` style: every top-level key, nulls for the others), since
 * that is what the client decodes from kpclientd; requests in the client's minimal style.
 */
import { pathToFileURL } from 'node:url';
import { decodeResponse, encodeRequest, encodeResponse } from '../src/wire/index.js';

const ROUNDS = Number(process.env.BENCH_WIRE_ROUNDS ?? 7);
const CALLS = Number(process.env.BENCH_WIRE_CALLS ?? 20_000);

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const qid = bytes(16);

const nextIndexReply = encodeResponse(
  'next_message_box_index_reply',
  { query_id: qid, next_message_box_index: bytes(104), error_code: 0 },
  'go',
);
const encryptWriteReply = encodeResponse(
  'encrypt_write_reply',
  {
    query_id: qid,
    message_ciphertext: bytes(1700),
    envelope_descriptor: bytes(1200),
    envelope_hash: bytes(32),
    next_message_box_index: bytes(104),
    error_code: 0,
  },
  'go',
);
const resendReply = encodeResponse(
  'start_resending_encrypted_message_reply',
  { query_id: qid, plaintext: bytes(1549), error_code: 0 },
  'go',
);

const cases: [string, () => unknown][] = [
  ['decode next_message_box_index_reply', () => decodeResponse(nextIndexReply)],
  ['decode encrypt_write_reply', () => decodeResponse(encryptWriteReply)],
  ['decode start_resending_..._reply', () => decodeResponse(resendReply)],
  [
    'encode next_message_box_index',
    () => encodeRequest('next_message_box_index', { query_id: qid, message_box_index: bytes(104) }),
  ],
  [
    'encode encrypt_write (100 B)',
    () =>
      encodeRequest('encrypt_write', {
        query_id: qid,
        plaintext: bytes(100),
        write_cap: bytes(168),
        message_box_index: bytes(104),
      }),
  ],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export interface WireFigure {
  name: string;
  nsPerCall: number;
}

export function run(): WireFigure[] {
  const out: WireFigure[] = [];
  console.log(`# src/wire micro-benchmark: ${CALLS} calls per round, median of ${ROUNDS} rounds`);
  for (const [name, f] of cases) {
    for (let i = 0; i < CALLS; i++) f(); // warm-up: JIT and cbor-x's internal buffers
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) f();
      rounds.push(Number(process.hrtime.bigint() - t) / CALLS);
    }
    const nsPerCall = median(rounds);
    out.push({ name, nsPerCall });
    console.log(`  ${name.padEnd(40)} ${nsPerCall.toFixed(0).padStart(7)} ns/call`);
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) run();

/**
 * Our wire codec against the golden frames captured from the REAL kpclientd
 * (test/fixtures/kpclientd/*.json, written by test/interop/testnet/capture.mjs). Needs no network.
 *
 * - every daemon frame decodes with the client's strict decoder, to the key the capture saw;
 * - re-encoding the decoded body in Go style reproduces the daemon's bytes exactly (this is what
 *   the devnet claims: a byte-compatible kpclientd);
 * - every frame our capture tool sent decodes with the request decoder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeRequest, decodeResponse, encodeResponse } from '../../src/wire/index.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/kpclientd');

interface Frame {
  direction: 'client->daemon' | 'daemon->client';
  kind: string;
  hex: string;
}
interface Fixture {
  name: string;
  frames: Frame[];
}

const fixtures: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Fixture);
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

describe('golden frames from the real kpclientd', () => {
  it('are present', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  for (const fx of fixtures) {
    describe(fx.name, () => {
      const daemonFrames = fx.frames.filter((f) => f.direction === 'daemon->client');
      const clientFrames = fx.frames.filter((f) => f.direction === 'client->daemon');

      it.each(daemonFrames.map((f, i) => [`${i}:${f.kind}`, f] as const))(
        'decodes daemon frame %s strictly',
        (_label, f) => {
          const decoded = decodeResponse(bytes(f.hex), { fixedSize: 'strict' });
          expect(decoded.key).toBe(f.kind);
        },
      );

      it.each(daemonFrames.map((f, i) => [`${i}:${f.kind}`, f] as const))(
        're-encodes daemon frame %s byte for byte (Go style)',
        (_label, f) => {
          const decoded = decodeResponse(bytes(f.hex), { fixedSize: 'go' });
          if (decoded.key === 'unknown') throw new Error('unknown response key');
          // biome-ignore lint/suspicious/noExplicitAny: the key/body pair comes from the decoder itself
          const again = encodeResponse(decoded.key as any, (decoded as any).body, 'go');
          expect(Buffer.from(again).toString('hex')).toBe(f.hex);
        },
      );

      if (fx.name === 'undecodable_request') {
        // The real daemon dropped the connection on this request (10-byte read_cap): Go's
        // BinaryUnmarshaler rejects the length, so the devnet's decoder must reject it too.
        it('rejects the request the daemon could not decode', () => {
          expect(() => decodeRequest(bytes(clientFrames[0]!.hex), { fixedSize: 'go' })).toThrow();
        });
        return;
      }
      const known = clientFrames.filter((f) => f.kind !== 'bogus_request');
      if (known.length > 0) {
        it.each(known.map((f, i) => [`${i}:${f.kind}`, f] as const))('decodes request %s', (_label, f) => {
          const decoded = decodeRequest(bytes(f.hex), { fixedSize: 'go' });
          expect(decoded.key).toBe(f.kind);
        });
      }
    });
  }
});

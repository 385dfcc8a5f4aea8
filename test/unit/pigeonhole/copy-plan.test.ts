/**
 * How a copy job is cut into create-courier-envelopes calls (planBatches), and how one call is made
 * (buildBatch): which daemon request, with which flags, Buffer and destination indices.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBatch, type CopyClient } from '../../../actors/copyStream.js';
import { type CopyJob, planBatches } from '../../../machines/copyStream.js';

const filled = (n: number, v: number) => new Uint8Array(n).fill(v);
const idx = (v: number) => filled(104, v);

describe('planBatches', () => {
  it('covers every payload byte once, in order, with parts starting on box boundaries and calls of at most batchBoxes boxes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 7 }),
        (lengths, chunkLength, batchBoxes) => {
          const job: CopyJob = {
            kind: 'payload',
            destinations: lengths.map((n, i) => ({
              payload: filled(n, i),
              writeCap: filled(168, i),
              startIndex: idx(i),
            })),
            chunkLength,
            batchBoxes,
          };
          const plan = planBatches(job);
          const next = lengths.map(() => 0);
          for (const call of plan) {
            if (call.kind !== 'payload') throw new Error('kind');
            let boxes = 0;
            const dests = new Set<number>();
            for (const part of call.parts) {
              expect(part.offset).toBe(next[part.dest]);
              expect(part.offset % chunkLength).toBe(0);
              expect(part.length).toBeGreaterThan(0);
              expect(dests.has(part.dest)).toBe(false);
              dests.add(part.dest);
              next[part.dest]! += part.length;
              boxes += Math.ceil(part.length / chunkLength);
            }
            expect(boxes).toBeLessThanOrEqual(batchBoxes);
          }
          expect(next).toEqual(lengths);
          const totalBoxes = lengths.reduce((a, n) => a + Math.ceil(n / chunkLength), 0);
          expect(plan.length).toBe(Math.ceil(totalBoxes / batchBoxes));
        },
      ),
    );
  });

  it('splits a tombstone range into calls of at most batchBoxes, never of zero', () => {
    const job = (count: number, batchBoxes: number): CopyJob => ({
      kind: 'tombstone',
      writeCap: filled(168, 1),
      startIndex: idx(1),
      count,
      batchBoxes,
    });
    expect(planBatches(job(5, 2))).toEqual([
      { kind: 'tombstone', count: 2 },
      { kind: 'tombstone', count: 2 },
      { kind: 'tombstone', count: 1 },
    ]);
    expect(planBatches(job(4, 4))).toEqual([{ kind: 'tombstone', count: 4 }]);
  });
});

/** A client that records create-courier-envelopes calls and answers with recognisable values. */
function recorder() {
  const calls: { method: string; args: unknown[] }[] = [];
  const client = {
    async createCourierEnvelopesFromPayload(...args: unknown[]) {
      calls.push({ method: 'fromPayload', args });
      return { envelopes: [filled(3, 1)], nextDestIndex: idx(200) };
    },
    async createCourierEnvelopesFromMultiPayload(...args: unknown[]) {
      calls.push({ method: 'fromMultiPayload', args });
      const dests = args[0] as unknown[];
      return {
        envelopes: [filled(3, 2)],
        buffer: filled(2, 9),
        nextDestIndices: dests.map((_, i) => idx(210 + i)),
      };
    },
    async createCourierEnvelopesFromTombstoneRange(...args: unknown[]) {
      calls.push({ method: 'fromTombstoneRange', args });
      return { envelopes: [filled(3, 3)], buffer: new Uint8Array(0), nextDestIndex: idx(220) };
    },
  };
  return { client: client as unknown as CopyClient, calls };
}

describe('buildBatch', () => {
  const job: CopyJob = {
    kind: 'payload',
    destinations: [
      { payload: filled(10, 1), writeCap: filled(168, 1), startIndex: idx(1) },
      { payload: filled(10, 2), writeCap: filled(168, 2), startIndex: idx(2) },
      { payload: filled(10, 3), writeCap: filled(168, 3), startIndex: idx(3) },
    ],
    chunkLength: 4,
    batchBoxes: 3,
  };

  it("uses the guide's one-channel call when a single destination fits in one call", async () => {
    const { client, calls } = recorder();
    const out = await buildBatch(client, {
      job,
      spec: { kind: 'payload', parts: [{ dest: 1, offset: 0, length: 10 }] },
      isStart: true,
      isLast: true,
      buffer: new Uint8Array(0),
      nextDestIndices: [idx(1), idx(2), idx(3)],
    });
    expect(calls).toEqual([
      { method: 'fromPayload', args: [filled(10, 2), filled(168, 2), idx(2), true, true] },
    ]);
    expect(out).toEqual({
      elements: [filled(3, 1)],
      buffer: new Uint8Array(0),
      nextDestIndices: [idx(1), idx(200), idx(3)],
    });
  });

  it('passes the Buffer and the current indices on, and maps the returned indices back to their destinations', async () => {
    const { client, calls } = recorder();
    const out = await buildBatch(client, {
      job,
      spec: {
        kind: 'payload',
        parts: [
          { dest: 1, offset: 8, length: 2 },
          { dest: 2, offset: 0, length: 8 },
        ],
      },
      isStart: false,
      isLast: false,
      buffer: filled(5, 7),
      nextDestIndices: [idx(101), idx(102), idx(103)],
    });
    expect(calls).toEqual([
      {
        method: 'fromMultiPayload',
        args: [
          [
            { payload: filled(2, 2), writeCap: filled(168, 2), startIndex: idx(102) },
            { payload: filled(8, 3), writeCap: filled(168, 3), startIndex: idx(103) },
          ],
          false,
          false,
          filled(5, 7),
        ],
      },
    ]);
    expect(out.nextDestIndices).toEqual([idx(101), idx(210), idx(211)]);
    expect(out.buffer).toEqual(filled(2, 9));
  });

  it('sends no Buffer on the first multi-payload call', async () => {
    const { client, calls } = recorder();
    await buildBatch(client, {
      job,
      spec: { kind: 'payload', parts: [{ dest: 0, offset: 0, length: 8 }] },
      isStart: true,
      isLast: false,
      buffer: new Uint8Array(0),
      nextDestIndices: [idx(1), idx(2), idx(3)],
    });
    expect(calls[0]!.method).toBe('fromMultiPayload');
    expect(calls[0]!.args[3]).toBeNull();
  });

  it('continues a tombstone range from its current index with the Buffer of the previous call', async () => {
    const { client, calls } = recorder();
    const tomb: CopyJob = {
      kind: 'tombstone',
      writeCap: filled(168, 4),
      startIndex: idx(4),
      count: 9,
      batchBoxes: 4,
    };
    const out = await buildBatch(client, {
      job: tomb,
      spec: { kind: 'tombstone', count: 1 },
      isStart: false,
      isLast: true,
      buffer: filled(4, 8),
      nextDestIndices: [idx(44)],
    });
    expect(calls).toEqual([
      { method: 'fromTombstoneRange', args: [filled(168, 4), idx(44), 1, false, true, filled(4, 8)] },
    ]);
    expect(out).toEqual({ elements: [filled(3, 3)], buffer: new Uint8Array(0), nextDestIndices: [idx(220)] });
  });
});

/**
 * What a copy stream (machines/copyStream.ts) copies and how far it got: the job, its plan of
 * create-courier-envelopes calls, and the checkpointed progress. Pure data and pure functions, shared
 * by the machine, its I/O bodies (actors/copyStream.ts) and the checkpoint codec.
 */

export interface CopyDestination {
  payload: Uint8Array;
  writeCap: Uint8Array;
  startIndex: Uint8Array;
}

/** What to copy. Written once, at the start; the checkpoint refers to it. */
export type CopyJob =
  | {
      kind: 'payload';
      destinations: CopyDestination[];
      /** Destination bytes per box: MaxPlaintextPayloadLength − 4 (katzenpost pigeonhole/copy_stream.go: each box carries a 4-byte length prefix). */
      chunkLength: number;
      /** Destination boxes per create-courier-envelopes call. */
      batchBoxes: number;
    }
  | {
      kind: 'tombstone';
      writeCap: Uint8Array;
      startIndex: Uint8Array;
      count: number;
      batchBoxes: number;
    };

/** One create-courier-envelopes call. Payload parts start at box boundaries of their destination. */
export type BatchSpec =
  | { kind: 'payload'; parts: { dest: number; offset: number; length: number }[] }
  | { kind: 'tombstone'; count: number };

export type CopyPhase = 'filling' | 'copying';

/** The checkpoint: everything needed, with the job, to continue the stream in another process. */
export interface CopyProgress {
  phase: CopyPhase;
  /** The temp channel's write cap (a secret); null until the temp channel exists. */
  tempWriteCap: Uint8Array | null;
  /** The next temp box to write. */
  tempIndex: Uint8Array | null;
  /** The encoder's residual bytes between calls (empty before the first and after the last). */
  buffer: Uint8Array;
  /** Each destination's next box index (one entry for a tombstone range). */
  nextDestIndices: Uint8Array[];
  /** Create-courier-envelopes calls completed. */
  batchCursor: number;
  /** The copy-stream elements the last call emitted (each is one temp box's plaintext). */
  elements: Uint8Array[];
  /** elements[0, envelopeCursor) are written to the temp channel. */
  envelopeCursor: number;
  /** Temp boxes written so far, over all batches. */
  tempBoxesWritten: number;
}

/** The create-courier-envelopes calls for a job, a pure function of the job (so resume recomputes it). */
export function planBatches(job: CopyJob): BatchSpec[] {
  const per = Math.max(1, Math.floor(job.batchBoxes));
  const plan: BatchSpec[] = [];
  if (job.kind === 'tombstone') {
    for (let done = 0; done < job.count; done += per)
      plan.push({ kind: 'tombstone', count: Math.min(per, job.count - done) });
    return plan;
  }
  let parts: { dest: number; offset: number; length: number }[] = [];
  let room = per;
  job.destinations.forEach((d, dest) => {
    let offset = 0;
    while (offset < d.payload.length) {
      const boxes = Math.ceil((d.payload.length - offset) / job.chunkLength);
      const take = Math.min(boxes, room);
      const length = Math.min(take * job.chunkLength, d.payload.length - offset);
      parts.push({ dest, offset, length });
      offset += length;
      room -= take;
      if (room === 0) {
        plan.push({ kind: 'payload', parts });
        parts = [];
        room = per;
      }
    }
  });
  if (parts.length > 0) plan.push({ kind: 'payload', parts });
  return plan;
}

/** The progress of a stream that has not started. */
export function initialProgress(job: CopyJob): CopyProgress {
  return {
    phase: 'filling',
    tempWriteCap: null,
    tempIndex: null,
    buffer: new Uint8Array(0),
    nextDestIndices: job.kind === 'payload' ? job.destinations.map((d) => d.startIndex) : [job.startIndex],
    batchCursor: 0,
    elements: [],
    envelopeCursor: 0,
    tempBoxesWritten: 0,
  };
}

/**
 * The inputs and outputs of the I/O actors machines/copyStream.ts names (bodies in
 * actors/copyStream.ts), and the stand-in the bare machine runs until they are provided.
 */
import type { BatchSpec, CopyJob } from './copyJob.js';

export interface BuildBatchInput {
  job: CopyJob;
  spec: BatchSpec;
  isStart: boolean;
  isLast: boolean;
  buffer: Uint8Array;
  nextDestIndices: Uint8Array[];
}
export interface BuildBatchOutput {
  elements: Uint8Array[];
  buffer: Uint8Array;
  nextDestIndices: Uint8Array[];
}
export interface TempChannel {
  tempWriteCap: Uint8Array;
  tempIndex: Uint8Array;
}
export interface EncryptTempBoxInput {
  element: Uint8Array;
  tempWriteCap: Uint8Array;
  tempIndex: Uint8Array;
}
export interface PendingTempWrite {
  messageCiphertext: Uint8Array;
  envelopeDescriptor: Uint8Array;
  envelopeHash: Uint8Array;
  nextMessageBoxIndex: Uint8Array;
}
export type CopyCommandOutput =
  | { status: 'succeeded' }
  | { status: 'failed'; replicaErrorCode: number; failedEnvelopeIndex: bigint };
export interface CancelInput {
  tempWriteCap: Uint8Array | null;
  copying: boolean;
  pendingEnvelopeHash: Uint8Array | null;
}

/** The bare machine's stand-in for an I/O actor: provide the real one (actors/copyStream.ts). */
export function missing(name: string) {
  return async (): Promise<never> => {
    throw new Error(`copyStreamMachine: provide a ${name} actor`);
  };
}

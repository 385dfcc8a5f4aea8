/**
 * cancel_resending_encrypted_message and cancel_resending_copy_command: one shape. The operation named
 * by its hash (envelope hash, or write-cap hash for copies) is dropped and its request answered with
 * StartResendingCancelled first; the cancel itself always succeeds once its fields are present.
 */
import { ThinCode } from '../../wire/errorCodes.js';
import type { ArqKind } from './arq.js';
import { type LocalContext, type LocalHandlers, refuse } from './localHandler.js';

function cancel(
  kind: ArqKind,
  queryId: Uint8Array | undefined,
  hash: Uint8Array | undefined,
  { arqs, conn }: LocalContext,
): { error_code: number } {
  if (!queryId || !hash) refuse();
  arqs.cancel(kind, hash, conn);
  return { error_code: ThinCode.Success };
}

export const CANCEL_REQUESTS: Pick<
  LocalHandlers,
  'cancel_resending_encrypted_message' | 'cancel_resending_copy_command'
> = {
  cancel_resending_encrypted_message: {
    answer: (body, ctx) => cancel('envelope', body.query_id, body.envelope_hash, ctx),
  },
  cancel_resending_copy_command: {
    answer: (body, ctx) => cancel('copy', body.query_id, body.write_cap_hash, ctx),
  },
};

/**
 * Every local request kpclientd answers inline, as one table, and the one path that answers them: pay
 * the simulated CTIDH cost, run the handler, and send `<key>_reply` with the request's query_id.
 */
import { ThinCode } from '../../wire/errorCodes.js';
import type { RequestBody, ResponseKey } from '../../wire/schema.js';
import { BOX_REQUESTS } from './boxRequests.js';
import { CANCEL_REQUESTS } from './cancels.js';
import { COURIER_ENVELOPE_REQUESTS } from './courierEnvelopes.js';
import { DIRECTORY_REQUESTS } from './directoryRequests.js';
import {
  type LocalContext,
  type LocalHandler,
  type LocalHandlers,
  type LocalKey,
  RequestRefused,
} from './localHandler.js';
import { VOUCHER_REQUESTS } from './voucherRequests.js';

const LOCAL_HANDLERS: LocalHandlers = {
  ...BOX_REQUESTS,
  ...DIRECTORY_REQUESTS,
  ...CANCEL_REQUESTS,
  ...COURIER_ENVELOPE_REQUESTS,
  ...VOUCHER_REQUESTS,
};

export function isLocalRequest(request: {
  key: string;
}): request is { key: LocalKey; body: RequestBody<LocalKey> } {
  return Object.hasOwn(LOCAL_HANDLERS, request.key);
}

export interface LocalRuntime {
  /** Waits for the simulated cost of `ops` CTIDH operations. */
  ctidh(ops: number): Promise<void>;
  log(line: string): void;
}

/** Answers one local request on `ctx.conn`. */
export async function answerLocal<K extends LocalKey>(
  key: K,
  body: RequestBody<K>,
  ctx: LocalContext,
  runtime: LocalRuntime,
): Promise<void> {
  const handler = LOCAL_HANDLERS[key] as LocalHandler<K>;
  if (handler.ctidhOps) await runtime.ctidh(handler.ctidhOps);
  let reply: object;
  try {
    reply = await handler.answer(body, ctx);
  } catch (err) {
    if (!(err instanceof RequestRefused)) runtime.log(`${key}: ${(err as Error).message}`);
    reply = {
      error_code: err instanceof RequestRefused ? err.code : (handler.failure ?? ThinCode.InternalError),
    };
  }
  const send = ctx.conn.send.bind(ctx.conn) as (k: ResponseKey, b: object) => boolean;
  send(`${key}_reply` as ResponseKey, { query_id: (body as { query_id?: Uint8Array }).query_id, ...reply });
}

/**
 * Local requests: the daemon answers each one itself with one reply carrying the same query_id
 * (key generation, encryption, envelope building, the PKI document, the authorities). Each kind is
 * one `LocalRequest`: which request it is, which reply it expects, and how that reply becomes the
 * typed result. All of them are side-effect free at the daemon, so re-sending one after a lost
 * connection is safe (actors/registry.ts relies on that).
 */
import { PayloadTooLargeError, ProtocolError } from '../errors.js';
import {
  type DecodedResponse,
  encodeRequest,
  errorForThinCode,
  MAX_FRAME_SIZE,
  type RequestBody,
  type RequestKey,
  type ResponseBody,
  type ResponseKey,
} from '../wire/index.js';
import { fail, ok, type Result } from './result.js';

export interface LocalRequest<T = unknown> {
  readonly key: RequestKey;
  readonly replyKey: ResponseKey;
  /** A successful reply's body → the typed result; throws ProtocolError for a missing field. */
  readonly decode: (reply: never) => T;
}

/** Declares a local request kind (typed on its request and reply keys). */
export function localRequest<K extends RequestKey, R extends ResponseKey, T>(
  key: K,
  replyKey: R,
  decode: (reply: ResponseBody<R>) => T,
): LocalRequest<T> {
  return { key, replyKey, decode: decode as (reply: never) => T };
}

/** One local request, ready to be given a query id and sent. */
export interface LocalCall<T> {
  request: LocalRequest<T>;
  body: object;
}

/** A local request of this kind with this body (its query id comes when it is sent). */
export const localCall = <K extends RequestKey, T>(
  request: LocalRequest<T>,
  body: Omit<RequestBody<K>, 'query_id'>,
): LocalCall<T> => ({ request, body });

/** A request body as CBOR, with its query id; PayloadTooLargeError past the frame limit. */
export function encodeWithQueryId<K extends RequestKey>(
  key: K,
  body: Omit<RequestBody<K>, 'query_id'>,
  queryId: Uint8Array,
): Uint8Array {
  const bytes = encodeRequest(key, { ...body, query_id: queryId } as RequestBody<K>);
  if (bytes.length + 4 > MAX_FRAME_SIZE) {
    throw new PayloadTooLargeError(`${key} request of ${bytes.length} bytes exceeds the frame limit`);
  }
  return bytes;
}

/** A request body as CBOR without a query id (send_message has none: the daemon keys it by SURB id). */
export function encodeWithoutQueryId<K extends RequestKey>(key: K, body: RequestBody<K>): Uint8Array {
  const bytes = encodeRequest(key, body);
  if (bytes.length + 4 > MAX_FRAME_SIZE) {
    throw new PayloadTooLargeError(`${key} request of ${bytes.length} bytes exceeds the frame limit`);
  }
  return bytes;
}

/** The daemon's reply to a local request → its typed result or typed error. */
export function settleLocal<T>(request: LocalRequest<T>, message: DecodedResponse): Result<T> {
  if (message.key !== request.replyKey) {
    return fail(new ProtocolError(`expected ${request.replyKey} for ${request.key}, got ${message.key}`));
  }
  const body = message.body as { error_code?: number };
  if (body.error_code) return fail(errorForThinCode(body.error_code, request.key));
  try {
    return ok(request.decode(body as never));
  } catch (error) {
    return fail(error instanceof Error ? error : new ProtocolError(String(error)));
  }
}

/** A field a successful reply must carry. */
export function required(value: Uint8Array | undefined, field: string): Uint8Array {
  if (!value) throw new ProtocolError(`${field}: missing in a successful reply`);
  return value;
}

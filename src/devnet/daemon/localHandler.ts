/**
 * The one shape of a local request (katzenpost client/daemon.go, client/incoming_conn.go): answered inline on
 * the connection's reader, in arrival order, with `<key>_reply` carrying the request's query_id and an
 * error_code. A handler returns the reply body; it refuses with `refuse(code)`, and any other throw answers
 * with the handler's `failure` code.
 */
import { ThinCode } from '../../wire/errorCodes.js';
import type { RequestBody, ResponseBody, ResponseKey } from '../../wire/schema.js';
import type { Sizes } from '../geometry.js';
import type { Directory } from '../network/directory.js';
import type { Network } from '../network/network.js';
import type { Drbg } from '../rng.js';
import type { ArqTable } from './arq.js';
import type { AuthorityInfo } from './authorities.js';
import type { Connection } from './connection.js';

export type LocalKey =
  | 'new_keypair'
  | 'encrypt_read'
  | 'encrypt_write'
  | 'cancel_resending_encrypted_message'
  | 'cancel_resending_copy_command'
  | 'next_message_box_index'
  | 'get_message_box_index_counter'
  | 'get_pki_document'
  | 'get_directory_authorities'
  | 'create_courier_envelopes_from_payload'
  | 'create_courier_envelopes_from_multi_payload'
  | 'create_courier_envelopes_from_tombstone_range'
  | 'voucher_mint'
  | 'voucher_induct'
  | 'voucher_open'
  | 'voucher_derive_stream';

export type ReplyKey<K extends LocalKey> = Extract<`${K}_reply`, ResponseKey>;
/** A reply body without its query_id (the dispatch copies it from the request). */
export type LocalReply<K extends LocalKey> = Omit<ResponseBody<ReplyKey<K>>, 'query_id'>;

/** What handlers may use: the daemon's view of the network, and the connection that asked. */
export interface LocalContext {
  readonly net: Network;
  readonly rng: Drbg;
  readonly sizes: Sizes;
  readonly authorities: readonly AuthorityInfo[];
  readonly arqs: ArqTable;
  readonly conn: Connection;
  directory(): Directory;
  /** Lets other connections and the network run now and then during long builds. */
  yieldSometimes(): Promise<void>;
}

export interface LocalHandler<K extends LocalKey> {
  /** CTIDH operations kpclientd performs for this request; their simulated cost is paid first. */
  ctidhOps?: number;
  /** error_code for an unexpected throw. Default InternalError. */
  failure?: number;
  answer(body: RequestBody<K>, ctx: LocalContext): LocalReply<K> | Promise<LocalReply<K>>;
}

export type LocalHandlers = { [K in LocalKey]: LocalHandler<K> };

/** A deliberate refusal: the reply carries `code` and nothing is logged. */
export class RequestRefused extends Error {
  constructor(readonly code: number) {
    super(`refused with error code ${code}`);
  }
}

export function refuse(code: number = ThinCode.InvalidRequest): never {
  throw new RequestRefused(code);
}

/**
 * The thin-client wire messages as data: every request and response body with its fields in Go
 * struct declaration order (kp:client/thin/thin_messages.go, thin_events.go at v0.0.99; the wire is
 * identical to v0.0.90).
 *
 * One table serves three jobs: TypeScript types (derived below), checking and normalising decoded
 * bodies (bytes → Uint8Array, 64-bit → bigint, null → absent), and encoding — minimal one-key maps
 * for the client, or Go-identical full maps for the devnet.
 */

export type FieldType =
  | { readonly kind: 'bytes'; readonly size?: number }
  | { readonly kind: 'u8' }
  | { readonly kind: 'u32' }
  | { readonly kind: 'u64' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'text' }
  /** A Go `error` interface or a map we pass through untouched (geometry, PKI maps). */
  | { readonly kind: 'any' }
  | { readonly kind: 'array'; readonly of: FieldType }
  | { readonly kind: 'struct'; readonly fields: readonly Field[] };

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  /** Go `omitempty`: absent on the wire when zero/nil/false/empty. */
  readonly omitempty?: boolean;
}

const bytes = (size?: number) => ({ kind: 'bytes', size }) as const;
const u8 = { kind: 'u8' } as const;
const u32 = { kind: 'u32' } as const;
const u64 = { kind: 'u64' } as const;
const bool = { kind: 'bool' } as const;
const text = { kind: 'text' } as const;
const any = { kind: 'any' } as const;
const arrayOf = <T extends FieldType>(of: T) => ({ kind: 'array', of }) as const;
const struct = <F extends readonly Field[]>(fields: F) => ({ kind: 'struct', fields }) as const;
const f = <N extends string, T extends FieldType>(name: N, type: T, omitempty = false) =>
  ({ name, type, omitempty }) as const;

/** Sizes of the fixed opaque values (katzenpost client/thin/thin.go; hpqc bacap/bacap.go). */
export const SIZES = {
  queryId: 16,
  messageId: 16,
  surbId: 16,
  appId: 16,
  instanceToken: 16,
  hash: 32,
  messageBoxIndex: 104,
  writeCap: 168,
  readCap: 136,
  seed: 32,
} as const;

const queryId = f('query_id', bytes(SIZES.queryId));
const errorCode = f('error_code', u8);
const writeCap = bytes(SIZES.writeCap);
const readCap = bytes(SIZES.readCap);
const index = bytes(SIZES.messageBoxIndex);
const hash = bytes(SIZES.hash);

const directoryAuthority = struct([
  f('identifier', text),
  f('pki_signature_scheme', text),
  f('wire_kem_scheme', text),
  f('addresses', arrayOf(text)),
  f('identity_public_key_pem', text),
  f('link_public_key_pem', text),
  f('identity_key_hash', hash),
] as const);

const destinationPayload = struct([
  f('payload', bytes()),
  f('write_cap', writeCap),
  f('start_index', index),
] as const);

/** Request bodies, in the order of Go's `Request` struct (21 keys). */
export const REQUESTS = {
  session_token: [f('client_instance_token', bytes(SIZES.instanceToken))],
  thin_close: [],
  send_message: [
    f('id', bytes(SIZES.messageId)),
    f('with_surb', bool),
    f('surbid', bytes(SIZES.surbId)),
    f('destination_id_hash', hash),
    f('recipient_queue_id', bytes()),
    f('payload', bytes()),
  ],
  new_keypair: [queryId, f('seed', bytes())],
  encrypt_read: [queryId, f('read_cap', readCap), f('message_box_index', index)],
  encrypt_write: [queryId, f('plaintext', bytes()), f('write_cap', writeCap), f('message_box_index', index)],
  start_resending_encrypted_message: [
    queryId,
    f('read_cap', readCap),
    f('write_cap', writeCap),
    f('message_box_index', bytes()),
    f('reply_index', u8, true),
    f('envelope_descriptor', bytes()),
    f('message_ciphertext', bytes()),
    f('envelope_hash', hash),
    f('no_retry_on_box_id_not_found', bool, true),
    f('no_idempotent_box_already_exists', bool, true),
  ],
  cancel_resending_encrypted_message: [queryId, f('envelope_hash', hash)],
  start_resending_copy_command: [
    queryId,
    f('write_cap', writeCap),
    f('courier_identity_hash', hash, true),
    f('courier_queue_id', bytes(), true),
  ],
  cancel_resending_copy_command: [queryId, f('write_cap_hash', hash)],
  next_message_box_index: [queryId, f('message_box_index', index)],
  get_message_box_index_counter: [queryId, f('message_box_index', index)],
  get_pki_document: [queryId, f('epoch', u64)],
  get_directory_authorities: [queryId],
  create_courier_envelopes_from_payload: [
    queryId,
    f('payload', bytes()),
    f('dest_write_cap', writeCap),
    f('dest_start_index', index),
    f('is_start', bool),
    f('is_last', bool),
  ],
  create_courier_envelopes_from_multi_payload: [
    queryId,
    f('destinations', arrayOf(destinationPayload)),
    f('is_start', bool),
    f('is_last', bool),
    f('buffer', bytes()),
  ],
  create_courier_envelopes_from_tombstone_range: [
    queryId,
    f('dest_write_cap', writeCap),
    f('dest_start_index', index),
    f('max_count', u32),
    f('is_start', bool),
    f('is_last', bool),
    f('buffer', bytes()),
  ],
  voucher_mint: [queryId, f('message_write_cap', bytes()), f('display_name', text)],
  voucher_induct: [queryId, f('voucher', bytes()), f('voucher_payload', bytes()), f('who_reply', bytes())],
  voucher_open: [
    queryId,
    f('voucher_secret_key', bytes()),
    f('sealed_reply', bytes()),
    f('message_write_cap', bytes()),
  ],
  voucher_derive_stream: [queryId, f('voucher', bytes())],
} as const satisfies Record<string, readonly Field[]>;

const envelopeReply = [
  queryId,
  f('message_ciphertext', bytes()),
  f('envelope_descriptor', bytes()),
  f('envelope_hash', hash),
  f('next_message_box_index', index),
  errorCode,
] as const;

/** Response bodies, in the order of Go's `Response` struct (25 keys). */
export const RESPONSES = {
  session_token_reply: [f('app_id', bytes()), f('resumed', bool)],
  shutdown_event: [],
  connection_status_event: [
    f('is_connected', bool),
    f('err', any),
    f('instance_token', bytes(SIZES.instanceToken)),
    f('sphinx_geometry', any),
    f('pigeonhole_geometry', any),
  ],
  new_pki_document_event: [f('payload', bytes())],
  message_sent_event: [
    f('message_id', bytes(SIZES.messageId)),
    f('surbid', bytes(SIZES.surbId)),
    f('sent_at', u64),
    f('reply_eta', u64),
    f('err', text, true),
  ],
  message_reply_event: [
    f('message_id', bytes(SIZES.messageId)),
    f('surbid', bytes(SIZES.surbId)),
    f('payload', bytes()),
    f('reply_index', u8, true),
    errorCode,
  ],
  message_id_garbage_collected: [f('message_id', bytes(SIZES.messageId))],
  new_keypair_reply: [
    queryId,
    f('write_cap', writeCap),
    f('read_cap', readCap),
    f('first_message_index', index),
    errorCode,
  ],
  encrypt_read_reply: envelopeReply,
  encrypt_write_reply: envelopeReply,
  start_resending_encrypted_message_reply: [
    queryId,
    f('plaintext', bytes()),
    errorCode,
    f('courier_identity_hash', hash),
    f('courier_queue_id', bytes()),
  ],
  cancel_resending_encrypted_message_reply: [queryId, errorCode],
  start_resending_copy_command_reply: [
    queryId,
    errorCode,
    f('replica_error_code', u8, true),
    f('failed_envelope_index', u64, true),
  ],
  cancel_resending_copy_command_reply: [queryId, errorCode],
  next_message_box_index_reply: [queryId, f('next_message_box_index', index), errorCode],
  get_message_box_index_counter_reply: [queryId, f('counter', u64), errorCode],
  get_pki_document_reply: [queryId, f('payload', bytes()), f('epoch', u64), errorCode],
  get_directory_authorities_reply: [queryId, f('authorities', arrayOf(directoryAuthority)), errorCode],
  create_courier_envelopes_from_payload_reply: [
    queryId,
    f('envelopes', arrayOf(bytes())),
    f('next_dest_index', index),
    errorCode,
  ],
  create_courier_envelopes_from_multi_payload_reply: [
    queryId,
    f('envelopes', arrayOf(bytes())),
    f('buffer', bytes()),
    f('next_dest_indices', arrayOf(index)),
    errorCode,
  ],
  create_courier_envelopes_from_tombstone_range_reply: [
    queryId,
    f('envelopes', arrayOf(bytes())),
    f('buffer', bytes()),
    f('next_dest_index', index),
    errorCode,
  ],
  voucher_mint_reply: [
    queryId,
    f('voucher', bytes()),
    f('voucher_payload', bytes()),
    f('voucher_write_cap', bytes()),
    f('voucher_read_cap', bytes()),
    f('voucher_secret_key', bytes()),
    f('voucher_public_key', bytes()),
    errorCode,
  ],
  voucher_induct_reply: [
    queryId,
    f('display_name', text),
    f('mutated_message_read_cap', bytes()),
    f('sealed_reply', bytes()),
    f('voucher_write_cap', bytes()),
    f('voucher_read_cap', bytes()),
    f('salt', bytes()),
    errorCode,
  ],
  voucher_open_reply: [
    queryId,
    f('who_reply', bytes()),
    f('salt', bytes()),
    f('mutated_message_write_cap', bytes()),
    errorCode,
  ],
  voucher_derive_stream_reply: [
    queryId,
    f('voucher_write_cap', bytes()),
    f('voucher_read_cap', bytes()),
    errorCode,
  ],
} as const satisfies Record<string, readonly Field[]>;

export type RequestKey = keyof typeof REQUESTS;
export type ResponseKey = keyof typeof RESPONSES;
export const REQUEST_KEYS = Object.keys(REQUESTS) as RequestKey[];
export const RESPONSE_KEYS = Object.keys(RESPONSES) as ResponseKey[];

/** Requests the daemon answers inline, without mixnet traffic (katzenpost client/daemon.go). */
export const LOCAL_REQUESTS: ReadonlySet<RequestKey> = new Set<RequestKey>([
  'new_keypair',
  'encrypt_read',
  'encrypt_write',
  'cancel_resending_encrypted_message',
  'cancel_resending_copy_command',
  'next_message_box_index',
  'get_message_box_index_counter',
  'get_pki_document',
  'get_directory_authorities',
  'create_courier_envelopes_from_payload',
  'create_courier_envelopes_from_multi_payload',
  'create_courier_envelopes_from_tombstone_range',
  'voucher_mint',
  'voucher_induct',
  'voucher_open',
  'voucher_derive_stream',
]);

// ---- TypeScript types derived from the tables -------------------------------------------------

type ValueOf<T extends FieldType> = T extends { kind: 'bytes' }
  ? Uint8Array
  : T extends { kind: 'u8' | 'u32' }
    ? number
    : T extends { kind: 'u64' }
      ? bigint
      : T extends { kind: 'bool' }
        ? boolean
        : T extends { kind: 'text' }
          ? string
          : T extends { kind: 'array'; of: infer E extends FieldType }
            ? ValueOf<E>[]
            : T extends { kind: 'struct'; fields: infer F extends readonly Field[] }
              ? BodyOf<F>
              : unknown;

/** Every field is optional: the wire treats null and absent alike, and required-ness is per use. */
export type BodyOf<F extends readonly Field[]> = {
  [K in F[number] as K['name']]?: ValueOf<K['type']>;
};

export type RequestBody<K extends RequestKey> = BodyOf<(typeof REQUESTS)[K]>;
export type ResponseBody<K extends ResponseKey> = BodyOf<(typeof RESPONSES)[K]>;

export type AnyRequest = { [K in RequestKey]: { key: K; body: RequestBody<K> } }[RequestKey];
export type AnyResponse = { [K in ResponseKey]: { key: K; body: ResponseBody<K> } }[ResponseKey];

export type DirectoryAuthorityBody = NonNullable<
  ResponseBody<'get_directory_authorities_reply'>['authorities']
>[number];
export type DestinationPayloadBody = NonNullable<
  RequestBody<'create_courier_envelopes_from_multi_payload'>['destinations']
>[number];

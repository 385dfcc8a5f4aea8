/**
 * Every local request kind of the daemon protocol (katzenpost client/thin/thin_messages.go) with its argument
 * checks and its reply decoding. A builder checks the caller's arguments (InvalidArgumentError or
 * PayloadTooLargeError before anything is sent) and returns the request to send.
 */
import { InvalidArgumentError, PayloadTooLargeError } from '../errors.js';
import { SIZES } from '../wire/index.js';
import { boolArg, bytesArg, countArg, optionalBytesArg } from './args.js';
import { type LocalCall, localCall, localRequest, required } from './local.js';
import type {
  CourierEnvelopesResult,
  DestinationPayload,
  DirectoryAuthority,
  EncryptResult,
  KeypairResult,
  MultiPayloadEnvelopesResult,
  TombstoneRangeEnvelopesResult,
} from './types.js';

export type { LocalCall } from './local.js';

export const MAX_COPY_PAYLOAD = 10 * 1024 * 1024;

const encryptResult =
  (key: string) =>
  (r: {
    message_ciphertext?: Uint8Array;
    envelope_descriptor?: Uint8Array;
    envelope_hash?: Uint8Array;
    next_message_box_index?: Uint8Array;
  }): EncryptResult => ({
    messageCiphertext: required(r.message_ciphertext, `${key}.message_ciphertext`),
    envelopeDescriptor: required(r.envelope_descriptor, `${key}.envelope_descriptor`),
    envelopeHash: required(r.envelope_hash, `${key}.envelope_hash`),
    nextMessageBoxIndex: required(r.next_message_box_index, `${key}.next_message_box_index`),
  });

const NEW_KEYPAIR = localRequest(
  'new_keypair',
  'new_keypair_reply',
  (r): KeypairResult => ({
    writeCap: required(r.write_cap, 'new_keypair_reply.write_cap'),
    readCap: required(r.read_cap, 'new_keypair_reply.read_cap'),
    firstMessageIndex: required(r.first_message_index, 'new_keypair_reply.first_message_index'),
  }),
);
const ENCRYPT_WRITE = localRequest(
  'encrypt_write',
  'encrypt_write_reply',
  encryptResult('encrypt_write_reply'),
);
const ENCRYPT_READ = localRequest('encrypt_read', 'encrypt_read_reply', encryptResult('encrypt_read_reply'));
const NEXT_INDEX = localRequest('next_message_box_index', 'next_message_box_index_reply', (r) =>
  required(r.next_message_box_index, 'next_message_box_index_reply.next_message_box_index'),
);
const INDEX_COUNTER = localRequest(
  'get_message_box_index_counter',
  'get_message_box_index_counter_reply',
  (r) => r.counter ?? 0n,
);
const FROM_PAYLOAD = localRequest(
  'create_courier_envelopes_from_payload',
  'create_courier_envelopes_from_payload_reply',
  (r): CourierEnvelopesResult => ({
    envelopes: r.envelopes ?? [],
    nextDestIndex: required(r.next_dest_index, 'create_courier_envelopes_from_payload_reply.next_dest_index'),
  }),
);
const FROM_MULTI_PAYLOAD = localRequest(
  'create_courier_envelopes_from_multi_payload',
  'create_courier_envelopes_from_multi_payload_reply',
  (r): MultiPayloadEnvelopesResult => ({
    envelopes: r.envelopes ?? [],
    buffer: r.buffer ?? new Uint8Array(0),
    nextDestIndices: r.next_dest_indices ?? [],
  }),
);
const PKI_DOCUMENT = localRequest('get_pki_document', 'get_pki_document_reply', (r) => ({
  payload: r.payload ?? new Uint8Array(0),
  epoch: r.epoch ?? 0n,
}));
const AUTHORITIES = localRequest(
  'get_directory_authorities',
  'get_directory_authorities_reply',
  (r): DirectoryAuthority[] =>
    (r.authorities ?? []).map((a) => ({
      identifier: a.identifier ?? '',
      pkiSignatureScheme: a.pki_signature_scheme ?? '',
      wireKemScheme: a.wire_kem_scheme ?? '',
      addresses: a.addresses ?? [],
      identityPublicKeyPem: a.identity_public_key_pem ?? '',
      linkPublicKeyPem: a.link_public_key_pem ?? '',
      identityKeyHash: a.identity_key_hash ?? new Uint8Array(32),
    })),
);

export function newKeypair(seed: Uint8Array): LocalCall<KeypairResult> {
  return localCall<'new_keypair', KeypairResult>(NEW_KEYPAIR, { seed: bytesArg(seed, 'seed', SIZES.seed) });
}

/** `maxPlaintext`: one box's capacity from the Pigeonhole geometry, when known. */
export function encryptWrite(
  plaintext: Uint8Array,
  writeCap: Uint8Array,
  messageBoxIndex: Uint8Array,
  maxPlaintext: number | undefined,
): LocalCall<EncryptResult> {
  bytesArg(plaintext, 'plaintext');
  bytesArg(writeCap, 'writeCap', SIZES.writeCap);
  bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex);
  if (maxPlaintext !== undefined && maxPlaintext > 0 && plaintext.length > maxPlaintext) {
    throw new PayloadTooLargeError(
      `plaintext of ${plaintext.length} bytes exceeds one box (${maxPlaintext} bytes)`,
    );
  }
  return localCall<'encrypt_write', EncryptResult>(ENCRYPT_WRITE, {
    plaintext,
    write_cap: writeCap,
    message_box_index: messageBoxIndex,
  });
}

export function encryptRead(readCap: Uint8Array, messageBoxIndex: Uint8Array): LocalCall<EncryptResult> {
  return localCall<'encrypt_read', EncryptResult>(ENCRYPT_READ, {
    read_cap: bytesArg(readCap, 'readCap', SIZES.readCap),
    message_box_index: bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex),
  });
}

export function nextMessageBoxIndex(messageBoxIndex: Uint8Array): LocalCall<Uint8Array> {
  return localCall<'next_message_box_index', Uint8Array>(NEXT_INDEX, {
    message_box_index: bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex),
  });
}

export function getMessageBoxIndexCounter(messageBoxIndex: Uint8Array): LocalCall<bigint> {
  return localCall<'get_message_box_index_counter', bigint>(INDEX_COUNTER, {
    message_box_index: bytesArg(messageBoxIndex, 'messageBoxIndex', SIZES.messageBoxIndex),
  });
}

function copyPayloadArg(payload: unknown, name: string): Uint8Array {
  const bytes = bytesArg(payload, name);
  if (bytes.length > MAX_COPY_PAYLOAD) {
    throw new PayloadTooLargeError(`${name} of ${bytes.length} bytes exceeds ${MAX_COPY_PAYLOAD} bytes`);
  }
  return bytes;
}

/** The optional encoder state of a multi-call copy stream; an empty one is the same as none. */
function bufferField(buffer: Uint8Array | null | undefined): { buffer?: Uint8Array } {
  const buf = optionalBytesArg(buffer, 'buffer');
  return buf && buf.length > 0 ? { buffer: buf } : {};
}

export function createCourierEnvelopesFromPayload(
  payload: Uint8Array,
  destWriteCap: Uint8Array,
  destStartIndex: Uint8Array,
  isStart: boolean,
  isLast: boolean,
): LocalCall<CourierEnvelopesResult> {
  return localCall<'create_courier_envelopes_from_payload', CourierEnvelopesResult>(FROM_PAYLOAD, {
    payload: copyPayloadArg(payload, 'payload'),
    dest_write_cap: bytesArg(destWriteCap, 'destWriteCap', SIZES.writeCap),
    dest_start_index: bytesArg(destStartIndex, 'destStartIndex', SIZES.messageBoxIndex),
    is_start: boolArg(isStart, 'isStart'),
    is_last: boolArg(isLast, 'isLast'),
  });
}

export function createCourierEnvelopesFromMultiPayload(
  destinations: DestinationPayload[],
  isStart: boolean,
  isLast: boolean,
  buffer: Uint8Array | null | undefined,
): LocalCall<MultiPayloadEnvelopesResult> {
  if (!Array.isArray(destinations) || destinations.length === 0) {
    throw new InvalidArgumentError('destinations', 'expected a non-empty array');
  }
  const wire = destinations.map((d, i) => ({
    payload: copyPayloadArg(d?.payload, `destinations[${i}].payload`),
    write_cap: bytesArg(d.writeCap, `destinations[${i}].writeCap`, SIZES.writeCap),
    start_index: bytesArg(d.startIndex, `destinations[${i}].startIndex`, SIZES.messageBoxIndex),
  }));
  return localCall<'create_courier_envelopes_from_multi_payload', MultiPayloadEnvelopesResult>(
    FROM_MULTI_PAYLOAD,
    {
      destinations: wire,
      is_start: boolArg(isStart, 'isStart'),
      is_last: boolArg(isLast, 'isLast'),
      ...bufferField(buffer),
    },
  );
}

export function createCourierEnvelopesFromTombstoneRange(
  destWriteCap: Uint8Array,
  destStartIndex: Uint8Array,
  maxCount: number,
  isStart: boolean,
  isLast: boolean,
  buffer: Uint8Array | null | undefined,
): LocalCall<TombstoneRangeEnvelopesResult> {
  bytesArg(destWriteCap, 'destWriteCap', SIZES.writeCap);
  bytesArg(destStartIndex, 'destStartIndex', SIZES.messageBoxIndex);
  const request = localRequest(
    'create_courier_envelopes_from_tombstone_range',
    'create_courier_envelopes_from_tombstone_range_reply',
    (r): TombstoneRangeEnvelopesResult => ({
      envelopes: r.envelopes ?? [],
      buffer: r.buffer ?? new Uint8Array(0),
      nextDestIndex: r.next_dest_index ?? destStartIndex.slice(),
    }),
  );
  return localCall<'create_courier_envelopes_from_tombstone_range', TombstoneRangeEnvelopesResult>(request, {
    dest_write_cap: destWriteCap,
    dest_start_index: destStartIndex,
    max_count: countArg(maxCount, 'maxCount', 0xffff_ffff),
    is_start: boolArg(isStart, 'isStart'),
    is_last: boolArg(isLast, 'isLast'),
    ...bufferField(buffer),
  });
}

export function getPkiDocumentRaw(epoch: bigint): LocalCall<{ payload: Uint8Array; epoch: bigint }> {
  if (typeof epoch !== 'bigint' || epoch < 0n || epoch > 0xffff_ffff_ffff_ffffn) {
    throw new InvalidArgumentError('epoch', `expected a uint64 bigint, got ${String(epoch)}`);
  }
  return localCall<'get_pki_document', { payload: Uint8Array; epoch: bigint }>(PKI_DOCUMENT, { epoch });
}

export function getDirectoryAuthorities(): LocalCall<DirectoryAuthority[]> {
  return localCall<'get_directory_authorities', DirectoryAuthority[]>(AUTHORITIES, {});
}

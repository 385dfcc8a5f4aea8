/**
 * Durable Pigeonhole channels on SQLite: a WriteChannel appends messages to a stream it owns, a
 * ReadChannel consumes a stream someone shared with it. Both keep their caps and their next index in a
 * PigeonholeStore file, so a process can stop at any instant and a new one continues where it left off
 * (the guide's "How to persist and restore channel state", done for you). A message may span several
 * boxes; it is framed with the guide's 4-byte length prefix (./framing.ts).
 *
 * ## Why a crash can neither lose a message nor put two different messages in one box
 *
 * The writer keeps a write-ahead log, table `outgoing_messages`:
 *
 * 1. `send(m)` first commits a row {seq, payload m, box size, start index, end index, state 'pending'}.
 *    Its boxes are reserved: start = the end of the last pending message, or the channel's next_index
 *    when none is pending. Only then is any box written. From here on the message is the channel's,
 *    whatever happens to the process.
 * 2. Pending messages are delivered strictly in seq order, box by box. Each box is encrypted afresh with
 *    encryptWrite at its reserved index.
 * 3. Once every box of a message is confirmed, ONE transaction marks the row 'sent' (dropping the
 *    payload) and advances the channel's next_index to the row's end index, guarded by
 *    `next_index = start index`. Only after that commits does send() resolve.
 *
 * A crash anywhere leaves either no row (nothing was written: send() never resolved and the message was
 * never accepted) or a pending row. Opening the channel again (and every send()/flush()) first re-delivers
 * pending rows, with the same payload, the same box size, at the same indices. BACAP encryption is
 * deterministic for a given (cap, index, plaintext) (the GCM-SIV nonce is the box ID and Ed25519
 * signatures are deterministic), so a box that was written before the crash is re-written
 * byte-identically, and a replica answers an identical re-write with Success (katzenpost
 * replica/state.go). So a crash after the write's acknowledgement and before the index update costs
 * one idempotent re-send, and is invisible to the reader.
 *
 * No box can receive two different messages from us: an index is handed to a new message only past the
 * end of every pending one, the pending row is never deleted before it is 'sent', and re-delivery uses
 * the stored bytes and box size (not the current geometry, which may have changed).
 *
 * That covers our own writes. To also *detect* the box already holding something else (another process
 * writing with the same write cap, a tombstone, a corrupted store), writes use the daemon's
 * ReturnBoxExists variant (`noIdempotentBoxAlreadyExists: true`) by default: the write waits for the
 * replica's answer instead of the courier's ACK (one extra round trip), an identical re-write still
 * succeeds, and a different occupant surfaces as BoxAlreadyExistsError instead of the default variant's
 * silent "success" (the default variant succeeds on the courier's ACK, so replica errors are invisible
 * and the message would be lost without anyone knowing). The message then stays pending; nothing is
 * marked sent. Pass
 * `confirmWrites: false` to trade that check for one round trip less per box.
 *
 * A lease (`owner` column: pid, host, random token) keeps two live processes from driving one channel at
 * once; a lease whose process has died on this host is taken over.
 *
 * The reader is the mirror image: it reads box after box from next_index until the framing is complete,
 * then stores the message and advances next_index in one transaction, and only then resolves. A crash
 * before that re-reads the same boxes, which is harmless. Waiting for a box that has not been written
 * yet is the guide's bounded poll: the no-retry read (`noRetryOnBoxIdNotFound: true`), and on
 * BoxIDNotFound (`isExpectedOutcome`) a delay and a fresh read envelope (a fresh envelope, rather than
 * the same one again, so the courier's cached "not found" is not served back to us: katzenpost
 * courier/server/plugin.go, handleOldMessage). A tombstoned
 * box ends the read with TombstoneError; the index does not move past it.
 */
export * from './channelTypes.js';
export { ReadChannel } from './readChannel.js';
export { WriteChannel } from './writeChannel.js';

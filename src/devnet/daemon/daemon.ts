/**
 * The emulated kpclientd: one instance per daemon "process" (a restart makes a new one with a new
 * instance token). It follows spec/daemon-semantics.md §1, §2 and §9:
 *
 * - handshake: connection_status_event, new_pki_document_event, then session_token → session_token_reply;
 * - sessions keyed by the client instance token, kept for a grace period after a dropped socket, destroyed
 *   at once by thin_close; legacy replies queued while disconnected and flushed before a resumed reply;
 * - local requests answered inline in arrival order; mixnet requests queued per app (16; the reader
 *   blocks when full) and sent one per send slot, round-robin over apps, retransmissions first;
 * - the Pigeonhole stop-and-wait ARQ with retransmission after ReplyETA + slop, forever, the courier
 *   reply FSM, BoxIDNotFound retries, idempotent BoxAlreadyExists, tombstone detection, copy polling and
 *   cancellation (24 to the original request, then the cancel reply).
 */
import {
  BacapError,
  boxIdFor,
  decryptFromBox,
  encryptForBox,
  firstIndexOf,
  indexCounter,
  newWriteCapFromSeed,
  nextIndex,
  signTombstone,
  writeCapToReadCap,
} from '../../crypto/bacap.js';
import { blake2b256 } from '../../crypto/hash.js';
import { ReplicaCode, ThinCode } from '../../wire/errorCodes.js';
import { type DecodedRequest, encodeResponse } from '../../wire/messages.js';
import { LOCAL_REQUESTS, type RequestBody, type ResponseBody } from '../../wire/schema.js';
import { type Clock, sleep, type TimerHandle } from '../clock.js';
import type { Sizes } from '../geometry.js';
import { type Directory, findServices, replicaById } from '../network/directory.js';
import { type Network, UnknownDestinationError } from '../network/network.js';
import { CopyStreamEncoder } from '../pigeonhole/copyStream.js';
import {
  CopyStatus,
  type CourierEnvelopeReply,
  EnvelopeError,
  encodeCourierQuery,
  padPayload,
  parseCourierQueryReply,
  parseReplicaReplyInnerMessage,
  ReplyType,
  unpadPayload,
} from '../pigeonhole/messages.js';
import { openEnvelopeReply } from '../pigeonhole/mkem.js';
import type { Drbg } from '../rng.js';
import type { TimingProfile } from '../timing.js';
import { type AuthorityInfo, authorityDescriptors } from './authorities.js';
import type { Connection, ConnectionHandler } from './connection.js';
import { type BuiltEnvelope, buildEnvelope, decodeDescriptor } from './envelopes.js';
import {
  deriveVoucherStream,
  VoucherError,
  voucherInduct,
  voucherMint,
  voucherOpenReply,
} from './vouchers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const EMPTY = new Uint8Array(0);
/** Per-app mixnet request queue (`requestCh`). */
const REQUEST_QUEUE = 16;
/** Per-app retransmission queue (`resendCh`). */
const RESEND_QUEUE = 8;
/** Legacy replies kept for a disconnected session. */
const MAX_QUEUED_REPLIES = 1000;
/** Payloads of create_courier_envelopes_* are capped at 10 MiB (per destination). */
const MAX_COPY_PAYLOAD = 10 * 1024 * 1024;

const ARQ_WAITING = 0;
const ARQ_ACKED = 1;
const ARQ_PAYLOAD = 2;

export interface DaemonOptions {
  network: Network;
  clock: Clock;
  rng: Drbg;
  sizes: Sizes;
  timing: TimingProfile;
  sessionGraceMs: number;
  mixnetConnected: () => boolean;
  authorities: AuthorityInfo[];
  dropRepliesWhileDisconnected: boolean;
  log: (line: string) => void;
}

interface App {
  key: string;
  appId: Uint8Array;
  conn: Connection | null;
  token: string | null;
  graceTimer: TimerHandle | null;
  fifo: MixnetRequest[];
  resend: string[];
  queuedReplies: Uint8Array[];
  spaceWaiters: (() => void)[];
}

type MixnetRequest =
  | { key: 'send_message'; body: RequestBody<'send_message'> }
  | { key: 'start_resending_encrypted_message'; body: RequestBody<'start_resending_encrypted_message'> }
  | { key: 'start_resending_copy_command'; body: RequestBody<'start_resending_copy_command'> };

interface Arq {
  kind: 'envelope' | 'copy';
  app: App;
  queryId: Uint8Array | undefined;
  key: string;
  courierHash: Uint8Array;
  courierQueue: Uint8Array;
  payload: Uint8Array;
  descriptor: Uint8Array;
  isRead: boolean;
  readCap: Uint8Array | undefined;
  index: Uint8Array | undefined;
  noRetry: boolean;
  noIdempotent: boolean;
  state: number;
  surb: string;
  timer: TimerHandle | null;
  sentAt: number;
  rtt: number;
  retransmissions: number;
}

interface LegacyReply {
  app: App;
  messageId: Uint8Array | undefined;
  surbId: Uint8Array;
  timer: TimerHandle | null;
}

class ReplicaError extends Error {
  constructor(readonly code: number) {
    super(`replica error ${code}`);
  }
}

/** Courier EnvelopeError → thin-client namespace (`courierEnvelopeErrorToThinError`). */
function courierErrorToThin(code: number): number {
  switch (code) {
    case EnvelopeError.Success:
      return ThinCode.Success;
    case EnvelopeError.InvalidEnvelope:
      return ThinCode.CourierInvalidEnvelope;
    case EnvelopeError.CacheCorruption:
      return ThinCode.CourierCacheCorruption;
    case EnvelopeError.Propagation:
      return ThinCode.PropagationError;
    case EnvelopeError.InvalidEpoch:
      return ThinCode.CourierInvalidEpoch;
    default:
      return ThinCode.CourierInvalidEnvelope;
  }
}

export class Daemon implements ConnectionHandler {
  readonly instanceToken: Uint8Array;
  private readonly net: Network;
  private readonly clock: Clock;
  private readonly rng: Drbg;
  private readonly sizes: Sizes;
  private readonly timing: TimingProfile;
  private readonly opts: DaemonOptions;
  private readonly apps = new Map<string, App>();
  private readonly tokens = new Map<string, string>();
  private readonly conns = new Set<Connection>();
  private readonly arqBySurb = new Map<string, Arq>();
  private readonly arqByKey = new Map<string, Arq>();
  private readonly legacy = new Map<string, LegacyReply>();
  private readonly timers = new Set<TimerHandle>();
  private egressTimer: TimerHandle | null = null;
  private cursor = 0;
  private stopped = false;
  private readonly unsubscribeEpoch: () => void;

  constructor(options: DaemonOptions) {
    this.opts = options;
    this.net = options.network;
    this.clock = options.clock;
    this.rng = options.rng;
    this.sizes = options.sizes;
    this.timing = options.timing;
    this.instanceToken = this.rng.bytes(16);
    this.unsubscribeEpoch = this.net.onNewEpoch((dir) => this.broadcastDocument(dir));
  }

  log(line: string): void {
    this.opts.log(`daemon: ${line}`);
  }

  /** Number of live sessions (AppIDs), connected or in their grace period. */
  get sessionCount(): number {
    return this.apps.size;
  }

  /** Number of ARQ operations in flight. */
  get arqCount(): number {
    return this.arqByKey.size;
  }

  // ---- connections and sessions ------------------------------------------------------------------------

  /** Takes over an accepted socket: registers a fresh AppID and sends the two handshake frames. */
  accept(conn: Connection): void {
    if (this.stopped) {
      conn.drop();
      return;
    }
    this.conns.add(conn);
    const app = this.newApp();
    app.conn = conn;
    conn.appKey = app.key;
    this.sendStatus(conn);
    conn.send('new_pki_document_event', { payload: this.currentDirectory().stripped });
    conn.initialSequenceDone = true;
  }

  private newApp(): App {
    const appId = this.rng.bytes(16);
    const app: App = {
      key: hex(appId),
      appId,
      conn: null,
      token: null,
      graceTimer: null,
      fifo: [],
      resend: [],
      queuedReplies: [],
      spaceWaiters: [],
    };
    this.apps.set(app.key, app);
    return app;
  }

  private sendStatus(conn: Connection): void {
    conn.send('connection_status_event', {
      is_connected: this.opts.mixnetConnected(),
      err: null,
      instance_token: this.instanceToken,
      sphinx_geometry: { ...this.sizes.sphinx },
      pigeonhole_geometry: { ...this.sizes.pigeonhole },
    });
  }

  closed(conn: Connection): void {
    this.conns.delete(conn);
    const app = this.apps.get(conn.appKey);
    if (!app || app.conn !== conn) return;
    app.conn = null;
    app.fifo = [];
    this.releaseWaiters(app);
    if (this.stopped) return;
    if (conn.explicitClose || app.token === null) {
      this.cleanupApp(app);
      return;
    }
    app.graceTimer = this.timer(this.opts.sessionGraceMs, () => this.cleanupApp(app));
  }

  /** `cleanupForAppID`: every ARQ and legacy reply of the app goes, and its token is forgotten. */
  private cleanupApp(app: App): void {
    this.clearTimer(app.graceTimer);
    app.graceTimer = null;
    for (const arq of [...this.arqByKey.values()]) if (arq.app === app) this.dropArq(arq);
    for (const arq of [...this.arqBySurb.values()]) if (arq.app === app) this.dropArq(arq);
    for (const [surb, l] of this.legacy) {
      if (l.app === app) {
        this.clearTimer(l.timer);
        this.legacy.delete(surb);
      }
    }
    if (app.token !== null && this.tokens.get(app.token) === app.key) this.tokens.delete(app.token);
    app.fifo = [];
    app.resend = [];
    app.queuedReplies = [];
    this.releaseWaiters(app);
    this.apps.delete(app.key);
  }

  private handleSessionToken(conn: Connection, token: Uint8Array | undefined): void {
    const current = this.apps.get(conn.appKey);
    if (!current) return;
    const t = hex(token ?? new Uint8Array(16));
    const knownKey = this.tokens.get(t);
    const known = knownKey === undefined ? undefined : this.apps.get(knownKey);
    if (known && known !== current) {
      // Resume: this connection adopts the old AppID; the fresh one it was given is discarded.
      this.apps.delete(current.key);
      this.clearTimer(known.graceTimer);
      known.graceTimer = null;
      known.conn = conn;
      conn.appKey = known.key;
      const queued = known.queuedReplies;
      known.queuedReplies = [];
      for (const frame of queued) conn.sendRaw(frame);
      conn.send('session_token_reply', { app_id: known.appId, resumed: true });
      this.kickEgress();
      return;
    }
    if (known === current) {
      conn.send('session_token_reply', { app_id: current.appId, resumed: true });
      return;
    }
    current.token = t;
    this.tokens.set(t, current.key);
    conn.send('session_token_reply', { app_id: current.appId, resumed: false });
  }

  // ---- request dispatch --------------------------------------------------------------------------------

  async handle(conn: Connection, request: DecodedRequest): Promise<void> {
    if (this.stopped || conn.explicitClose) return;
    switch (request.key) {
      case 'unknown':
        // kpclientd queues it as a mixnet request and drops it with a log line: no reply, ever.
        this.log(`conn ${conn.id}: request with no recognised key ignored`);
        return;
      case 'thin_close':
        conn.explicitClose = true;
        conn.drop();
        return;
      case 'session_token':
        this.handleSessionToken(conn, request.body.client_instance_token);
        return;
      default:
        break;
    }
    const app = this.apps.get(conn.appKey);
    if (!app) return;
    if (LOCAL_REQUESTS.has(request.key)) {
      await this.handleLocal(conn, request);
      return;
    }
    if (
      request.key === 'send_message' ||
      request.key === 'start_resending_encrypted_message' ||
      request.key === 'start_resending_copy_command'
    ) {
      while (app.fifo.length >= REQUEST_QUEUE && app.conn === conn && !this.stopped) {
        await new Promise<void>((resolve) => app.spaceWaiters.push(resolve));
      }
      if (app.conn !== conn || this.stopped) return;
      app.fifo.push(request as MixnetRequest);
      this.kickEgress();
    }
  }

  private releaseWaiters(app: App): void {
    const waiters = app.spaceWaiters;
    app.spaceWaiters = [];
    for (const w of waiters) w();
  }

  private async handleLocal(conn: Connection, request: DecodedRequest): Promise<void> {
    switch (request.key) {
      case 'new_keypair':
        return this.newKeypair(conn, request.body);
      case 'encrypt_read':
        await this.ctidh(3);
        return this.encryptRead(conn, request.body);
      case 'encrypt_write':
        await this.ctidh(3);
        return this.encryptWrite(conn, request.body);
      case 'cancel_resending_encrypted_message':
        return this.cancelEncrypted(conn, request.body);
      case 'cancel_resending_copy_command':
        return this.cancelCopy(conn, request.body);
      case 'next_message_box_index':
        return this.nextMessageBoxIndex(conn, request.body);
      case 'get_message_box_index_counter':
        return this.getCounter(conn, request.body);
      case 'get_pki_document':
        return this.getPkiDocument(conn, request.body);
      case 'get_directory_authorities':
        return this.getDirectoryAuthorities(conn, request.body);
      case 'create_courier_envelopes_from_payload':
        return await this.envelopesFromPayload(conn, request.body);
      case 'create_courier_envelopes_from_multi_payload':
        return await this.envelopesFromMultiPayload(conn, request.body);
      case 'create_courier_envelopes_from_tombstone_range':
        return await this.envelopesFromTombstoneRange(conn, request.body);
      case 'voucher_mint':
        await this.ctidh(1); // the VoucherKeypair
        return this.voucherMint(conn, request.body);
      case 'voucher_induct':
        await this.ctidh(2); // the seal's ephemeral key pair and its DH
        return this.voucherInduct(conn, request.body);
      case 'voucher_open':
        await this.ctidh(1); // the seal's DH
        return this.voucherOpen(conn, request.body);
      case 'voucher_derive_stream':
        return this.voucherDeriveStream(conn, request.body);
      default:
        return;
    }
  }

  private built = 0;

  /**
   * Building thousands of envelopes (a 10 MiB copy payload) takes a while; let other connections and the
   * network run every few envelopes. The requesting connection still waits, as kpclientd's reader does.
   */
  private async yieldSometimes(): Promise<void> {
    if (++this.built % 16 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private ctidh(ops: number): Promise<void> {
    const ms = this.timing.ctidhMs * ops;
    return ms > 0 ? sleep(this.clock, ms) : Promise.resolve();
  }

  private currentDirectory(): Directory {
    return this.net.directory();
  }

  // ---- local requests ----------------------------------------------------------------------------------

  private newKeypair(conn: Connection, body: RequestBody<'new_keypair'>): void {
    const seed = body.seed;
    const fail = () =>
      conn.send('new_keypair_reply', { query_id: body.query_id, error_code: ThinCode.InvalidRequest });
    // len < 32 is refused outright; any other length but 32 fails the ChaCha20 key setup.
    if (!seed || seed.length < 32 || seed.length !== 32) return void fail();
    let writeCap: Uint8Array;
    try {
      writeCap = newWriteCapFromSeed(seed);
    } catch {
      return void fail();
    }
    conn.send('new_keypair_reply', {
      query_id: body.query_id,
      write_cap: writeCap,
      read_cap: writeCapToReadCap(writeCap),
      first_message_index: firstIndexOf(writeCap),
      error_code: ThinCode.Success,
    });
  }

  private encryptRead(conn: Connection, body: RequestBody<'encrypt_read'>): void {
    const fail = (code: number) =>
      conn.send('encrypt_read_reply', { query_id: body.query_id, error_code: code });
    if (!body.read_cap || !body.message_box_index) return void fail(ThinCode.InvalidRequest);
    let built: BuiltEnvelope;
    let next: Uint8Array;
    try {
      const boxId = boxIdFor(body.read_cap, body.message_box_index);
      built = buildEnvelope(this.currentDirectory(), this.sizes, this.rng, boxId, { kind: 'read', boxId });
      next = nextIndex(body.message_box_index);
    } catch (err) {
      this.log(`encrypt_read: ${(err as Error).message}`);
      return void fail(ThinCode.InternalError);
    }
    conn.send('encrypt_read_reply', {
      query_id: body.query_id,
      message_ciphertext: built.messageCiphertext,
      envelope_descriptor: built.envelopeDescriptor,
      envelope_hash: built.envelopeHash,
      next_message_box_index: next,
      error_code: ThinCode.Success,
    });
  }

  private encryptWrite(conn: Connection, body: RequestBody<'encrypt_write'>): void {
    const fail = (code: number) =>
      conn.send('encrypt_write_reply', { query_id: body.query_id, error_code: code });
    const { plaintext, write_cap: writeCap, message_box_index: index } = body;
    if (!writeCap || !index || plaintext === undefined) return void fail(ThinCode.InvalidRequest);
    if (plaintext.length > this.sizes.maxPlaintext) return void fail(ThinCode.InvalidRequest);
    let built: BuiltEnvelope;
    let next: Uint8Array;
    try {
      built = this.writeEnvelope(writeCap, index, plaintext);
      next = nextIndex(index);
    } catch (err) {
      this.log(`encrypt_write: ${(err as Error).message}`);
      return void fail(ThinCode.InternalError);
    }
    conn.send('encrypt_write_reply', {
      query_id: body.query_id,
      message_ciphertext: built.messageCiphertext,
      envelope_descriptor: built.envelopeDescriptor,
      envelope_hash: built.envelopeHash,
      next_message_box_index: next,
      error_code: ThinCode.Success,
    });
  }

  /** A write envelope for one box: a tombstone for an empty plaintext, else the padded BACAP box. */
  private writeEnvelope(writeCap: Uint8Array, index: Uint8Array, plaintext: Uint8Array): BuiltEnvelope {
    const dir = this.currentDirectory();
    if (plaintext.length === 0) {
      const t = signTombstone(writeCap, index);
      return buildEnvelope(dir, this.sizes, this.rng, t.boxId, {
        kind: 'write',
        boxId: t.boxId,
        signature: t.signature,
        payload: EMPTY,
      });
    }
    const box = encryptForBox(writeCap, index, padPayload(plaintext, this.sizes.paddedPlaintext));
    return buildEnvelope(dir, this.sizes, this.rng, box.boxId, {
      kind: 'write',
      boxId: box.boxId,
      signature: box.signature,
      payload: box.ciphertext,
    });
  }

  // ---- Contact Vouchers (vouchers.ts): local crypto, answered inline ----------------------------------------

  /** Runs a voucher operation; a VoucherError (or anything else, as Go's default) answers with its code. */
  private voucherOp<T>(what: string, op: () => T, fail: (code: number) => void): T | undefined {
    try {
      return op();
    } catch (err) {
      if (!(err instanceof VoucherError)) this.log(`${what}: ${(err as Error).message}`);
      fail(err instanceof VoucherError ? err.code : ThinCode.InvalidRequest);
      return undefined;
    }
  }

  private voucherMint(conn: Connection, body: RequestBody<'voucher_mint'>): void {
    const r = this.voucherOp(
      'voucher_mint',
      () => voucherMint(this.rng, body.message_write_cap, body.display_name ?? ''),
      (code) => conn.send('voucher_mint_reply', { query_id: body.query_id, error_code: code }),
    );
    if (!r) return;
    conn.send('voucher_mint_reply', {
      query_id: body.query_id,
      voucher: r.voucher,
      voucher_payload: r.voucherPayload,
      voucher_write_cap: r.voucherWriteCap,
      voucher_read_cap: r.voucherReadCap,
      voucher_secret_key: r.voucherSecretKey,
      voucher_public_key: r.voucherPublicKey,
      error_code: ThinCode.Success,
    });
  }

  private voucherInduct(conn: Connection, body: RequestBody<'voucher_induct'>): void {
    const r = this.voucherOp(
      'voucher_induct',
      () => voucherInduct(this.rng, body.voucher, body.voucher_payload, body.who_reply),
      (code) => conn.send('voucher_induct_reply', { query_id: body.query_id, error_code: code }),
    );
    if (!r) return;
    conn.send('voucher_induct_reply', {
      query_id: body.query_id,
      display_name: r.displayName,
      mutated_message_read_cap: r.mutatedMessageReadCap,
      sealed_reply: r.sealedReply,
      voucher_write_cap: r.voucherWriteCap,
      voucher_read_cap: r.voucherReadCap,
      salt: r.salt,
      error_code: ThinCode.Success,
    });
  }

  private voucherOpen(conn: Connection, body: RequestBody<'voucher_open'>): void {
    const r = this.voucherOp(
      'voucher_open',
      () => voucherOpenReply(body.voucher_secret_key, body.sealed_reply, body.message_write_cap),
      (code) => conn.send('voucher_open_reply', { query_id: body.query_id, error_code: code }),
    );
    if (!r) return;
    conn.send('voucher_open_reply', {
      query_id: body.query_id,
      who_reply: r.whoReply,
      salt: r.salt,
      mutated_message_write_cap: r.mutatedMessageWriteCap,
      error_code: ThinCode.Success,
    });
  }

  private voucherDeriveStream(conn: Connection, body: RequestBody<'voucher_derive_stream'>): void {
    const r = this.voucherOp(
      'voucher_derive_stream',
      () => deriveVoucherStream(body.voucher),
      (code) => conn.send('voucher_derive_stream_reply', { query_id: body.query_id, error_code: code }),
    );
    if (!r) return;
    conn.send('voucher_derive_stream_reply', {
      query_id: body.query_id,
      voucher_write_cap: r.voucherWriteCap,
      voucher_read_cap: r.voucherReadCap,
      error_code: ThinCode.Success,
    });
  }

  private nextMessageBoxIndex(conn: Connection, body: RequestBody<'next_message_box_index'>): void {
    if (!body.message_box_index) {
      conn.send('next_message_box_index_reply', {
        query_id: body.query_id,
        error_code: ThinCode.InvalidRequest,
      });
      return;
    }
    try {
      conn.send('next_message_box_index_reply', {
        query_id: body.query_id,
        next_message_box_index: nextIndex(body.message_box_index),
        error_code: ThinCode.Success,
      });
    } catch {
      conn.send('next_message_box_index_reply', {
        query_id: body.query_id,
        error_code: ThinCode.InternalError,
      });
    }
  }

  private getCounter(conn: Connection, body: RequestBody<'get_message_box_index_counter'>): void {
    if (!body.message_box_index) {
      conn.send('get_message_box_index_counter_reply', {
        query_id: body.query_id,
        error_code: ThinCode.InvalidRequest,
      });
      return;
    }
    conn.send('get_message_box_index_counter_reply', {
      query_id: body.query_id,
      counter: indexCounter(body.message_box_index),
      error_code: ThinCode.Success,
    });
  }

  /** Epoch 0 = current (else the previous); otherwise an exact hit among now-1, now, now+1 (§2.10). */
  private getPkiDocument(conn: Connection, body: RequestBody<'get_pki_document'>): void {
    const wanted = body.epoch ?? 0n;
    const now = this.net.currentEpoch();
    let dir: Directory | undefined;
    if (wanted === 0n) {
      dir = this.net.publishedDirectory(now) ?? this.net.publishedDirectory(now - 1n);
    } else if (wanted >= now - 1n && wanted <= now + 1n) {
      dir = this.net.publishedDirectory(wanted);
    }
    if (!dir) {
      conn.send('get_pki_document_reply', {
        query_id: body.query_id,
        epoch: wanted,
        error_code: ThinCode.ServiceUnavailable,
      });
      return;
    }
    conn.send('get_pki_document_reply', {
      query_id: body.query_id,
      payload: dir.signed,
      epoch: dir.epoch,
      error_code: ThinCode.Success,
    });
  }

  private getDirectoryAuthorities(conn: Connection, body: RequestBody<'get_directory_authorities'>): void {
    if (this.opts.authorities.length === 0) {
      conn.send('get_directory_authorities_reply', {
        query_id: body.query_id,
        error_code: ThinCode.ServiceUnavailable,
      });
      return;
    }
    conn.send('get_directory_authorities_reply', {
      query_id: body.query_id,
      authorities: authorityDescriptors(this.opts.authorities),
      error_code: ThinCode.Success,
    });
  }

  /** FromPayload: fresh encoder per call; IsLast → Final, else the tail goes out without Final. */
  private async envelopesFromPayload(
    conn: Connection,
    body: RequestBody<'create_courier_envelopes_from_payload'>,
  ): Promise<void> {
    const reply = (b: ResponseBody<'create_courier_envelopes_from_payload_reply'>) =>
      conn.send('create_courier_envelopes_from_payload_reply', { query_id: body.query_id, ...b });
    const payload = body.payload ?? EMPTY;
    if (!body.dest_write_cap || !body.dest_start_index || payload.length > MAX_COPY_PAYLOAD) {
      return void reply({ error_code: ThinCode.InvalidRequest });
    }
    try {
      const encoder = new CopyStreamEncoder(this.sizes.maxPlaintext);
      if (!body.is_start) encoder.suppressStart();
      let index = body.dest_start_index;
      const elements: Uint8Array[] = [];
      for (let off = 0; off < payload.length; off += this.sizes.copyChunk) {
        const chunk = payload.subarray(off, off + this.sizes.copyChunk);
        elements.push(...encoder.addEnvelope(this.writeEnvelope(body.dest_write_cap, index, chunk).bytes));
        index = nextIndex(index);
        await this.yieldSometimes();
      }
      elements.push(...(body.is_last ? encoder.flush() : encoder.flushWithoutFinal()));
      reply({ envelopes: elements, next_dest_index: index, error_code: ThinCode.Success });
    } catch (err) {
      this.log(`create_courier_envelopes_from_payload: ${(err as Error).message}`);
      reply({ error_code: ThinCode.InternalError });
    }
  }

  /** FromPayloads: one shared encoder, `buffer` in and out; the buffer is null when IsLast. */
  private async envelopesFromMultiPayload(
    conn: Connection,
    body: RequestBody<'create_courier_envelopes_from_multi_payload'>,
  ): Promise<void> {
    const reply = (b: ResponseBody<'create_courier_envelopes_from_multi_payload_reply'>) =>
      conn.send('create_courier_envelopes_from_multi_payload_reply', { query_id: body.query_id, ...b });
    const destinations = body.destinations ?? [];
    if (destinations.length === 0) return void reply({ error_code: ThinCode.InvalidRequest });
    try {
      const encoder = new CopyStreamEncoder(this.sizes.maxPlaintext);
      if (body.buffer && body.buffer.length > 0) encoder.setBuffer(body.buffer);
      if (!body.is_start) encoder.suppressStart();
      const elements: Uint8Array[] = [];
      const nextIndices: Uint8Array[] = [];
      for (const dest of destinations) {
        if (!dest?.write_cap || !dest.start_index) return void reply({ error_code: ThinCode.InvalidRequest });
        const payload = dest.payload ?? EMPTY;
        if (payload.length > MAX_COPY_PAYLOAD) return void reply({ error_code: ThinCode.InvalidRequest });
        let index = dest.start_index;
        for (let off = 0; off < payload.length; off += this.sizes.copyChunk) {
          const chunk = payload.subarray(off, off + this.sizes.copyChunk);
          elements.push(...encoder.addEnvelope(this.writeEnvelope(dest.write_cap, index, chunk).bytes));
          index = nextIndex(index);
          await this.yieldSometimes();
        }
        nextIndices.push(index);
      }
      reply({
        ...finishStream(encoder, elements, body.is_last),
        next_dest_indices: nextIndices,
        error_code: ThinCode.Success,
      });
    } catch (err) {
      this.log(`create_courier_envelopes_from_multi_payload: ${(err as Error).message}`);
      reply({ error_code: ThinCode.InternalError });
    }
  }

  /** FromTombstoneRange: MaxCount tombstones at [start, start+MaxCount), buffered like FromPayloads. */
  private async envelopesFromTombstoneRange(
    conn: Connection,
    body: RequestBody<'create_courier_envelopes_from_tombstone_range'>,
  ): Promise<void> {
    const reply = (b: ResponseBody<'create_courier_envelopes_from_tombstone_range_reply'>) =>
      conn.send('create_courier_envelopes_from_tombstone_range_reply', { query_id: body.query_id, ...b });
    if (!body.dest_write_cap || !body.dest_start_index)
      return void reply({ error_code: ThinCode.InvalidRequest });
    const count = body.max_count ?? 0;
    if (count === 0) {
      // [quirk] returns at once: Buffer and IsLast are ignored.
      return void reply({ next_dest_index: body.dest_start_index, error_code: ThinCode.Success });
    }
    try {
      const encoder = new CopyStreamEncoder(this.sizes.maxPlaintext);
      if (body.buffer && body.buffer.length > 0) encoder.setBuffer(body.buffer);
      if (!body.is_start) encoder.suppressStart();
      const elements: Uint8Array[] = [];
      let index = body.dest_start_index;
      for (let i = 0; i < count; i++) {
        elements.push(...encoder.addEnvelope(this.writeEnvelope(body.dest_write_cap, index, EMPTY).bytes));
        index = nextIndex(index);
        await this.yieldSometimes();
      }
      reply({
        ...finishStream(encoder, elements, body.is_last),
        next_dest_index: index,
        error_code: ThinCode.Success,
      });
    } catch (err) {
      this.log(`create_courier_envelopes_from_tombstone_range: ${(err as Error).message}`);
      reply({ error_code: ThinCode.InternalError });
    }
  }

  private cancelEncrypted(conn: Connection, body: RequestBody<'cancel_resending_encrypted_message'>): void {
    if (!body.query_id || !body.envelope_hash) {
      conn.send('cancel_resending_encrypted_message_reply', {
        query_id: body.query_id,
        error_code: ThinCode.InvalidRequest,
      });
      return;
    }
    const arq = this.arqByKey.get(hex(body.envelope_hash));
    if (arq && arq.kind === 'envelope') {
      this.dropArq(arq);
      conn.send('start_resending_encrypted_message_reply', {
        query_id: arq.queryId,
        error_code: ThinCode.StartResendingCancelled,
        courier_identity_hash: arq.courierHash,
        courier_queue_id: arq.courierQueue,
      });
    }
    conn.send('cancel_resending_encrypted_message_reply', {
      query_id: body.query_id,
      error_code: ThinCode.Success,
    });
  }

  private cancelCopy(conn: Connection, body: RequestBody<'cancel_resending_copy_command'>): void {
    if (!body.query_id || !body.write_cap_hash) {
      conn.send('cancel_resending_copy_command_reply', {
        query_id: body.query_id,
        error_code: ThinCode.InvalidRequest,
      });
      return;
    }
    const arq = this.arqByKey.get(hex(body.write_cap_hash));
    if (arq && arq.kind === 'copy') {
      this.dropArq(arq);
      conn.send('start_resending_copy_command_reply', {
        query_id: arq.queryId,
        error_code: ThinCode.StartResendingCancelled,
      });
    }
    conn.send('cancel_resending_copy_command_reply', {
      query_id: body.query_id,
      error_code: ThinCode.Success,
    });
  }

  // ---- egress: send slots, round-robin, retransmissions first ------------------------------------------

  /** Arms the next send slot if anything is waiting and the gateway link is up. */
  kickEgress(): void {
    if (this.stopped || this.egressTimer || !this.opts.mixnetConnected()) return;
    if (![...this.apps.values()].some((a) => a.conn && (a.resend.length > 0 || a.fifo.length > 0))) return;
    this.egressTimer = this.timer(this.rng.exp(this.timing.sendSlotMeanMs), () => {
      this.egressTimer = null;
      if (this.stopped || !this.opts.mixnetConnected()) return;
      this.sendSlot();
      this.kickEgress();
    });
  }

  private sendSlot(): void {
    const apps = [...this.apps.values()].filter((a) => a.conn);
    if (apps.length === 0) return;
    for (let i = 0; i < apps.length; i++) {
      const app = apps[(this.cursor + i) % apps.length]!;
      if (app.resend.length === 0 && app.fifo.length === 0) continue;
      this.cursor = (this.cursor + i + 1) % apps.length;
      const surb = app.resend.shift();
      if (surb !== undefined) {
        this.guard('resend', () => this.arqDoResend(surb));
        return;
      }
      const request = app.fifo.shift()!;
      const waiter = app.spaceWaiters.shift();
      waiter?.();
      this.guard(request.key, () => this.dispatchMixnet(app, request));
      return;
    }
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log(`${what} failed: ${(err as Error).stack}`);
    }
  }

  private dispatchMixnet(app: App, request: MixnetRequest): void {
    switch (request.key) {
      case 'send_message':
        this.sendLegacy(app, request.body);
        return;
      case 'start_resending_encrypted_message':
        this.startEncrypted(app, request.body);
        return;
      case 'start_resending_copy_command':
        this.startCopy(app, request.body);
        return;
    }
  }

  private reply(app: App, send: (conn: Connection) => void): void {
    if (app.conn) send(app.conn);
  }

  // ---- legacy send_message -----------------------------------------------------------------------------

  private sendLegacy(app: App, body: RequestBody<'send_message'>): void {
    const withSurb = body.with_surb === true;
    const surbId = body.surbid;
    let err = '';
    let rttMs = 0;
    const payload = body.payload ?? EMPTY;
    const onReply = withSurb && surbId ? (p: Uint8Array) => this.onSurbReply(hex(surbId), p) : undefined;
    if (payload.length > this.sizes.userForwardPayloadLength) {
      err = 'message too large';
    } else if (!body.destination_id_hash) {
      err = 'destination id hash is nil';
    } else if (withSurb && !surbId) {
      err = 'SURB ID is nil';
    } else {
      const padded = new Uint8Array(this.sizes.userForwardPayloadLength);
      padded.set(payload);
      try {
        rttMs = this.net.send({
          destinationIdHash: body.destination_id_hash,
          recipientQueueId: body.recipient_queue_id ?? EMPTY,
          payload: padded,
          onReply,
        }).rttMs;
      } catch (e) {
        err = e instanceof UnknownDestinationError ? e.message : `send failed: ${(e as Error).message}`;
      }
    }
    if (!withSurb) return;
    this.reply(app, (conn) =>
      conn.send('message_sent_event', {
        message_id: body.id,
        surbid: surbId,
        sent_at: BigInt(Math.floor(Date.now() / 1000)),
        reply_eta: BigInt(Math.round(rttMs * 1e6)),
        err: err || undefined,
      }),
    );
    if (err || !surbId) return;
    const key = hex(surbId);
    const hops = 2 * 3 + 3;
    const entry: LegacyReply = { app, messageId: body.id, surbId, timer: null };
    entry.timer = this.timer(rttMs + hops * this.timing.legacySlopPerHopMs, () => {
      if (this.legacy.get(key) === entry) this.legacy.delete(key);
    });
    this.legacy.set(key, entry);
  }

  private deliverLegacy(entry: LegacyReply, payload: Uint8Array): void {
    const app = entry.app;
    const body: ResponseBody<'message_reply_event'> = {
      message_id: entry.messageId,
      surbid: entry.surbId,
      payload,
      error_code: 0,
    };
    if (app.conn) {
      app.conn.send('message_reply_event', body);
      return;
    }
    if (
      this.apps.get(app.key) === app &&
      app.token !== null &&
      app.queuedReplies.length < MAX_QUEUED_REPLIES
    ) {
      app.queuedReplies.push(encodeResponseFrame(body));
    }
  }

  // ---- the Pigeonhole ARQ ------------------------------------------------------------------------------

  private startEncrypted(app: App, body: RequestBody<'start_resending_encrypted_message'>): void {
    const fail = (code: number) =>
      this.reply(app, (conn) =>
        conn.send('start_resending_encrypted_message_reply', { query_id: body.query_id, error_code: code }),
      );
    const readCap = body.read_cap;
    const writeCap = body.write_cap;
    if (
      !body.query_id ||
      !body.envelope_hash ||
      !body.message_ciphertext ||
      body.message_ciphertext.length === 0 ||
      !body.envelope_descriptor ||
      body.envelope_descriptor.length === 0 ||
      (readCap === undefined) === (writeCap === undefined)
    ) {
      return void fail(ThinCode.InvalidRequest);
    }
    const courier = this.randomCourier();
    if (!courier) return void fail(ThinCode.InternalError);
    const arq: Arq = {
      kind: 'envelope',
      app,
      queryId: body.query_id,
      key: hex(body.envelope_hash),
      courierHash: courier.hash,
      courierQueue: courier.queue,
      payload: body.message_ciphertext,
      descriptor: body.envelope_descriptor,
      isRead: readCap !== undefined,
      readCap,
      index: body.message_box_index,
      noRetry: body.no_retry_on_box_id_not_found === true,
      noIdempotent: body.no_idempotent_box_already_exists === true,
      state: ARQ_WAITING,
      surb: '',
      timer: null,
      sentAt: 0,
      rtt: 0,
      retransmissions: 0,
    };
    if (!this.arqSend(arq)) fail(ThinCode.InternalError);
  }

  private startCopy(app: App, body: RequestBody<'start_resending_copy_command'>): void {
    const fail = (code: number) =>
      this.reply(app, (conn) =>
        conn.send('start_resending_copy_command_reply', { query_id: body.query_id, error_code: code }),
      );
    if (!body.query_id || !body.write_cap) return void fail(ThinCode.InvalidRequest);
    let courier: { hash: Uint8Array; queue: Uint8Array } | undefined;
    if (body.courier_identity_hash && body.courier_queue_id && body.courier_queue_id.length > 0) {
      courier = { hash: body.courier_identity_hash, queue: body.courier_queue_id };
    } else {
      courier = this.randomCourier();
    }
    if (!courier) return void fail(ThinCode.InternalError);
    const arq: Arq = {
      kind: 'copy',
      app,
      queryId: body.query_id,
      key: hex(blake2b256(body.write_cap)),
      courierHash: courier.hash,
      courierQueue: courier.queue,
      payload: encodeCourierQuery({ kind: 'copy', writeCap: body.write_cap }),
      descriptor: EMPTY,
      isRead: false,
      readCap: undefined,
      index: undefined,
      noRetry: false,
      noIdempotent: false,
      state: ARQ_WAITING,
      surb: '',
      timer: null,
      sentAt: 0,
      rtt: 0,
      retransmissions: 0,
    };
    if (!this.arqSend(arq)) fail(ThinCode.InternalError);
  }

  /** `GetRandomCourier`: uniformly among the document's courier services. */
  private randomCourier(): { hash: Uint8Array; queue: Uint8Array } | undefined {
    const services = findServices(this.currentDirectory(), 'courier');
    if (services.length === 0) return undefined;
    const s = this.rng.pick(services);
    return { hash: s.node.identityHash, queue: new TextEncoder().encode(s.endpoint) };
  }

  /** Sends the ARQ's payload under a fresh SURB; false when the packet cannot be composed. */
  private transmit(arq: Arq): boolean {
    if (arq.payload.length > this.sizes.userForwardPayloadLength) return false;
    const surb = hex(this.rng.bytes(16));
    let rtt: number;
    try {
      rtt = this.net.send({
        destinationIdHash: arq.courierHash,
        recipientQueueId: arq.courierQueue,
        payload: arq.payload,
        onReply: (p) => this.onSurbReply(surb, p),
      }).rttMs;
    } catch {
      return false;
    }
    this.rekey(arq, surb);
    arq.sentAt = this.clock.now();
    arq.rtt = rtt;
    this.clearTimer(arq.timer);
    arq.timer = this.timer(rtt + this.timing.arqSlopMs, () => this.onArqTimer(surb));
    return true;
  }

  /** `arqSend`: the first transmission. */
  private arqSend(arq: Arq): boolean {
    if (!this.transmit(arq)) return false;
    arq.retransmissions = 0;
    return true;
  }

  /** Points both maps at `surb`, forgetting the previous SURB ID. */
  private rekey(arq: Arq, surb: string): void {
    if (arq.surb && this.arqBySurb.get(arq.surb) === arq) this.arqBySurb.delete(arq.surb);
    arq.surb = surb;
    this.arqBySurb.set(surb, arq);
    this.arqByKey.set(arq.key, arq);
  }

  private dropArq(arq: Arq): void {
    this.clearTimer(arq.timer);
    arq.timer = null;
    if (this.arqBySurb.get(arq.surb) === arq) this.arqBySurb.delete(arq.surb);
    if (this.arqByKey.get(arq.key) === arq) this.arqByKey.delete(arq.key);
    const i = arq.app.resend.indexOf(arq.surb);
    if (i >= 0) arq.app.resend.splice(i, 1);
  }

  /** The retransmission timer fired (or a poll/follow-up is due): queue a resend for the next slot. */
  private onArqTimer(surb: string): void {
    const arq = this.arqBySurb.get(surb);
    if (!arq) return;
    arq.timer = null;
    this.enqueueResend(arq);
  }

  private enqueueResend(arq: Arq): void {
    const app = arq.app;
    if (!app.conn || app.resend.length >= RESEND_QUEUE) {
      arq.timer = this.timer(this.timing.resendRearmMs, () => this.onArqTimer(arq.surb));
      return;
    }
    if (!app.resend.includes(arq.surb)) app.resend.push(arq.surb);
    this.kickEgress();
  }

  /** A follow-up poll: same payload, fresh SURB, on the next send slot (after the profile's floor). */
  private followUp(arq: Arq, floor = this.timing.followUpFloorMs): void {
    if (floor > 0) {
      arq.timer = this.timer(floor, () => this.onArqTimer(arq.surb));
    } else {
      this.enqueueResend(arq);
    }
  }

  /** `arqDoResend`, on a send slot. */
  private arqDoResend(surb: string): void {
    const arq = this.arqBySurb.get(surb);
    if (!arq) return;
    if (!arq.app.conn) {
      this.dropArq(arq);
      return;
    }
    if (!this.transmit(arq)) {
      // Compose failure: keep the operation and try again shortly.
      arq.timer = this.timer(this.timing.composeRetryMs, () => this.onArqTimer(arq.surb));
      return;
    }
    arq.retransmissions++;
  }

  private onSurbReply(surb: string, payload: Uint8Array): void {
    if (this.stopped) return;
    if (!this.opts.mixnetConnected()) {
      // The gateway link is down: the reply never reaches the daemon.
      this.net.stats.packetsLost++;
      return;
    }
    const legacy = this.legacy.get(surb);
    if (legacy) {
      this.legacy.delete(surb);
      this.clearTimer(legacy.timer);
      this.guard('legacy reply', () => this.deliverLegacy(legacy, payload));
      return;
    }
    const arq = this.arqBySurb.get(surb);
    if (!arq) return;
    this.clearTimer(arq.timer);
    arq.timer = null;
    if (!arq.app.conn) {
      if (this.opts.dropRepliesWhileDisconnected) {
        // [quirk] the reply is lost and the entry stays without a timer (daemon-semantics §9.3).
        return;
      }
      arq.timer = this.timer(this.timing.resendRearmMs, () => this.onArqTimer(arq.surb));
      return;
    }
    this.guard('ARQ reply', () => this.handleArqReply(arq, payload));
  }

  private handleArqReply(arq: Arq, payload: Uint8Array): void {
    let reply: ReturnType<typeof parseCourierQueryReply>;
    try {
      reply = parseCourierQueryReply(payload);
    } catch {
      this.dropArq(arq);
      return;
    }
    if (arq.kind === 'copy') {
      if (reply.kind !== 'copy') return;
      this.handleCopyReply(arq, reply.reply.status, reply.reply.errorCode, reply.reply.failedEnvelopeIndex);
      return;
    }
    if (reply.kind !== 'envelope') {
      this.dropArq(arq);
      return;
    }
    const r = reply.reply;
    const code = courierErrorToThin(r.errorCode);
    if (code !== 0) return void this.finish(arq, code);
    switch (arq.state) {
      case ARQ_WAITING:
        if (r.replyType === ReplyType.Ack) {
          if (!arq.isRead && !arq.noIdempotent) return void this.finish(arq, ThinCode.Success);
          arq.state = ARQ_ACKED;
          return void this.followUp(arq);
        }
        arq.state = ARQ_PAYLOAD;
        return void this.handlePayload(arq, r);
      case ARQ_ACKED:
        if (r.replyType === ReplyType.Payload) {
          arq.state = ARQ_PAYLOAD;
          return void this.handlePayload(arq, r);
        }
        return void this.followUp(arq);
      default:
        return;
    }
  }

  private handlePayload(arq: Arq, reply: CourierEnvelopeReply): void {
    let plaintext: Uint8Array | null;
    try {
      plaintext = this.decryptReply(arq, reply);
    } catch (err) {
      if (err instanceof ReplicaError) {
        if (err.code === ReplicaCode.BoxIdNotFound && arq.isRead && !arq.noRetry) {
          arq.state = ARQ_WAITING;
          return void this.followUp(arq, this.timing.notFoundRetryFloorMs);
        }
        if (err.code === ReplicaCode.BoxAlreadyExists && !arq.isRead && !arq.noIdempotent) {
          return void this.finish(arq, ThinCode.Success);
        }
        return void this.finish(arq, err.code);
      }
      if (err instanceof MkemError) return void this.finish(arq, ThinCode.MkemDecryptionFailed);
      if (err instanceof BacapFailure) return void this.finish(arq, ThinCode.BacapDecryptionFailed);
      return void this.finish(arq, ThinCode.InternalError);
    }
    if (!arq.isRead) return void this.finish(arq, ThinCode.Success);
    if (!plaintext || plaintext.length === 0) return void this.finish(arq, ReplicaCode.Tombstone, EMPTY);
    let message: Uint8Array;
    try {
      message = unpadPayload(plaintext);
    } catch {
      return void this.finish(arq, ThinCode.InternalError);
    }
    this.finish(arq, ThinCode.Success, message);
  }

  /** `decryptPigeonholeReply`: MKEM reply with each replica key in turn, then BACAP for reads. */
  private decryptReply(arq: Arq, reply: CourierEnvelopeReply): Uint8Array | null {
    const desc = decodeDescriptor(arq.descriptor);
    const dir = this.currentDirectory();
    let raw: Uint8Array | null = null;
    for (const n of desc.replicaNums) {
      const pub = replicaById(dir, n)?.envelopeKeys.get(desc.epoch);
      if (!pub) continue;
      raw = openEnvelopeReply(desc.envelopeKey, pub, reply.payload);
      if (raw) break;
    }
    if (!raw) throw new MkemError();
    const inner = parseReplicaReplyInnerMessage(unpadPayload(raw));
    if (inner.kind === 'write') {
      if (inner.errorCode !== 0) throw new ReplicaError(inner.errorCode);
      return null;
    }
    if (inner.errorCode !== 0 && inner.errorCode !== ReplicaCode.Tombstone)
      throw new ReplicaError(inner.errorCode);
    if (arq.isRead && arq.readCap && arq.index) {
      if (arq.index.length !== 104) throw new BacapFailure();
      let plain: Uint8Array;
      try {
        plain = decryptFromBox(arq.readCap, arq.index, {
          ciphertext: inner.payload,
          signature: inner.signature,
          boxId: inner.boxId,
        });
      } catch (err) {
        if (inner.errorCode === ReplicaCode.Tombstone)
          throw new ReplicaError(ThinCode.InvalidTombstoneSignature);
        if (err instanceof BacapError) throw new BacapFailure();
        throw new BacapFailure();
      }
      if (inner.errorCode === ReplicaCode.Tombstone) throw new ReplicaError(ReplicaCode.Tombstone);
      return plain;
    }
    return inner.payload;
  }

  private finish(arq: Arq, code: number, plaintext?: Uint8Array): void {
    this.dropArq(arq);
    this.reply(arq.app, (conn) =>
      conn.send('start_resending_encrypted_message_reply', {
        query_id: arq.queryId,
        plaintext,
        error_code: code,
        courier_identity_hash: arq.courierHash,
        courier_queue_id: arq.courierQueue,
      }),
    );
  }

  private handleCopyReply(arq: Arq, status: number, errorCode: number, failedIndex: bigint): void {
    const done = (body: ResponseBody<'start_resending_copy_command_reply'>) => {
      this.dropArq(arq);
      this.reply(arq.app, (conn) =>
        conn.send('start_resending_copy_command_reply', { query_id: arq.queryId, ...body }),
      );
    };
    switch (status) {
      case CopyStatus.InProgress: {
        // Keep the entry reachable (under a placeholder SURB ID) and poll again later.
        this.rekey(arq, hex(this.rng.bytes(16)));
        const surb = arq.surb;
        arq.timer = this.timer(this.timing.copyPollMs, () => this.onArqTimer(surb));
        return;
      }
      case CopyStatus.Succeeded:
        done({ error_code: ThinCode.Success });
        return;
      case CopyStatus.Failed:
        done({
          error_code: ThinCode.CopyCommandFailed,
          replica_error_code: errorCode,
          failed_envelope_index: failedIndex,
        });
        return;
      default:
        done({ error_code: ThinCode.InternalError });
    }
  }

  // ---- broadcasts and lifecycle ------------------------------------------------------------------------

  /** Gateway link changed: every connection past its handshake gets a connection_status_event. */
  mixnetStatusChanged(): void {
    if (this.stopped) return;
    for (const conn of this.conns) if (conn.initialSequenceDone) this.sendStatus(conn);
    this.kickEgress();
  }

  private broadcastDocument(dir: Directory): void {
    if (this.stopped) return;
    for (const conn of this.conns) {
      if (conn.initialSequenceDone) conn.send('new_pki_document_event', { payload: dir.strippedBroadcast });
    }
  }

  /** Severs every client socket without a shutdown event (sessions enter their grace period). */
  dropConnections(): void {
    for (const conn of [...this.conns]) conn.drop();
  }

  /**
   * Stops this daemon instance: with `graceful`, every client gets a shutdown_event first. All state
   * (sessions, ARQs, legacy replies) is gone; replies still in the network find nothing to match.
   */
  shutdown(graceful: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeEpoch();
    for (const conn of [...this.conns]) {
      if (graceful) {
        conn.send('shutdown_event', {});
        conn.end();
        setTimeout(() => conn.drop(), 50).unref?.();
      } else {
        conn.drop();
      }
    }
    for (const t of this.timers) this.clock.clearTimer(t);
    this.timers.clear();
    this.egressTimer = null;
    for (const app of this.apps.values()) this.releaseWaiters(app);
    this.apps.clear();
    this.tokens.clear();
    this.arqByKey.clear();
    this.arqBySurb.clear();
    this.legacy.clear();
  }

  private timer(ms: number, fn: () => void): TimerHandle {
    const handle: TimerHandle = this.clock.setTimer(ms, () => {
      this.timers.delete(handle);
      if (this.stopped) return;
      this.guard('timer', fn);
    });
    this.timers.add(handle);
    return handle;
  }

  private clearTimer(handle: TimerHandle | null | undefined): void {
    if (!handle) return;
    this.clock.clearTimer(handle);
    this.timers.delete(handle);
  }
}

class MkemError extends Error {}
class BacapFailure extends Error {}

function encodeResponseFrame(body: ResponseBody<'message_reply_event'>): Uint8Array {
  return encodeResponse('message_reply_event', body, 'go');
}

/**
 * The end of a buffered create-courier-envelopes call: the last call flushes the final element and
 * returns no Buffer; any other call returns the encoder's residual state for the next call.
 */
function finishStream(
  encoder: CopyStreamEncoder,
  elements: Uint8Array[],
  isLast: boolean | undefined,
): { envelopes: Uint8Array[]; buffer?: Uint8Array } {
  if (isLast) return { envelopes: [...elements, ...encoder.flush()] };
  return { envelopes: elements, buffer: encoder.getBuffer() };
}

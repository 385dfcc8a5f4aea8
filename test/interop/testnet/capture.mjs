#!/usr/bin/env node
// Golden-frame capture against a REAL kpclientd (the local testnet of run.sh).
//
// Connects to the thin-client socket, performs the handshake and sends one of
// each request (plus a few invalid ones), storing every frame sent and received
// as raw hex plus a decoded summary, one JSON file per scenario, in
// test/fixtures/kpclientd/. Nothing here is synthesised: every "hex" is the
// exact CBOR body (without the 4-byte length prefix) that crossed the socket.
//
//   node capture.mjs --config work/net/client/thinclient.toml [--out DIR] [--only a,b]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  decodePkiPayload,
  decoder,
  field,
  frameKind,
  handshake,
  hex,
  randomId,
  readThinConfig,
  summarize,
  ThinConn,
} from './thinwire.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    config: { type: 'string', default: join(HERE, 'work/net/client/thinclient.toml') },
    out: { type: 'string', default: resolve(HERE, '../../fixtures/kpclientd') },
    only: { type: 'string' },
    'op-timeout': { type: 'string', default: '300' },
  },
});
const OP_TIMEOUT = Number(values['op-timeout']) * 1000;
const only = values.only ? new Set(values.only.split(',')) : null;
const addr = readThinConfig(values.config);
mkdirSync(values.out, { recursive: true });

const DAEMON = {
  program: 'kpclientd',
  katzenpost: 'v0.0.99 (github.com/katzenpost/katzenpost, tag commit 32c27b8de)',
  note: 'built against hpqc v0.0.85 instead of the pseudo-version v0.0.85-0.20260715190213-e598e7ee2843 that v0.0.99 requires (see test/interop/testnet/README.md)',
  network:
    'test/interop/testnet/run.sh: 3 dirauths, 3 mixes, 1 gateway, 1 service node (courier, echo, testdest, http), 2 replicas, KATZENPOST_EPOCH_DURATION=2m',
};

const u8 = (s) => new TextEncoder().encode(s);
const seed = (b) => new Uint8Array(32).fill(b);

// ------------------------------------------------------------------ recording
class Scenario {
  constructor(name, description) {
    this.name = name;
    this.description = description;
    this.frames = [];
    this.notes = {};
  }
  sent(conn, obj, body, t = Date.now() - conn.t0) {
    this.frames.push({
      direction: 'client->daemon',
      kind: Object.keys(obj)[0],
      connection: conn.id,
      t_ms: t,
      hex: hex(body),
      decoded: summarize(decoder.decode(body)),
    });
  }
  received(f, extra = {}) {
    // The daemon always sends the full 25-key Response map with every other key
    // null (wire-protocol.md §3.2); the summary keeps only the non-null entry,
    // the raw hex keeps everything.
    const kind = frameKind(f.msg);
    const keys = f.msg instanceof Map ? [...f.msg.keys()] : [];
    this.frames.push({
      direction: 'daemon->client',
      kind,
      connection: f.conn,
      t_ms: f.t,
      ...extra,
      top_level_keys: keys.length,
      hex: hex(f.body),
      decoded: { [kind]: summarize(f.msg instanceof Map ? f.msg.get(kind) : f.msg) },
    });
  }
  save(dir, index) {
    const file = join(dir, `${String(index).padStart(2, '0')}-${this.name}.json`);
    const data = {
      name: this.name,
      description: this.description,
      daemon: DAEMON,
      captured_at: new Date().toISOString(),
      notes: this.notes,
      frames: this.frames,
    };
    writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
    return file;
  }
}

/** A handshaken connection plus request/reply helpers that record into a Scenario. */
class Session {
  static async open(sc, { handshake: recordHs = false } = {}) {
    const conn = await ThinConn.connect(addr);
    const hs = await handshake(conn);
    const s = new Session(conn, hs, sc);
    if (recordHs) s.recordHandshake(sc);
    return s;
  }
  constructor(conn, hs, sc) {
    this.conn = conn;
    this.hs = hs;
    this.sc = sc;
    this.geometry = field(hs.status.msg, 'connection_status_event', 'pigeonhole_geometry');
  }
  recordHandshake(sc) {
    sc.received(this.hs.status);
    sc.received(this.hs.pki);
    sc.sent(this.conn, this.hs.request, this.hs.requestBody, this.hs.requestT);
    for (const f of this.hs.before) sc.received(f, { note: 'arrived before session_token_reply' });
    sc.received(this.hs.reply);
  }
  /** Send {kind: body} with a fresh query_id (unless body has one); wait for the reply with that query_id. */
  async request(
    sc,
    kind,
    body,
    { timeoutMs = OP_TIMEOUT, replyKind = `${kind}_reply`, expectReply = true } = {},
  ) {
    const queryId = body.query_id === undefined ? randomId() : body.query_id;
    const obj = { [kind]: { query_id: queryId, ...body } };
    const t0 = Date.now();
    const sentBody = this.conn.send(obj);
    sc?.sent(this.conn, obj, sentBody);
    if (!expectReply) return { queryId };
    const f = await this.conn.next(
      (fr) => frameKind(fr.msg) === replyKind && sameBytes(field(fr.msg, replyKind, 'query_id'), queryId),
      timeoutMs,
      `${replyKind}`,
    );
    const elapsed = Date.now() - t0;
    sc?.received(f, { elapsed_ms: elapsed });
    return { frame: f, reply: f.msg.get(replyKind), elapsed, queryId };
  }
  /** Start a request and return a promise for its reply (for cancel scenarios). */
  pending(sc, kind, body, opts) {
    return this.request(sc, kind, body, opts);
  }
  /** Keep any frame nobody waited for (e.g. a new_pki_document_event pushed at an epoch change), then thin_close. */
  close() {
    for (const f of this.conn.takeUnclaimed())
      this.sc?.received(f, { note: 'unsolicited (not a reply to a request of this scenario)' });
    this.conn.close();
  }
}

function sameBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const ok = (r, what) => {
  const code = r.reply.get('error_code');
  if (code !== 0) throw new Error(`${what}: error_code ${code}`);
  return r.reply;
};

// Pigeonhole helpers (each records into sc).
async function keypair(s, sc, b) {
  const r = ok(await s.request(sc, 'new_keypair', { seed: seed(b) }), 'new_keypair');
  return { writeCap: r.get('write_cap'), readCap: r.get('read_cap'), first: r.get('first_message_index') };
}
async function write(s, sc, writeCap, index, plaintext, flags = {}) {
  const enc = ok(
    await s.request(sc, 'encrypt_write', { plaintext, write_cap: writeCap, message_box_index: index }),
    'encrypt_write',
  );
  const res = await s.request(sc, 'start_resending_encrypted_message', {
    read_cap: null,
    write_cap: writeCap,
    message_box_index: null,
    reply_index: null,
    envelope_descriptor: enc.get('envelope_descriptor'),
    message_ciphertext: enc.get('message_ciphertext'),
    envelope_hash: enc.get('envelope_hash'),
    ...flags,
  });
  return { enc, res, next: enc.get('next_message_box_index') };
}
async function read(s, sc, readCap, index, flags = {}, opts = {}) {
  const enc = ok(
    await s.request(sc, 'encrypt_read', { read_cap: readCap, message_box_index: index }),
    'encrypt_read',
  );
  const res = await s.request(
    sc,
    'start_resending_encrypted_message',
    {
      read_cap: readCap,
      write_cap: null,
      message_box_index: index,
      reply_index: null,
      envelope_descriptor: enc.get('envelope_descriptor'),
      message_ciphertext: enc.get('message_ciphertext'),
      envelope_hash: enc.get('envelope_hash'),
      ...flags,
    },
    opts,
  );
  return { enc, res, next: enc.get('next_message_box_index') };
}

// ------------------------------------------------------------------ scenarios
const scenarios = [];
const def = (name, description, fn) => scenarios.push({ name, description, fn });
const timings = {};

def(
  'handshake',
  'Daemon speaks first (connection_status_event, new_pki_document_event); client sends session_token; daemon replies session_token_reply. Also the PKI document decoded.',
  async (sc) => {
    const s = await Session.open(sc, { handshake: true });
    const doc = decodePkiPayload(field(s.hs.pki.msg, 'new_pki_document_event', 'payload'));
    if (doc instanceof Map) {
      const inner = (list) =>
        (list ?? []).map((b) => (b instanceof Uint8Array ? summarize(decoder.decode(b)) : summarize(b)));
      sc.notes.pki_document_decoded = summarize(doc);
      sc.notes.pki_document_keys = [...doc.keys()];
      sc.notes.topology_descriptors = (doc.get('Topology') ?? []).map(inner);
      sc.notes.gateway_descriptors = inner(doc.get('GatewayNodes'));
      sc.notes.service_descriptors = inner(doc.get('ServiceNodes'));
    }
    s.close();
  },
);

def(
  'session_resume',
  'Reconnect with the same client_instance_token after a disconnect without thin_close: session_token_reply.resumed.',
  async (sc) => {
    const token = randomId();
    const c1 = await ThinConn.connect(addr);
    const h1 = await handshake(c1, token);
    new Session(c1, h1).recordHandshake(sc);
    c1.close({ thinClose: false });
    await new Promise((r) => setTimeout(r, 500));
    const c2 = await ThinConn.connect(addr);
    const h2 = await handshake(c2, token);
    new Session(c2, h2).recordHandshake(sc);
    c2.close();
  },
);

def('new_keypair', 'new_keypair with a 32-byte seed (0x01 × 32).', async (sc) => {
  const s = await Session.open(sc);
  await s.request(sc, 'new_keypair', { seed: seed(1) });
  s.close();
});

def(
  'write_then_read',
  'encrypt_write + start_resending_encrypted_message (write) then encrypt_read + start_resending_encrypted_message (read) of the same box; elapsed_ms are round-trip times through the mixnet.',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 2);
    const w = await write(
      s,
      sc,
      kp.writeCap,
      kp.first,
      u8(`hello from capture.mjs ${new Date().toISOString()}`),
    );
    if (w.res.reply.get('error_code') !== 0) throw new Error(`write failed ${w.res.reply.get('error_code')}`);
    const r = await read(s, sc, kp.readCap, kp.first);
    timings.write_round_trip_ms = w.res.elapsed;
    timings.read_round_trip_ms = r.res.elapsed;
    sc.notes.write_round_trip_ms = w.res.elapsed;
    sc.notes.read_round_trip_ms = r.res.elapsed;
    sc.notes.read_plaintext = new TextDecoder().decode(r.res.reply.get('plaintext') ?? new Uint8Array());
    s.close();
  },
);

def(
  'read_unwritten_no_retry',
  'Read of a never-written box with no_retry_on_box_id_not_found=true → error_code 1 (BoxIDNotFound).',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 3);
    const r = await read(s, sc, kp.readCap, kp.first, { no_retry_on_box_id_not_found: true });
    sc.notes.elapsed_ms = r.res.elapsed;
    s.close();
  },
);

def(
  'box_already_exists',
  'Second write to the same box with no_idempotent_box_already_exists=true → error_code 10; the first write used default flags.',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 4);
    await write(s, sc, kp.writeCap, kp.first, u8('first'));
    await write(s, sc, kp.writeCap, kp.first, u8('second'), { no_idempotent_box_already_exists: true });
    s.close();
  },
);

def(
  'tombstone',
  'encrypt_write with an empty plaintext (tombstone) over a written box, then a read → error_code 11.',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 5);
    await write(s, sc, kp.writeCap, kp.first, u8('to be tombstoned'));
    await write(s, sc, kp.writeCap, kp.first, new Uint8Array(0));
    // replication can lag; poll like the reference test (≤ 6 × 10 s)
    for (let i = 0; i < 6; i++) {
      const r = await read(s, sc, kp.readCap, kp.first);
      sc.notes.final_read_error_code = r.res.reply.get('error_code');
      if (r.res.reply.get('error_code') === 11) break;
      await new Promise((res) => setTimeout(res, 10_000));
    }
    s.close();
  },
);

def(
  'index_ops',
  'next_message_box_index and get_message_box_index_counter (counter is a uint64; decode as bigint).',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 6);
    const n = ok(await s.request(sc, 'next_message_box_index', { message_box_index: kp.first }), 'next');
    await s.request(sc, 'get_message_box_index_counter', { message_box_index: kp.first });
    await s.request(sc, 'get_message_box_index_counter', {
      message_box_index: n.get('next_message_box_index'),
    });
    s.close();
  },
);

def(
  'get_pki_document',
  'get_pki_document for epoch 0 (current; signed certificate payload) and for epoch 1 (not cached → error).',
  async (sc) => {
    const s = await Session.open(sc);
    const r = await s.request(sc, 'get_pki_document', { epoch: 0n });
    const payload = r.reply.get('payload');
    if (payload instanceof Uint8Array) sc.notes.certificate_decoded = summarize(decoder.decode(payload));
    await s.request(sc, 'get_pki_document', { epoch: 1n });
    s.close();
  },
);

def('get_directory_authorities', 'get_directory_authorities.', async (sc) => {
  const s = await Session.open(sc);
  await s.request(sc, 'get_directory_authorities', {});
  s.close();
});

def(
  'courier_envelopes',
  'create_courier_envelopes_from_payload (single call and is_last=false), create_courier_envelopes_from_multi_payload (two destinations, first call is_last=false returning a buffer, second call resuming from it), create_courier_envelopes_from_tombstone_range (max_count 2 and 0).',
  async (sc) => {
    const s = await Session.open(sc);
    const a = await keypair(s, sc, 7);
    const b = await keypair(s, sc, 8);
    const max = Number(s.geometry?.get('MaxPlaintextPayloadLength') ?? 0);
    sc.notes.max_plaintext_payload_length = max;
    await s.request(sc, 'create_courier_envelopes_from_payload', {
      payload: u8('x'.repeat(516)),
      dest_write_cap: a.writeCap,
      dest_start_index: a.first,
      is_start: true,
      is_last: true,
    });
    await s.request(sc, 'create_courier_envelopes_from_payload', {
      payload: u8('y'.repeat(128)),
      dest_write_cap: a.writeCap,
      dest_start_index: a.first,
      is_start: true,
      is_last: false,
    });
    const m1 = await s.request(sc, 'create_courier_envelopes_from_multi_payload', {
      destinations: [
        { payload: u8('alpha'.repeat(20)), write_cap: a.writeCap, start_index: a.first },
        { payload: u8('beta'.repeat(20)), write_cap: b.writeCap, start_index: b.first },
      ],
      is_start: true,
      is_last: false,
      buffer: null,
    });
    const idx = m1.reply.get('next_dest_indices') ?? [a.first, b.first];
    await s.request(sc, 'create_courier_envelopes_from_multi_payload', {
      destinations: [
        { payload: u8('gamma'.repeat(10)), write_cap: a.writeCap, start_index: idx[0] },
        { payload: u8('delta'.repeat(10)), write_cap: b.writeCap, start_index: idx[1] },
      ],
      is_start: false,
      is_last: true,
      buffer: m1.reply.get('buffer'),
    });
    await s.request(sc, 'create_courier_envelopes_from_tombstone_range', {
      dest_write_cap: a.writeCap,
      dest_start_index: a.first,
      max_count: 2,
      is_start: true,
      is_last: true,
      buffer: null,
    });
    await s.request(sc, 'create_courier_envelopes_from_tombstone_range', {
      dest_write_cap: a.writeCap,
      dest_start_index: a.first,
      max_count: 0,
      is_start: true,
      is_last: true,
      buffer: null,
    });
    s.close();
  },
);

def(
  'copy_command',
  'Copy command: envelopes from create_courier_envelopes_from_payload written into a temporary stream, start_resending_copy_command(temp write_cap), then the destination box read back.',
  async (sc) => {
    const s = await Session.open(sc);
    const dest = await keypair(s, sc, 9);
    const temp = await keypair(s, sc, 10);
    const payload = u8(`copied payload ${new Date().toISOString()}`);
    const env = ok(
      await s.request(sc, 'create_courier_envelopes_from_payload', {
        payload,
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        is_start: true,
        is_last: true,
      }),
      'from_payload',
    );
    let idx = temp.first;
    for (const e of env.get('envelopes') ?? []) {
      const w = await write(s, sc, temp.writeCap, idx, e);
      if (w.res.reply.get('error_code') !== 0) throw new Error(`temp write ${w.res.reply.get('error_code')}`);
      idx = w.next;
    }
    const c = await s.request(sc, 'start_resending_copy_command', { write_cap: temp.writeCap });
    sc.notes.copy_elapsed_ms = c.elapsed;
    timings.copy_command_ms = c.elapsed;
    const r = await read(s, sc, dest.readCap, dest.first);
    sc.notes.dest_plaintext = new TextDecoder().decode(r.res.reply.get('plaintext') ?? new Uint8Array());
    s.close();
  },
);

def(
  'copy_onto_existing_box',
  'Copy command whose destination box already exists → start_resending_copy_command_reply error_code 26 with replica_error_code and failed_envelope_index.',
  async (sc) => {
    const s = await Session.open(sc);
    const dest = await keypair(s, sc, 11);
    const temp = await keypair(s, sc, 12);
    await write(s, sc, dest.writeCap, dest.first, u8('already here'));
    const env = ok(
      await s.request(sc, 'create_courier_envelopes_from_payload', {
        payload: u8('clobber'),
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        is_start: true,
        is_last: true,
      }),
      'from_payload',
    );
    let idx = temp.first;
    for (const e of env.get('envelopes') ?? []) {
      const w = await write(s, sc, temp.writeCap, idx, e);
      idx = w.next;
    }
    await s.request(sc, 'start_resending_copy_command', { write_cap: temp.writeCap });
    s.close();
  },
);

def(
  'cancel_encrypted_message',
  'A retrying read of a never-written box (default flags) is cancelled: the original start_resending_encrypted_message gets error_code 24, then cancel_resending_encrypted_message_reply 0. Then a cancel for an unknown hash.',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 13);
    const enc = ok(
      await s.request(sc, 'encrypt_read', { read_cap: kp.readCap, message_box_index: kp.first }),
      'encrypt_read',
    );
    const pend = s.pending(sc, 'start_resending_encrypted_message', {
      read_cap: kp.readCap,
      write_cap: null,
      message_box_index: kp.first,
      reply_index: null,
      envelope_descriptor: enc.get('envelope_descriptor'),
      message_ciphertext: enc.get('message_ciphertext'),
      envelope_hash: enc.get('envelope_hash'),
    });
    await new Promise((r) => setTimeout(r, 3000));
    const cancel = s.request(sc, 'cancel_resending_encrypted_message', {
      envelope_hash: enc.get('envelope_hash'),
    });
    await Promise.all([pend, cancel]);
    await s.request(sc, 'cancel_resending_encrypted_message', {
      envelope_hash: new Uint8Array(32).fill(0xee),
    });
    s.close();
  },
);

def(
  'cancel_copy_command',
  'A copy command over an empty temporary stream is started and cancelled (cancel_resending_copy_command with BLAKE2b-256 of the write cap); then a cancel for an unknown hash.',
  async (sc) => {
    const { blake2b } = await import('@noble/hashes/blake2.js');
    const s = await Session.open(sc);
    const temp = await keypair(s, sc, 14);
    const pend = s.pending(sc, 'start_resending_copy_command', { write_cap: temp.writeCap });
    await new Promise((r) => setTimeout(r, 3000));
    const hash = blake2b(temp.writeCap, { dkLen: 32 });
    const cancel = s.request(sc, 'cancel_resending_copy_command', { write_cap_hash: hash });
    await Promise.all([pend, cancel]);
    await s.request(sc, 'cancel_resending_copy_command', { write_cap_hash: new Uint8Array(32).fill(0xdd) });
    s.close();
  },
);

def(
  'echo_send_message',
  'Legacy send_message with a SURB to the echo service (+echo on the service node): message_sent_event then message_reply_event.',
  async (sc) => {
    const s = await Session.open(sc);
    const doc = decodePkiPayload(field(s.hs.pki.msg, 'new_pki_document_event', 'payload'));
    const { blake2b } = await import('@noble/hashes/blake2.js');
    let dest;
    for (const raw of doc?.get('ServiceNodes') ?? []) {
      const d = decoder.decode(raw);
      const echo = d.get('Kaetzchen')?.get('echo');
      if (echo)
        dest = { idHash: blake2b(d.get('IdentityKey'), { dkLen: 32 }), queue: u8(echo.get('endpoint')) };
    }
    if (!dest) throw new Error('no echo service in the PKI document');
    const surbid = randomId();
    const obj = {
      send_message: {
        id: null,
        with_surb: true,
        surbid,
        destination_id_hash: dest.idHash,
        recipient_queue_id: dest.queue,
        payload: u8('hello echo'),
      },
    };
    const t0 = Date.now();
    sc.sent(s.conn, obj, s.conn.send(obj));
    const sent = await s.conn.next(
      (f) => frameKind(f.msg) === 'message_sent_event',
      OP_TIMEOUT,
      'message_sent_event',
    );
    sc.received(sent, { elapsed_ms: Date.now() - t0 });
    const reply = await s.conn.next(
      (f) => frameKind(f.msg) === 'message_reply_event',
      OP_TIMEOUT,
      'message_reply_event',
    );
    sc.received(reply, { elapsed_ms: Date.now() - t0 });
    timings.echo_round_trip_ms = Date.now() - t0;
    s.close();
  },
);

def(
  'epoch_change_push',
  'Stay connected across an epoch boundary: the daemon broadcasts new_pki_document_event (default cbor.Marshal encoding, unlike the canonical handshake copy) and possibly connection_status_event.',
  async (sc) => {
    const s = await Session.open(sc);
    const f = await s.conn.next(
      (fr) => frameKind(fr.msg) === 'new_pki_document_event',
      200_000,
      'pushed new_pki_document_event',
    );
    sc.received(f);
    const doc = decodePkiPayload(field(f.msg, 'new_pki_document_event', 'payload'));
    sc.notes.pushed_epoch = doc instanceof Map ? String(doc.get('Epoch')) : null;
    sc.notes.handshake_epoch = String(
      decodePkiPayload(field(s.hs.pki.msg, 'new_pki_document_event', 'payload'))?.get('Epoch'),
    );
    sc.notes.handshake_payload_hex = hex(field(s.hs.pki.msg, 'new_pki_document_event', 'payload'));
    s.close();
  },
);

def(
  'invalid_requests',
  'Requests that decode but are invalid → error replies (no connection drop).',
  async (sc) => {
    const s = await Session.open(sc);
    const kp = await keypair(s, sc, 15);
    const max = Number(s.geometry?.get('MaxPlaintextPayloadLength') ?? 0);
    const cases = [
      [
        'encrypt_write',
        { plaintext: null, write_cap: kp.writeCap, message_box_index: kp.first },
        'plaintext null',
      ],
      [
        'encrypt_write',
        { plaintext: new Uint8Array(max + 1), write_cap: kp.writeCap, message_box_index: kp.first },
        'plaintext longer than MaxPlaintextPayloadLength',
      ],
      [
        'encrypt_write',
        { plaintext: u8('x'), write_cap: null, message_box_index: kp.first },
        'write_cap null',
      ],
      ['encrypt_read', { read_cap: null, message_box_index: kp.first }, 'read_cap null'],
      ['encrypt_read', { read_cap: kp.readCap, message_box_index: null }, 'message_box_index null'],
      ['new_keypair', { seed: new Uint8Array(16) }, 'seed of 16 bytes'],
      ['new_keypair', { seed: null }, 'seed null'],
      [
        'start_resending_encrypted_message',
        {
          read_cap: null,
          write_cap: null,
          message_box_index: null,
          reply_index: null,
          envelope_descriptor: u8('x'),
          message_ciphertext: u8('x'),
          envelope_hash: new Uint8Array(32),
        },
        'neither read_cap nor write_cap',
      ],
      [
        'start_resending_encrypted_message',
        {
          read_cap: kp.readCap,
          write_cap: kp.writeCap,
          message_box_index: kp.first,
          reply_index: null,
          envelope_descriptor: u8('x'),
          message_ciphertext: u8('x'),
          envelope_hash: new Uint8Array(32),
        },
        'both caps',
      ],
      [
        'start_resending_encrypted_message',
        {
          read_cap: kp.readCap,
          write_cap: null,
          message_box_index: kp.first,
          reply_index: null,
          envelope_descriptor: null,
          message_ciphertext: u8('x'),
          envelope_hash: new Uint8Array(32),
        },
        'envelope_descriptor null',
      ],
      ['start_resending_copy_command', { write_cap: null }, 'write_cap null'],
      ['cancel_resending_encrypted_message', { envelope_hash: null }, 'envelope_hash null'],
      ['cancel_resending_copy_command', { write_cap_hash: null }, 'write_cap_hash null'],
      ['next_message_box_index', { message_box_index: null }, 'message_box_index null'],
      ['get_message_box_index_counter', { message_box_index: null }, 'message_box_index null'],
      [
        'create_courier_envelopes_from_payload',
        { payload: u8('x'), dest_write_cap: null, dest_start_index: kp.first, is_start: true, is_last: true },
        'dest_write_cap null',
      ],
      [
        'create_courier_envelopes_from_multi_payload',
        { destinations: [], is_start: true, is_last: true, buffer: null },
        'empty destinations',
      ],
      [
        'create_courier_envelopes_from_tombstone_range',
        {
          dest_write_cap: null,
          dest_start_index: kp.first,
          max_count: 1,
          is_start: true,
          is_last: true,
          buffer: null,
        },
        'dest_write_cap null',
      ],
    ];
    sc.notes.cases = [];
    for (const [kind, body, why] of cases) {
      const r = await s.request(sc, kind, body, { timeoutMs: 60_000 });
      sc.notes.cases.push({ kind, why, error_code: r.reply.get('error_code') });
    }
    s.close();
  },
);

def(
  'undecodable_request',
  'A request whose read_cap has the wrong length (10 bytes) fails CBOR/BinaryUnmarshal decoding in the daemon: no reply, the daemon closes the connection.',
  async (sc) => {
    const s = await Session.open(sc);
    const obj = {
      encrypt_read: {
        query_id: randomId(),
        read_cap: new Uint8Array(10),
        message_box_index: new Uint8Array(104),
      },
    };
    const t0 = Date.now();
    sc.sent(s.conn, obj, s.conn.send(obj));
    try {
      const f = await s.conn.next(() => true, 15_000, 'any frame');
      sc.received(f);
      sc.notes.outcome = 'daemon replied';
    } catch (e) {
      sc.notes.outcome = e.message;
      sc.notes.elapsed_ms = Date.now() - t0;
    }
    s.conn.sock.destroy();
  },
);

def(
  'unknown_request',
  'A request map with no known key ({"bogus_request": {...}}) gets no reply (the daemon logs and drops it); the connection stays usable.',
  async (sc) => {
    const s = await Session.open(sc);
    const obj = { bogus_request: { query_id: randomId() } };
    sc.sent(s.conn, obj, s.conn.send(obj));
    try {
      const f = await s.conn.next(() => true, 10_000, 'any frame');
      sc.received(f);
      sc.notes.outcome = 'daemon replied';
    } catch (e) {
      sc.notes.outcome = e.message;
    }
    const r = await s.request(sc, 'get_directory_authorities', {});
    sc.notes.still_usable = r.reply.get('error_code') === 0;
    s.close();
  },
);

def(
  'daemon_restart',
  'kpclientd is restarted (run.sh restart-daemon) while a client is connected with a retrying read in flight: the daemon sends shutdown_event and closes; the reconnect with the same client_instance_token gets a new instance_token and resumed=false (a new process has no session). The in-flight read gets no reply from either process (the client must replay it).',
  async (sc) => {
    const { spawn } = await import('node:child_process');
    const token = randomId();
    const c1 = await ThinConn.connect(addr);
    const h1 = await handshake(c1, token);
    const s = new Session(c1, h1, sc);
    s.recordHandshake(sc);
    const kp = await keypair(s, sc, 16);
    const enc = ok(
      await s.request(sc, 'encrypt_read', { read_cap: kp.readCap, message_box_index: kp.first }),
      'encrypt_read',
    );
    s.request(sc, 'start_resending_encrypted_message', {
      read_cap: kp.readCap,
      write_cap: null,
      message_box_index: kp.first,
      reply_index: null,
      envelope_descriptor: enc.get('envelope_descriptor'),
      message_ciphertext: enc.get('message_ciphertext'),
      envelope_hash: enc.get('envelope_hash'),
    }).catch(() => {});
    await new Promise((r) => setTimeout(r, 2000));
    const restart = spawn('bash', [join(HERE, 'run.sh'), 'restart-daemon'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const restarted = new Promise((res, rej) =>
      restart.on('exit', (code) => (code === 0 ? res() : rej(new Error(`restart-daemon exited ${code}`)))),
    );
    // everything until the daemon closes the socket
    for (;;) {
      try {
        const f = await c1.next(() => true, 60_000, 'frames until close');
        sc.received(f);
      } catch (e) {
        sc.notes.first_connection_end = e.message;
        break;
      }
    }
    await restarted;
    const c2 = await ThinConn.connect(addr);
    const h2 = await handshake(c2, token);
    const s2 = new Session(c2, h2, sc);
    s2.recordHandshake(sc);
    sc.notes.instance_token_before = hex(field(h1.status.msg, 'connection_status_event', 'instance_token'));
    sc.notes.instance_token_after = hex(field(h2.status.msg, 'connection_status_event', 'instance_token'));
    sc.notes.resumed_after_restart = field(h2.reply.msg, 'session_token_reply', 'resumed');
    await new Promise((r) => setTimeout(r, 3000));
    s2.close();
  },
);

def(
  'vouchers',
  'Contact voucher requests (local crypto): voucher_mint, voucher_derive_stream, voucher_induct, voucher_open; then voucher_induct with a wrong voucher → error.',
  async (sc) => {
    const s = await Session.open(sc);
    const alice = await keypair(s, sc, 17);
    const mint = ok(
      await s.request(sc, 'voucher_mint', { message_write_cap: alice.writeCap, display_name: 'alice' }),
      'voucher_mint',
    );
    await s.request(sc, 'voucher_derive_stream', { voucher: mint.get('voucher') });
    const induct = await s.request(sc, 'voucher_induct', {
      voucher: mint.get('voucher'),
      voucher_payload: mint.get('voucher_payload'),
      who_reply: u8('bob says hi'),
    });
    if (induct.reply.get('error_code') === 0) {
      await s.request(sc, 'voucher_open', {
        voucher_secret_key: mint.get('voucher_secret_key'),
        sealed_reply: induct.reply.get('sealed_reply'),
        message_write_cap: alice.writeCap,
      });
    }
    await s.request(sc, 'voucher_induct', {
      voucher: new Uint8Array(32).fill(7),
      voucher_payload: mint.get('voucher_payload'),
      who_reply: u8('mallory'),
    });
    s.close();
  },
);

def(
  'send_without_surb',
  'Legacy send_message with with_surb=false to the echo service: the daemon sends nothing back (waited 10 s).',
  async (sc) => {
    const s = await Session.open(sc);
    const doc = decodePkiPayload(field(s.hs.pki.msg, 'new_pki_document_event', 'payload'));
    const { blake2b } = await import('@noble/hashes/blake2.js');
    let dest;
    for (const raw of doc?.get('ServiceNodes') ?? []) {
      const d = decoder.decode(raw);
      const echo = d.get('Kaetzchen')?.get('echo');
      if (echo)
        dest = { idHash: blake2b(d.get('IdentityKey'), { dkLen: 32 }), queue: u8(echo.get('endpoint')) };
    }
    const obj = {
      send_message: {
        id: null,
        with_surb: false,
        surbid: null,
        destination_id_hash: dest.idHash,
        recipient_queue_id: dest.queue,
        payload: u8('no reply wanted'),
      },
    };
    sc.sent(s.conn, obj, s.conn.send(obj));
    try {
      const f = await s.conn.next(() => true, 10_000, 'any frame');
      sc.received(f);
      sc.notes.outcome = 'daemon sent a frame';
    } catch (e) {
      sc.notes.outcome = e.message;
    }
    s.close();
  },
);

def(
  'copy_pinned_courier',
  'Copy command pinned to the courier reported by the temp-stream writes (courier_identity_hash + courier_queue_id from their replies).',
  async (sc) => {
    const s = await Session.open(sc);
    const dest = await keypair(s, sc, 18);
    const temp = await keypair(s, sc, 19);
    const payload = u8(`pinned copy ${new Date().toISOString()}`);
    const env = ok(
      await s.request(sc, 'create_courier_envelopes_from_payload', {
        payload,
        dest_write_cap: dest.writeCap,
        dest_start_index: dest.first,
        is_start: true,
        is_last: true,
      }),
      'from_payload',
    );
    let idx = temp.first;
    let pin;
    for (const e of env.get('envelopes') ?? []) {
      const w = await write(s, sc, temp.writeCap, idx, e);
      pin = {
        courier_identity_hash: w.res.reply.get('courier_identity_hash'),
        courier_queue_id: w.res.reply.get('courier_queue_id'),
      };
      idx = w.next;
    }
    const c = await s.request(sc, 'start_resending_copy_command', { write_cap: temp.writeCap, ...pin });
    sc.notes.copy_elapsed_ms = c.elapsed;
    const r = await read(s, sc, dest.readCap, dest.first);
    sc.notes.dest_plaintext = new TextDecoder().decode(r.res.reply.get('plaintext') ?? new Uint8Array());
    s.close();
  },
);

// ------------------------------------------------------------------ main
let index = 0;
const results = [];
for (const sc of scenarios) {
  index++;
  if (only && !only.has(sc.name)) continue;
  const rec = new Scenario(sc.name, sc.description);
  const t0 = Date.now();
  process.stderr.write(`[capture] ${sc.name} … `);
  try {
    await sc.fn(rec);
    rec.notes.scenario_ms = Date.now() - t0;
    const file = rec.save(values.out, index);
    process.stderr.write(`ok (${Date.now() - t0} ms, ${rec.frames.length} frames) → ${file}\n`);
    results.push({ name: sc.name, ok: true, ms: Date.now() - t0, frames: rec.frames.length });
  } catch (e) {
    rec.notes.error = String(e?.stack ?? e);
    rec.notes.incomplete = true;
    const file = rec.save(values.out, index);
    process.stderr.write(`FAILED: ${e.message} (partial frames kept in ${file})\n`);
    results.push({ name: sc.name, ok: false, error: e.message, frames: rec.frames.length });
  }
}
console.log(JSON.stringify({ results, timings }, null, 2));
process.exit(results.every((r) => r.ok) ? 0 : 1);

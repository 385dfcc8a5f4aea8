// Minimal, dependency-light thin-client wire helper for the testnet tools
// (probe.mjs, capture.mjs). Deliberately independent of src/: these tools are
// the oracle the library is checked against, so they must not share its bugs.
//
// Framing: 4-byte big-endian length + one CBOR item (shared/spec/wire-protocol.md §1.2).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Decoder, Encoder } from 'cbor-x';
import { parse as parseToml } from 'smol-toml';

export const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});
// Maps as Map: the PKI document has integer- and byte-string-keyed maps.
export const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export function readThinConfig(path) {
  const cfg = parseToml(readFileSync(path, 'utf8'));
  const tcp = cfg?.Dial?.Tcp;
  if (!tcp?.Address) throw new Error(`${path}: only [Dial.Tcp] is supported by this tool`);
  const m = /^(.*):(\d+)$/.exec(tcp.Address);
  if (!m) throw new Error(`bad address ${tcp.Address}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export const hex = (u8) => Buffer.from(u8).toString('hex');
export const randomId = () => new Uint8Array(randomBytes(16));

/** Encode a frame: 4-byte BE length + CBOR body. Returns {frame, body}. */
export function encodeFrame(obj) {
  const body = encoder.encode(obj);
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  Buffer.from(body.buffer, body.byteOffset, body.length).copy(frame, 4);
  return { frame, body: new Uint8Array(body) };
}

/**
 * A connection that yields raw frames. Every received frame is kept as
 * { t: ms since connect, body: Uint8Array, msg: decoded }.
 */
let connCounter = 0;

export class ThinConn {
  constructor(sock) {
    this.id = ++connCounter;
    this.sock = sock;
    this.t0 = Date.now();
    this.buf = Buffer.alloc(0);
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    sock.setNoDelay(true);
    sock.on('data', (d) => this.#onData(d));
    sock.on('close', () => this.#fail(new Error('connection closed by daemon')));
    sock.on('error', (e) => this.#fail(e));
  }

  static connect({ host, port }, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new ThinConn(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  #onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      const body = new Uint8Array(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
      const frame = { t: Date.now() - this.t0, conn: this.id, body, msg: decoder.decode(body) };
      this.queue.push(frame);
      this.#drain();
    }
  }

  #fail(e) {
    if (!this.closed) this.closed = e;
    this.#drain();
  }

  #drain() {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i];
      const idx = this.queue.findIndex(w.match);
      if (idx >= 0) {
        const [f] = this.queue.splice(idx, 1);
        this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(f);
      } else if (this.closed) {
        this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.reject(this.closed);
      } else i++;
    }
  }

  /** Wait for (and remove) the first frame that satisfies match(frame). */
  next(match = () => true, timeoutMs = 30_000, what = 'frame') {
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
      this.#drain();
    });
  }

  /** Frames not consumed by next(), removed from the queue. */
  takeUnclaimed() {
    return this.queue.splice(0);
  }

  send(obj) {
    const { frame, body } = encodeFrame(obj);
    this.sock.write(frame);
    return body;
  }

  close({ thinClose = true } = {}) {
    if (thinClose && !this.closed) this.send({ thin_close: {} });
    this.sock.end();
  }
}

/** The one non-null top-level key of a daemon frame. */
export function frameKind(msg) {
  if (!(msg instanceof Map)) return '(not a map)';
  for (const [k, v] of msg) if (v !== null && v !== undefined) return k;
  return '(all null)';
}

export const field = (msg, kind, name) => {
  const inner = msg instanceof Map ? msg.get(kind) : undefined;
  return inner instanceof Map ? inner.get(name) : undefined;
};

/** JSON-friendly view of a decoded CBOR value (bytes → {hex,len} or nested decode). */
export function summarize(v, depth = 0) {
  if (v instanceof Uint8Array) {
    return v.length <= 64 ? `h'${hex(v)}'` : `h'${hex(v.subarray(0, 24))}…' (${v.length} bytes)`;
  }
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Map) {
    const o = {};
    for (const [k, val] of v) {
      const key =
        k instanceof Uint8Array
          ? `h'${hex(k)}'`
          : typeof k === 'string'
            ? k
            : `${typeof k === 'bigint' ? `${k}n` : k}`;
      o[key] = summarize(val, depth + 1);
    }
    return o;
  }
  if (Array.isArray(v)) return v.map((x) => summarize(x, depth + 1));
  if (v === undefined) return '(undefined)';
  return v;
}

/**
 * Handshake: read connection_status_event and new_pki_document_event (daemon
 * speaks first), send session_token, wait for session_token_reply.
 * Returns every frame seen, in order.
 */
export async function handshake(conn, clientInstanceToken = randomId(), timeoutMs = 60_000) {
  const status = await conn.next(() => true, timeoutMs, 'connection_status_event');
  if (frameKind(status.msg) !== 'connection_status_event') {
    throw new Error(`protocol: first frame is ${frameKind(status.msg)}`);
  }
  const pki = await conn.next(() => true, timeoutMs, 'new_pki_document_event');
  if (frameKind(pki.msg) !== 'new_pki_document_event') {
    throw new Error(`protocol: second frame is ${frameKind(pki.msg)}`);
  }
  const request = { session_token: { client_instance_token: clientInstanceToken } };
  const requestT = Date.now() - conn.t0;
  const requestBody = conn.send(request);
  // Anything may arrive before the reply (spec §2.2 "ordering hazards"): keep it.
  const before = [];
  const reply = await conn.next(
    (f) => {
      if (frameKind(f.msg) === 'session_token_reply') return true;
      return false;
    },
    timeoutMs,
    'session_token_reply',
  );
  before.push(...conn.takeUnclaimed());
  return { status, pki, request, requestBody, requestT, reply, before };
}

/** Decode the PKI document carried in a new_pki_document_event payload. */
export function decodePkiPayload(payload) {
  if (!(payload instanceof Uint8Array) || payload.length === 0) return null;
  return decoder.decode(payload);
}

/**
 * Channel state that needs no network: the share format, the store file (schema, migrations, foreign
 * files), leases, and the write-ahead log when the daemon cannot deliver. Sending and receiving over a
 * real socket are in test/integration/pigeonhole/channels*.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  firstIndexOf,
  indexCounter,
  newWriteCapFromSeed,
  nextIndex,
  writeCapToReadCap,
} from '../../../src/crypto/bacap.js';
import { InvalidArgumentError, NotConnectedError } from '../../../src/errors.js';
import {
  ChannelBusyError,
  type ChannelClient,
  ChannelExistsError,
  ChannelNotFoundError,
  decodeChannelShare,
  encodeChannelShare,
  ReadChannel,
  WriteChannel,
} from '../../../src/pigeonhole/channels.js';
import {
  APPLICATION_ID,
  PigeonholeStore,
  SCHEMA_VERSION,
  StoreError,
} from '../../../src/pigeonhole/store.js';

/** What an offline encryptWrite/encryptRead returns: zero bytes, and the real next index. */
function placeholderEnvelope(index: Uint8Array) {
  const z = new Uint8Array(32);
  return {
    messageCiphertext: z,
    envelopeDescriptor: z,
    envelopeHash: z,
    nextMessageBoxIndex: nextIndex(index),
  };
}

/**
 * A daemon that is up but has no mixnet: newKeypair and encryptWrite are local (real BACAP caps and
 * indices), every network operation fails the way the real one does offline.
 */
function offlineClient(maxPlaintextPayloadLength = 100): ChannelClient & { writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  return {
    writes,
    pigeonholeGeometry: { maxPlaintextPayloadLength },
    async newKeypair(seed) {
      const writeCap = newWriteCapFromSeed(seed);
      return { writeCap, readCap: writeCapToReadCap(writeCap), firstMessageIndex: firstIndexOf(writeCap) };
    },
    async encryptWrite(plaintext, _writeCap, index) {
      writes.push(plaintext);
      return placeholderEnvelope(index);
    },
    async encryptRead(_readCap, index) {
      return placeholderEnvelope(index);
    },
    async startResendingEncryptedMessage() {
      throw new NotConnectedError('not connected to the mixnet');
    },
  };
}

/** An in-memory store, an offline client and a new write channel "alice"; `done()` closes both. */
async function aliceChannel(maxPlaintextPayloadLength?: number) {
  const store = PigeonholeStore.open(':memory:');
  const client = offlineClient(maxPlaintextPayloadLength);
  const w = await WriteChannel.create(store, client, 'alice');
  const done = async () => {
    await w.close();
    store.close();
  };
  return { store, client, w, done };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-channels-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('channel shares', () => {
  const writeCap = newWriteCapFromSeed(new Uint8Array(32).fill(7));
  const share = { readCap: writeCapToReadCap(writeCap), firstIndex: nextIndex(firstIndexOf(writeCap)) };

  it('round-trip through a base64url string', () => {
    const text = encodeChannelShare(share);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeChannelShare(text)).toEqual(share);
    expect(decodeChannelShare(`  ${text}\n`)).toEqual(share);
  });

  it('reject text that is not base64url, the wrong size or an unknown version, with exact messages', () => {
    const text = encodeChannelShare(share);
    expect(() => decodeChannelShare('abc$')).toThrow(
      new InvalidArgumentError('share', 'is not base64url text'),
    );
    expect(() => decodeChannelShare(text.slice(0, 40))).toThrow(
      new InvalidArgumentError('share', 'expected 241 bytes once decoded, got 30'),
    );
    const bytes = Buffer.from(text, 'base64url');
    bytes[0] = 2;
    expect(() => decodeChannelShare(bytes.toString('base64url'))).toThrow(
      new InvalidArgumentError('share', 'unknown version 2; expected 1'),
    );
  });

  it('refuse to encode a read cap or index of the wrong length', () => {
    expect(() => encodeChannelShare({ ...share, readCap: new Uint8Array(135) })).toThrow(
      new InvalidArgumentError('readCap', 'expected 136 bytes, got 135'),
    );
    expect(() => encodeChannelShare({ ...share, firstIndex: new Uint8Array(105) })).toThrow(
      new InvalidArgumentError('firstIndex', 'expected 104 bytes, got 105'),
    );
  });
});

describe('the store file', () => {
  it('is created at the current schema version with our application id', () => {
    const store = PigeonholeStore.open(join(dir, 'a.db'));
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    // It holds write caps: owner-only.
    expect(statSync(join(dir, 'a.db')).mode & 0o777).toBe(0o600);
    store.close();
  });

  it('reopens without re-running migrations', () => {
    PigeonholeStore.open(join(dir, 'a.db')).close();
    const store = PigeonholeStore.open(join(dir, 'a.db'));
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    store.close();
  });

  it('refuses a file written by a newer version of the library', () => {
    const path = join(dir, 'new.db');
    PigeonholeStore.open(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => PigeonholeStore.open(path)).toThrow(
      new StoreError(
        `${path} has schema version ${SCHEMA_VERSION + 1}; this version of the library knows up to ${SCHEMA_VERSION}`,
      ),
    );
  });

  it('refuses an SQLite file another application has stamped', () => {
    const path = join(dir, 'other.db');
    const raw = new Database(path);
    raw.pragma('application_id = 42');
    raw.close();
    expect(() => PigeonholeStore.open(path)).toThrow(
      new StoreError(`${path} is an SQLite file of another application (application_id 0x2a)`),
    );
    const path2 = join(dir, 'other2.db');
    const raw2 = new Database(path2);
    raw2.pragma('user_version = 3');
    raw2.close();
    expect(() => PigeonholeStore.open(path2)).toThrow(
      new StoreError(
        `${path2} is an SQLite file of another application (user_version 3, no pigeonhole application_id)`,
      ),
    );
  });

  it('adds its tables to an unstamped application database and leaves the existing ones alone', () => {
    const path = join(dir, 'app.db');
    const raw = new Database(path);
    raw.exec(
      "CREATE TABLE app_settings (k TEXT PRIMARY KEY, v TEXT); INSERT INTO app_settings VALUES ('a', 'b')",
    );
    raw.close();
    const store = PigeonholeStore.open(path);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.db.prepare('SELECT v FROM app_settings').get()).toEqual({ v: 'b' });
    store.close();
  });

  it('rejects a wrong-length cap at the SQL level too', () => {
    const store = PigeonholeStore.open(':memory:');
    expect(() =>
      store.db
        .prepare(
          `INSERT INTO read_channels (name, read_cap, first_index, next_index, created_at, updated_at)
           VALUES ('x', ?, ?, ?, 0, 0)`,
        )
        .run(new Uint8Array(10), new Uint8Array(104), new Uint8Array(104)),
    ).toThrow(/CHECK constraint/);
    store.close();
  });
});

describe('write channels without a network', () => {
  it('are created from newKeypair, listed, and reopened with the same caps and index', async () => {
    const path = join(dir, 'w.db');
    let store = PigeonholeStore.open(path);
    const client = offlineClient();
    const w = await WriteChannel.create(store, client, 'alice', { seed: new Uint8Array(32).fill(1) });
    const writeCap = newWriteCapFromSeed(new Uint8Array(32).fill(1));
    expect(w.writeCap).toEqual(writeCap);
    expect(w.readCap).toEqual(writeCapToReadCap(writeCap));
    expect(w.firstIndex).toEqual(firstIndexOf(writeCap));
    expect(w.nextIndex).toEqual(w.firstIndex);
    expect(w.share()).toEqual({ readCap: w.readCap, firstIndex: w.firstIndex });
    await w.close();
    store.close();

    store = PigeonholeStore.open(path);
    expect(WriteChannel.list(store)).toEqual(['alice']);
    const again = WriteChannel.open(store, client, 'alice');
    expect(again.writeCap).toEqual(writeCap);
    expect(again.nextIndex).toEqual(firstIndexOf(writeCap));
    expect(again.nextIndex).not.toBeInstanceOf(Buffer);
    await again.close();
    store.close();
  });

  it('refuse a second channel of the same name and an unknown name', async () => {
    const { store, client, done } = await aliceChannel();
    await expect(WriteChannel.create(store, client, 'alice')).rejects.toThrow(ChannelExistsError);
    expect(() => WriteChannel.open(store, client, 'bob')).toThrow(new ChannelNotFoundError('write', 'bob'));
    await done();
  });

  it('cannot be opened twice while the first holder is alive, and can after it closes', async () => {
    const { store, client, w, done } = await aliceChannel();
    expect(() => WriteChannel.open(store, client, 'alice')).toThrow(ChannelBusyError);
    await w.close();
    const again = WriteChannel.open(store, client, 'alice');
    await again.close();
    await done();
  });

  it('take over the lease of a process that died without closing', async () => {
    const path = join(dir, 'lease.db');
    const store = PigeonholeStore.open(path);
    const client = offlineClient();
    const w = await WriteChannel.create(store, client, 'alice');
    await w.close();
    // A process that has exited for sure: its pid holds the lease.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    store.db
      .prepare('UPDATE write_channels SET owner = ?')
      .run(`${deadPid}@${(await import('node:os')).hostname()}#00`);
    const again = WriteChannel.open(store, client, 'alice');
    await again.close();
    // A live one (this process, another token) blocks, unless taken over explicitly.
    store.db.prepare('UPDATE write_channels SET owner = ?').run(`${process.pid}@elsewhere#00`);
    expect(() => WriteChannel.open(store, client, 'alice')).toThrow(ChannelBusyError);
    const forced = WriteChannel.open(store, client, 'alice', { takeOverLease: true });
    await forced.close();
    store.close();
  });

  it('keep a message that cannot be delivered in the write-ahead log, with its boxes reserved', async () => {
    const { client, w, done } = await aliceChannel(10);
    const first = w.firstIndex;
    await expect(w.send(new TextEncoder().encode('hello, world'))).rejects.toThrow(NotConnectedError);
    await expect(w.send(new TextEncoder().encode('two'))).rejects.toThrow(NotConnectedError);
    const pending = w.pending();
    expect(pending.map((p) => [p.seq, p.length, p.boxCount, p.boxesConfirmed])).toEqual([
      [0, 12, 2, 0],
      [1, 3, 1, 0],
    ]);
    // Message 0 reserved boxes 0 and 1; message 1 starts right after, at box 2.
    const c0 = indexCounter(first);
    expect(indexCounter(pending[0]!.startIndex)).toBe(c0);
    expect(indexCounter(pending[0]!.endIndex)).toBe(c0 + 2n);
    expect(pending[1]!.startIndex).toEqual(pending[0]!.endIndex);
    expect(indexCounter(pending[1]!.endIndex)).toBe(c0 + 3n);
    // Nothing was confirmed, so the channel index has not moved.
    expect(w.nextIndex).toEqual(first);
    // Delivery is attempted oldest first: the second send tried message 0 again before its own.
    expect(client.writes.map((b) => b.length)).toEqual([10, 10]);
    await done();
  });

  it('check their arguments with exact messages', async () => {
    const store = PigeonholeStore.open(':memory:');
    const client = offlineClient();
    await expect(WriteChannel.create(store, client, '')).rejects.toThrow(
      new InvalidArgumentError('name', 'must be a non-empty string'),
    );
    await expect(WriteChannel.create(store, client, 'a', { seed: new Uint8Array(31) })).rejects.toThrow(
      new InvalidArgumentError('seed', 'expected 32 bytes, got 31'),
    );
    const w = await WriteChannel.create(store, client, 'a');
    await expect(w.send('text' as unknown as Uint8Array)).rejects.toThrow(
      new InvalidArgumentError('message', 'must be a Uint8Array'),
    );
    await w.close();
    await expect(w.send(new Uint8Array(1))).rejects.toThrow(new StoreError('channel "a" is closed'));
    store.close();
  });

  it('need the geometry before accepting a message', async () => {
    const store = PigeonholeStore.open(':memory:');
    const client = { ...offlineClient(), pigeonholeGeometry: null };
    const w = await WriteChannel.create(store, client, 'a');
    await expect(w.send(new Uint8Array(1))).rejects.toThrow(NotConnectedError);
    expect(w.pending()).toEqual([]);
    await w.close();
    store.close();
  });
});

describe('read channels without a network', () => {
  it('are created from a share and start at its index', async () => {
    const { store, client, w, done } = await aliceChannel();
    const r = ReadChannel.create(
      store,
      client,
      'from-alice',
      decodeChannelShare(encodeChannelShare(w.share())),
    );
    expect(r.readCap).toEqual(w.readCap);
    expect(r.nextIndex).toEqual(w.firstIndex);
    expect(ReadChannel.list(store)).toEqual(['from-alice']);
    expect(() => ReadChannel.create(store, client, 'from-alice', w.share())).toThrow(ChannelExistsError);
    expect(() => ReadChannel.open(store, client, 'from-alice')).toThrow(ChannelBusyError);
    await r.close();
    await done();
  });

  it('give up at once with timeoutMs 0 and leave the index where it was', async () => {
    const { store, client, w, done } = await aliceChannel();
    const r = ReadChannel.create(store, client, 'from-alice', w.share());
    await expect(r.receive({ timeoutMs: 0 })).rejects.toThrow(NotConnectedError);
    expect(r.nextIndex).toEqual(w.firstIndex);
    await expect(r.receive({ timeoutMs: -1 })).rejects.toThrow(
      new InvalidArgumentError('timeoutMs', 'must be a non-negative number of milliseconds, got -1'),
    );
    await r.close();
    await done();
  });
});

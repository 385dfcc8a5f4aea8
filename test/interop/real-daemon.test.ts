/**
 * Interop: our ThinClient against the REAL kpclientd (katzenpost v0.0.99) of the docker-free
 * testnet in test/interop/testnet/ (run.sh). Skipped unless a ready testnet is reachable:
 *
 *   test/interop/testnet/run.sh exec -- npx vitest run --config vitest.interop.config.ts test/interop/real-daemon.test.ts
 *   # or, with a network already up (run.sh up):
 *   KP_THINCLIENT_TOML=test/interop/testnet/work/net/client/thinclient.toml npx vitest run --config vitest.interop.config.ts test/interop/real-daemon.test.ts
 *
 * Every Pigeonhole round trip here goes through real mixes, a real courier and real replicas, and
 * each encrypt_* costs the daemon CTIDH1024 operations (≈ 1 s each on 2 cores), so the timeouts
 * are in minutes, not seconds.
 */
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxIdNotFoundError, loadConfig, ThinClient, verifyPkiDocument } from '../../src/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_TOML = join(HERE, 'testnet/work/net/client/thinclient.toml');
const tomlPath =
  process.env.KP_THINCLIENT_TOML ??
  (existsSync(join(HERE, 'testnet/work/run/ready_at')) ? DEFAULT_TOML : undefined);

async function reachable(path: string | undefined): Promise<boolean> {
  if (!path || !existsSync(path)) return false;
  const m = /Address\s*=\s*"([^"]+):(\d+)"/.exec(readFileSync(path, 'utf8'));
  if (!m) return false;
  const [, host, port] = m;
  return new Promise((resolve) => {
    const s = net.connect({ host: host === 'localhost' ? '127.0.0.1' : host, port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const available = await reachable(tomlPath);
const MIN = 60_000;
const enc = new TextEncoder();
const dec = new TextDecoder();
const seed = (b: number) => new Uint8Array(32).fill(b).map((x, i) => (x + i + Date.now()) & 0xff);

/** The geometry the real daemon sent in the captured handshake (test/fixtures/kpclientd/01-handshake.json). */
function capturedGeometry(): Record<string, unknown> | undefined {
  const file = join(HERE, '../fixtures/kpclientd/01-handshake.json');
  if (!existsSync(file)) return undefined;
  const fx = JSON.parse(readFileSync(file, 'utf8'));
  return fx.frames[0]?.decoded?.connection_status_event?.pigeonhole_geometry;
}

function pemToRaw(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

describe.skipIf(!available)('ThinClient ⇄ real kpclientd (local testnet)', () => {
  let alice: ThinClient;
  let bob: ThinClient;

  beforeAll(async () => {
    const config = await loadConfig(tomlPath as string);
    alice = await ThinClient.connect(config);
    bob = await ThinClient.connect(config);
  }, 2 * MIN);

  afterAll(async () => {
    await alice?.close();
    await bob?.close();
  });

  it('handshakes and reports the geometry the daemon was captured with', () => {
    expect(alice.isConnected()).toBe(true);
    const g = alice.pigeonholeGeometry;
    expect(g.maxPlaintextPayloadLength).toBeGreaterThan(0);
    const captured = capturedGeometry();
    if (captured) expect(g.maxPlaintextPayloadLength).toBe(captured.MaxPlaintextPayloadLength);
  });

  it('verifies the signed PKI document against the directory authorities it lists', async () => {
    const auths = await alice.getDirectoryAuthorities();
    expect(auths.length).toBe(3);
    for (const a of auths) expect(a.identityKeyHash.length).toBe(32);
    const { payload, epoch } = await alice.getPkiDocumentRaw(0n);
    expect(epoch).toBeGreaterThan(0n);
    const keys = auths.map((a) => ({
      scheme: a.pkiSignatureScheme,
      publicKey: pemToRaw(a.identityPublicKeyPem),
    }));
    expect(verifyPkiDocument(payload, keys).length).toBeGreaterThan(0);
  });

  it(
    'Alice writes a box, Bob reads it back through the mixnet',
    async () => {
      const kp = await alice.newKeypair(seed(1));
      const text = `real daemon ${new Date().toISOString()}`;
      const w = await alice.encryptWrite(enc.encode(text), kp.writeCap, kp.firstMessageIndex);
      await alice.startResendingEncryptedMessage({
        writeCap: kp.writeCap,
        envelopeDescriptor: w.envelopeDescriptor,
        messageCiphertext: w.messageCiphertext,
        envelopeHash: w.envelopeHash,
      });
      const r = await bob.encryptRead(kp.readCap, kp.firstMessageIndex);
      const res = await bob.startResendingEncryptedMessage({
        readCap: kp.readCap,
        messageBoxIndex: kp.firstMessageIndex,
        envelopeDescriptor: r.envelopeDescriptor,
        messageCiphertext: r.messageCiphertext,
        envelopeHash: r.envelopeHash,
      });
      expect(dec.decode(res.plaintext)).toBe(text);
    },
    5 * MIN,
  );

  it(
    'a no-retry read of an unwritten box rejects with BoxIdNotFoundError',
    async () => {
      const kp = await bob.newKeypair(seed(2));
      const r = await bob.encryptRead(kp.readCap, kp.firstMessageIndex);
      await expect(
        bob.startResendingEncryptedMessage({
          readCap: kp.readCap,
          messageBoxIndex: kp.firstMessageIndex,
          envelopeDescriptor: r.envelopeDescriptor,
          messageCiphertext: r.messageCiphertext,
          envelopeHash: r.envelopeHash,
          noRetryOnBoxIdNotFound: true,
        }),
      ).rejects.toBeInstanceOf(BoxIdNotFoundError);
    },
    5 * MIN,
  );

  it(
    'the echo service answers a SURB message',
    async () => {
      const [dest, queue] = alice.getService('echo').toDestination();
      const reply = await alice.blockingSendMessage(enc.encode('hello echo'), dest, queue, {
        timeoutMs: 2 * MIN,
      });
      expect(dec.decode(reply.subarray(0, 10))).toBe('hello echo');
    },
    3 * MIN,
  );

  it(
    'a copy command moves a payload into the destination box',
    async () => {
      const dest = await alice.newKeypair(seed(3));
      const temp = await alice.newKeypair(seed(4));
      const payload = enc.encode(`copied ${new Date().toISOString()}`);
      const { envelopes } = await alice.createCourierEnvelopesFromPayload(
        payload,
        dest.writeCap,
        dest.firstMessageIndex,
        true,
        true,
      );
      let idx = temp.firstMessageIndex;
      for (const e of envelopes) {
        const w = await alice.encryptWrite(e, temp.writeCap, idx);
        await alice.startResendingEncryptedMessage({
          writeCap: temp.writeCap,
          envelopeDescriptor: w.envelopeDescriptor,
          messageCiphertext: w.messageCiphertext,
          envelopeHash: w.envelopeHash,
        });
        idx = w.nextMessageBoxIndex;
      }
      await alice.startResendingCopyCommand(temp.writeCap);
      const r = await bob.encryptRead(dest.readCap, dest.firstMessageIndex);
      const res = await bob.startResendingEncryptedMessage({
        readCap: dest.readCap,
        messageBoxIndex: dest.firstMessageIndex,
        envelopeDescriptor: r.envelopeDescriptor,
        messageCiphertext: r.messageCiphertext,
        envelopeHash: r.envelopeHash,
      });
      expect(res.plaintext).toEqual(payload);
    },
    8 * MIN,
  );
});

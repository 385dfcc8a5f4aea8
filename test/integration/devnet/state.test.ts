/**
 * A devnet state directory: the network (seed, epochs, boxes) outlives the devnet that used it, and the
 * next devnet on it has a new daemon with a new instance token. The SIGKILL case, with the devnet as its
 * own process, is test/chaos.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DevnetOptions, DevnetStateError, startDevnet } from '../../../src/devnet/index.js';
import { ThinClient } from '../../../src/index.js';
import { readBox, writeBox } from '../../helpers/boxes.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kp-devnet-state-'));
  dirs.push(d);
  return join(d, 'state');
}

const options = (state: string, extra: Partial<DevnetOptions> = {}): DevnetOptions => ({
  listen: 'tcp://127.0.0.1:0',
  profile: 'instant',
  authorityScheme: 'Ed25519',
  state,
  ...extra,
});

const text = (s: string) => new TextEncoder().encode(s);

describe('a devnet with a state directory', () => {
  it('serves the boxes written on an earlier devnet of the same state, and tombstones stay tombstones', async () => {
    const state = stateDir();
    const seed = new Uint8Array(randomBytes(32));
    const first = await startDevnet(options(state));
    let client = await ThinClient.connect(first.thinClientConfig);
    const kp = await client.newKeypair(seed);
    const second = await client.nextMessageBoxIndex(kp.firstMessageIndex);
    await writeBox(client, kp.writeCap, kp.firstMessageIndex, text('kept'));
    await writeBox(client, kp.writeCap, second, text('to be deleted'));
    const tomb = await client.tombstoneRange(kp.writeCap, second, 1);
    await client.startResendingEncryptedMessage({ writeCap: kp.writeCap, ...tomb.envelopes[0]! });
    const firstToken = first.instanceToken();
    const firstDocument = await client.getPkiDocumentRaw();
    await client.close();
    await first.close();

    const again = await startDevnet(options(state));
    try {
      expect(again.instanceToken()).not.toEqual(firstToken);
      expect(again.epoch()).toBeGreaterThanOrEqual(first.epoch());
      client = await ThinClient.connect(again.thinClientConfig);
      expect(await readBox(client, kp.readCap, kp.firstMessageIndex)).toEqual(text('kept'));
      await expect(readBox(client, kp.readCap, second)).rejects.toMatchObject({ name: 'TombstoneError' });
      // Same keys, same genesis: the document of the same epoch is the same document.
      if (again.epoch() === firstDocument.epoch)
        expect((await client.getPkiDocumentRaw()).payload).toEqual(firstDocument.payload);
      expect(again.authorities).toEqual(first.authorities);
      await client.close();
    } finally {
      await again.close();
    }
  });

  it('keeps its files readable by the owner only', async () => {
    const state = stateDir();
    const net = await startDevnet(options(state));
    await net.close();
    expect(statSync(state).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(state))
      expect([f, statSync(join(state, f)).mode & 0o777]).toEqual([f, 0o600]);
  });

  it('refuses a seed other than the one the state was made with, and a second devnet on it', async () => {
    const state = stateDir();
    const net = await startDevnet(options(state, { seed: 'one' }));
    try {
      await expect(startDevnet(options(state, { seed: 'one' }))).rejects.toThrow(
        /in use by another devnet of this process/,
      );
    } finally {
      await net.close();
    }
    await expect(startDevnet(options(state, { seed: 'two' }))).rejects.toBeInstanceOf(DevnetStateError);
    await expect(startDevnet(options(state, { replicaCount: 4 }))).rejects.toThrow(
      /has replicaCount 5, not 4/,
    );
    const same = await startDevnet(options(state, { seed: 'one' }));
    await same.close();
  });

  it('drops a box record cut short by a crash and keeps the ones before it', async () => {
    const state = stateDir();
    const net = await startDevnet(options(state));
    let client = await ThinClient.connect(net.thinClientConfig);
    const kp = await client.newKeypair(new Uint8Array(randomBytes(32)));
    await writeBox(client, kp.writeCap, kp.firstMessageIndex, text('whole'));
    await client.close();
    await net.close();
    for (const f of readdirSync(state).filter((n) => n.endsWith('.boxes')))
      appendFileSync(join(state, f), new Uint8Array(40).fill(7));

    const again = await startDevnet(options(state));
    try {
      client = await ThinClient.connect(again.thinClientConfig);
      expect(await readBox(client, kp.readCap, kp.firstMessageIndex)).toEqual(text('whole'));
      const next = await client.nextMessageBoxIndex(kp.firstMessageIndex);
      await writeBox(client, kp.writeCap, next, text('after the cut'));
      expect(await readBox(client, kp.readCap, next)).toEqual(text('after the cut'));
      await client.close();
    } finally {
      await again.close();
    }
  });
});

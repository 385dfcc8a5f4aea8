import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet } from '../../src/devnet/index.js';
import { ThinClient } from '../../src/index.js';
import type { NodeRecord } from '../../src/inspector/records.js';
import { type InspectorServer, startInspectorServer } from '../../src/inspector/server.js';
import type { TreeNode } from '../../src/inspector/tree.js';

/** Reads the SSE stream (named events) until `until` holds for the messages seen so far. */
type Message = { event: string; data: Record<string, unknown> };
function readEvents(url: string, until: (messages: Message[]) => boolean): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const messages: Message[] = [];
    const req = get(new URL('events', url), (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i = buffer.indexOf('\n\n');
        while (i >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) messages.push({ event, data: JSON.parse(data) });
          i = buffer.indexOf('\n\n');
        }
        if (until(messages)) {
          req.destroy();
          resolve(messages);
        }
      });
    });
    req.on('error', reject);
  });
}

const records = (messages: Message[]) =>
  messages.filter((m) => m.event === 'record').map((m) => m.data as unknown as NodeRecord);

describe('live inspector', () => {
  let net: Awaited<ReturnType<typeof startDevnet>>;
  let inspector: InspectorServer;
  let client: ThinClient;

  beforeAll(async () => {
    net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant' });
    inspector = await startInspectorServer();
    client = await ThinClient.connect(net.thinClientConfig, { inspect: inspector.inspect });
  });
  afterAll(async () => {
    await client?.close();
    await inspector?.close();
    await net?.stop();
  });

  it('serves a self-contained page on loopback', async () => {
    expect(inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const html = await new Promise<string>((resolve, reject) => {
      get(inspector.url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(html).toContain('EventSource');
    expect(html).toContain('role="tree"');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it('streams a write, a read and a tombstone with their kinds and lifecycles; caps, seeds and plaintexts never appear', async () => {
    const seed = randomBytes(32);
    const plaintext = 'a plaintext nobody may see in the inspector';
    const { writeCap, readCap, firstMessageIndex } = await client.newKeypair(seed);
    const w = await client.encryptWrite(new TextEncoder().encode(plaintext), writeCap, firstMessageIndex);
    await client.startResendingEncryptedMessage({ writeCap, ...w });
    const r = await client.encryptRead(readCap, firstMessageIndex);
    await client.startResendingEncryptedMessage({ readCap, messageBoxIndex: firstMessageIndex, ...r });
    const t = await client.encryptWrite(new Uint8Array(0), writeCap, w.nextMessageBoxIndex);
    await client.startResendingEncryptedMessage({ writeCap, ...t });

    const messages = await readEvents(inspector.url, (ms) =>
      ['write', 'read', 'tombstone'].every((kind) =>
        records(ms).some((rec) => rec.kind === kind && rec.phase === 'done'),
      ),
    );
    expect(messages[0]).toEqual({ event: 'hello', data: { limit: 500 } });
    const done = (kind: string) =>
      records(messages).find((rec) => rec.kind === kind && rec.phase === 'done')!;
    for (const kind of ['write', 'read', 'tombstone']) {
      const op = done(kind);
      expect(op.id).toMatch(/^op:[0-9a-f]{32}$/);
      expect(op.parent).toBe('client');
      expect(op.steps.map((s) => s.state)).toEqual(['awaiting', 'done']);
      expect(op.steps[1]!.event).toBe('op.reply');
      expect(op.transmissions).toBe(1);
    }
    const locals = records(messages).filter((rec) => rec.kind === 'local request' && rec.phase === 'done');
    expect(locals.map((rec) => rec.label)).toEqual(
      expect.arrayContaining(['new_keypair', 'encrypt_write', 'encrypt_read']),
    );

    const all = JSON.stringify(messages) + JSON.stringify(inspector.rows());
    for (const secret of [writeCap, seed, new TextEncoder().encode(plaintext)]) {
      expect(all).not.toContain(Buffer.from(secret).toString('hex'));
      expect(all).not.toContain(Buffer.from(secret).toString('base64').slice(0, 40));
      expect(all).not.toContain(Array.from(secret.subarray(0, 12)).join(','));
    }
    expect(all).not.toContain(plaintext);
    expect(all).toContain('"write_cap":"[redacted]"');
    expect(all).toContain('"seed":"[redacted]"');
  });

  it('answers the tree as JSON: the client at level 1, its connection, registry and operations below', async () => {
    const tree = (await (await fetch(new URL('tree', inspector.url))).json()) as TreeNode[];
    expect(tree).toHaveLength(1);
    expect(tree[0]!.record.id).toBe('client');
    expect(tree[0]!.level).toBe(1);
    const ids = tree[0]!.children.map((n) => n.record.id);
    expect(ids).toEqual(expect.arrayContaining(['connection', 'registry']));
    expect(tree[0]!.children.every((n) => n.level === 2)).toBe(true);
    expect(inspector.records().some((rec) => rec.kind === 'tombstone')).toBe(true);
  });

  it('closes like the client and the devnet: close(), closed() and await using; the port stops listening', async () => {
    let url = '';
    {
      await using server = await startInspectorServer();
      url = server.url;
      await fetch(url);
    }
    await expect(fetch(url)).rejects.toThrow();
    const again = await startInspectorServer();
    const closed = again.closed();
    await Promise.all([again.close(), again.close()]);
    await closed;
  });
});

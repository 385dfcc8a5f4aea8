import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet } from '../../src/devnet/index.js';
import { ThinClient } from '../../src/index.js';
import { type InspectorServer, startInspectorServer } from '../../src/inspector/server.js';

/** Reads the SSE stream until `until` holds for the rows seen so far. */
function readEvents(
  url: string,
  until: (rows: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const rows: Record<string, unknown>[] = [];
    const req = get(new URL('events', url), (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i = buffer.indexOf('\n\n');
        while (i >= 0) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (line.startsWith('data: ')) rows.push(JSON.parse(line.slice(6)));
          i = buffer.indexOf('\n\n');
        }
        if (until(rows)) {
          req.destroy();
          resolve(rows);
        }
      });
    });
    req.on('error', reject);
  });
}

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
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it('streams an ARQ operation from start to done, with its write cap redacted', async () => {
    const { writeCap, firstMessageIndex } = await client.newKeypair(randomBytes(32));
    const w = await client.encryptWrite(new TextEncoder().encode('traced'), writeCap, firstMessageIndex);
    await client.startResendingEncryptedMessage({ writeCap, ...w });

    const rows = await readEvents(inspector.url, (rs) =>
      rs.some((r) => String(r.systemId ?? '').startsWith('op:') && r.status === 'done'),
    );
    const op = rows.filter((r) => String(r.systemId ?? '').startsWith('op:'));
    expect(op.length).toBeGreaterThan(1);
    const capHex = Buffer.from(writeCap).toString('hex');
    const capB64 = Buffer.from(writeCap).toString('base64');
    const all = JSON.stringify(rows);
    expect(all).not.toContain(capHex);
    expect(all).not.toContain(capB64.slice(0, 40));
    expect(all).not.toContain(JSON.stringify(Array.from(writeCap.subarray(0, 16))).slice(1, -1));
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

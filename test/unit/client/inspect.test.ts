import { createInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { sanitize } from '../../../src/inspector/redact.js';
import { createTraceRecorder } from '../../../src/inspector/trace.js';
import { bytes, cleanup, hex, setup } from './harness.js';

afterEach(cleanup);

/** A write cap with a recognisable pattern, and every form it could leak in. */
const cap = Uint8Array.from({ length: 168 }, (_, i) => (i * 7 + 3) & 0xff);
const leaks = (text: string) =>
  text.includes(hex(cap).slice(0, 40)) ||
  text.includes(Buffer.from(cap).toString('base64').slice(0, 40)) ||
  text.includes(Array.from(cap.slice(0, 12)).join(','));

/** One write operation with `cap`, answered by the scripted daemon. */
async function writeOnce(h: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const write = h.client.startResendingEncryptedMessage({
    writeCap: cap,
    envelopeDescriptor: bytes(4),
    messageCiphertext: bytes(4),
    envelopeHash: bytes(32),
  });
  const req = await h.daemon.nextRequest('start_resending_encrypted_message');
  req.conn.reply(req, 'start_resending_encrypted_message_reply', { error_code: 0 });
  await write;
}

describe('inspection never shows secrets', () => {
  it('sanitize replaces bytes with their length and secret fields with [redacted]', () => {
    expect(sanitize({ writeCap: 'abc', n: 1n, b: bytes(5), nested: [{ seed: 'x' }] })).toEqual({
      writeCap: '[redacted]',
      n: '1n',
      b: '[5 bytes]',
      nested: [{ seed: '[redacted]' }],
    });
  });

  it('a raw observer and a JSONL trace of a write operation carry no write cap', async () => {
    const events: InspectionEvent[] = [];
    const lines: string[] = [];
    const recorder = createTraceRecorder((l) => lines.push(l));
    const h = await setup(
      {},
      {
        inspect: (ev) => {
          events.push(ev);
          recorder(ev);
        },
      },
    );
    await writeOnce(h);
    expect(events.length).toBeGreaterThan(0);
    for (const ev of events) {
      const snapshot = (ev as { actorRef: { getSnapshot(): unknown } }).actorRef.getSnapshot();
      const text = JSON.stringify([sanitize(ev), snapshot], (_, v) =>
        typeof v === 'bigint' ? String(v) : v,
      );
      expect(leaks(text)).toBe(false);
    }
    const trace = lines.join('');
    expect(trace).toContain('"systemId":"op:');
    expect(trace).toContain('"event":"op.reply"');
    expect(leaks(trace)).toBe(false);
    for (const line of lines) expect(line.endsWith('\n')).toBe(true);
  });

  it("@statelyai/inspect's inspector sees no write cap either", async () => {
    const sent: unknown[] = [];
    const inspector = createInspector({
      send: (e: unknown) => void sent.push(e),
      start() {},
      stop() {},
    } as never);
    const h = await setup({}, { inspect: inspector.inspect });
    await writeOnce(h);
    const text = JSON.stringify(sent, (_, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(sent.length).toBeGreaterThan(0);
    expect(leaks(text)).toBe(false);
  });
});

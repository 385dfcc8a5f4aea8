import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotConnectedError } from '../../../src/errors.js';
import {
  bytes,
  cleanup,
  hex,
  nextEvent,
  redial,
  ScriptedDaemon,
  setup,
  ThinClient,
  until,
} from './harness.js';

afterEach(cleanup);

describe('handshake and session token', () => {
  it('sends session_token with a 16-byte client token only after the status event and PKI document', async () => {
    const { daemon } = await setup();
    const conn = await daemon.handshake(1);
    expect(conn.requests[0]!.key).toBe('session_token');
    const token = conn.requests[0]!.body.client_instance_token as Uint8Array;
    expect(token).toBeInstanceOf(Uint8Array);
    expect(token.length).toBe(16);
  });

  it('sends the same token on every redial, and a different one per client', async () => {
    const h = await setup();
    const first = (await h.daemon.handshake(1)).clientToken!;
    h.daemon.current.drop();
    await redial(h, 2);
    expect(hex(h.daemon.current.clientToken!)).toBe(hex(first));
    const other = await ThinClient.connect(h.daemon.config);
    try {
      expect(hex(h.daemon.current.clientToken!)).not.toBe(hex(first));
    } finally {
      await other.close();
    }
  });

  it('exposes the geometry from the handshake in camelCase', async () => {
    const { client } = await setup();
    expect(client.sphinxGeometry.userForwardPayloadLength).toBe(2000);
    expect(client.sphinxGeometry.surbLength).toBe(572);
    expect(client.sphinxGeometry.nikeName).toBe('x25519');
    expect(client.pigeonholeGeometry.maxPlaintextPayloadLength).toBe(1553);
    expect(client.pigeonholeGeometry.signatureSchemeName).toBe('Ed25519');
  });

  it('dispatches events that arrive between the PKI document and session_token_reply, in order', async () => {
    let interleave = false;
    const h = await setup({
      beforeSessionReply: (conn) => {
        if (!interleave) return;
        conn.send('connection_status_event', { ...h.daemon.statusBody(), is_connected: false });
        conn.send('message_reply_event', { surbid: bytes(16, 9), payload: bytes(5, 1), error_code: 0 });
      },
    });
    interleave = true;
    const seen: string[] = [];
    h.client.on('*', (e) => seen.push(e.type));
    const connected = nextEvent(h.client, 'daemonConnected');
    h.daemon.current.drop();
    await redial(h, 2);
    await connected;
    expect(seen).toEqual([
      'daemonDisconnected',
      'connectionStatus', // the handshake's own status event
      'newPkiDocument',
      'connectionStatus', // interleaved: mixnet down
      'messageReply', // interleaved: a queued reply
      'daemonConnected',
    ]);
    expect(h.client.isDaemonConnected()).toBe(true);
    expect(h.client.isConnected()).toBe(false);
  });

  it('delivers queued replies a resuming daemon flushes before session_token_reply', async () => {
    let flush: ((conn: import('../../helpers/scriptedDaemon.js').DaemonConnection) => void) | undefined;
    const h = await setup({
      beforeSessionReply: (conn, resumed) => {
        if (resumed) flush?.(conn);
      },
    });
    const dest = h.client.getServices('echo'); // no document: none
    expect(dest).toEqual([]);
    const reply = h.client.blockingSendMessage(bytes(10, 7), bytes(32, 1), new TextEncoder().encode('+echo'));
    const sent = await h.daemon.nextRequest('send_message');
    flush = (conn) =>
      conn.send('message_reply_event', {
        surbid: sent.body.surbid as Uint8Array,
        payload: bytes(10, 7),
        error_code: 0,
      });
    h.daemon.current.drop();
    await redial(h, 2);
    await expect(reply).resolves.toEqual(bytes(10, 7));
  });

  it('reports the daemon connection as an event with the instance token', async () => {
    const h = await setup();
    const connected = nextEvent(h.client, 'daemonConnected');
    h.daemon.current.drop();
    await redial(h, 2);
    const ev = await connected;
    expect(ev.resumed).toBe(true);
    expect(hex(ev.instanceToken!)).toBe(hex(h.daemon.instanceToken));
  });

  it('dials a unix socket path and a Linux abstract socket name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-'));
    for (const unixPath of [join(dir, 'kpclientd.sock'), `@kp-test-${process.pid}-${Date.now()}`]) {
      const daemon = await ScriptedDaemon.start({ unixPath });
      const client = await ThinClient.connect(daemon.config);
      expect(client.isConnected()).toBe(true);
      await client.close();
      await daemon.stop();
    }
  });

  it('rejects connect with NotConnectedError when nothing listens', async () => {
    const daemon = await ScriptedDaemon.start();
    const config = daemon.config;
    await daemon.stop();
    await expect(ThinClient.connect(config)).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('rejects connect with the signal reason when aborted during the handshake', async () => {
    const controller = new AbortController();
    const daemon = await ScriptedDaemon.start({
      beforeSessionReply: () => controller.abort(new Error('stop')),
    });
    await expect(ThinClient.connect(daemon.config, { signal: controller.signal })).rejects.toThrow('stop');
    await until(() => daemon.connections.every((c) => c.closed));
    await daemon.stop();
  });

  it('accepts the path of a thinclient.toml', async () => {
    const daemon = await ScriptedDaemon.start();
    const dir = mkdtempSync(join(tmpdir(), 'kp-'));
    const path = join(dir, 'thinclient.toml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      path,
      `[Dial]\n  [Dial.Tcp]\n    Address = "${daemon.config.dial.address}"\n    Network = "tcp"\n`,
    );
    const client = await ThinClient.connect(path);
    expect(client.isConnected()).toBe(true);
    await client.close();
    await daemon.stop();
  });
});

/**
 * Fault knobs for the client's connection handling: a stalled handshake, a daemon that ignores
 * thin_close, and a frame that does not decode. "Nothing came" is shown by what comes next: a
 * broadcast the test causes arrives first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { FrameSocket } from '../../helpers/frameSocket.js';
import { RawClient } from './rawClient.js';

let net: Devnet;
const open: RawClient[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await net.stop();
});

async function devnet(): Promise<Devnet> {
  net = await startDevnet({ authorityScheme: 'Ed25519', seed: 'handshake-faults' });
  return net;
}
async function dial(): Promise<RawClient> {
  const c = await RawClient.connect(net.thinClientConfig);
  open.push(c);
  return c;
}
const token = () => crypto.getRandomValues(new Uint8Array(16));

describe('devnet handshake faults', () => {
  it("stalls before the status event with 'status': the first frame is the next broadcast", async () => {
    await devnet();
    net.stallHandshakes('status');
    const c = await dial();
    net.setMixnetConnected(false);
    expect((await c.next('connection_status_event')).is_connected).toBe(false);
    expect(c.pending()).toEqual([]);
  });

  it("sends only the status event with 'document', and broadcasts still arrive", async () => {
    await devnet();
    net.stallHandshakes('document');
    const c = await dial();
    expect((await c.next('connection_status_event')).is_connected).toBe(true);
    net.setMixnetConnected(false);
    expect((await c.next('connection_status_event')).is_connected).toBe(false);
  });

  it("leaves the session_token unanswered with 'sessionReply', and a later dial completes once cleared", async () => {
    await devnet();
    net.stallHandshakes('sessionReply');
    const c = await dial();
    await c.next('connection_status_event');
    await c.next('new_pki_document_event');
    c.send('session_token', { client_instance_token: token() });
    net.setMixnetConnected(false);
    // The status broadcast comes where the session reply would have been.
    expect((await c.next('connection_status_event')).is_connected).toBe(false);
    net.stallHandshakes(null);
    const s = await RawClient.session(net.thinClientConfig);
    open.push(s.client);
    expect(s.resumed).toBe(false);
  });

  it('rejects a stall stage it does not know', async () => {
    await devnet();
    expect(() => net.stallHandshakes('later' as never)).toThrow(
      "devnet: stallHandshakes takes 'status', 'document', 'sessionReply' or null",
    );
    expect(() => net.ignoreThinClose(1 as never)).toThrow('devnet: ignoreThinClose takes a boolean');
  });

  it('keeps the socket open after thin_close when told to ignore it, and closes it otherwise', async () => {
    await devnet();
    net.ignoreThinClose(true);
    const kept = await RawClient.session(net.thinClientConfig);
    open.push(kept.client);
    kept.client.send('thin_close', {});
    net.setMixnetConnected(false);
    expect((await kept.client.next('connection_status_event')).is_connected).toBe(false);
    expect(kept.client.isClosedNow).toBe(false);

    net.ignoreThinClose(false);
    const closed = await RawClient.session(net.thinClientConfig);
    open.push(closed.client);
    closed.client.send('thin_close', {});
    await closed.client.closed;
    expect(closed.client.isClosedNow).toBe(true);
  });

  it('sends every client one frame that does not decode', async () => {
    await devnet();
    // A frame socket, not a RawClient: the RawClient decodes every frame it gets.
    const bodies: Uint8Array[] = [];
    const sock = await FrameSocket.connect(net.thinClientConfig, (body) => void bodies.push(body));
    try {
      while (bodies.length < 2) await sock.arrival(); // the status event and the document
      net.sendUnreadableFrame();
      while (bodies.length < 3) await sock.arrival();
      expect([...bodies[2]!]).toEqual([0xff, 0x00]);
    } finally {
      await sock.close();
    }
  });

  it('holds back frames to the connected clients, in order, while still handling their requests', async () => {
    await devnet();
    const s = await RawClient.session(net.thinClientConfig);
    open.push(s.client);
    net.holdFrames(true);
    const pending = s.client.call('new_keypair', { seed: new Uint8Array(32).fill(1) }, 'new_keypair_reply');
    net.setMixnetConnected(false);
    // A whole handshake of another client meanwhile: the daemon ran, and nothing reached the first one.
    const late = await RawClient.session(net.thinClientConfig);
    open.push(late.client);
    expect(s.client.pending()).toEqual([]);
    net.holdFrames(false);
    expect((await pending).error_code).toBe(0);
    expect((await s.client.next('connection_status_event')).is_connected).toBe(false);
  });
});

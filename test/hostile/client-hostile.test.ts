/**
 * A ThinClient against a hostile daemon (a scripted one, on a real socket, simulated clock): a daemon
 * that stalls in the middle of a frame, never answers, stalls the handshake, or floods events costs
 * the caller a typed TimeoutError and never a hang, and the client's event queues stay bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NotConnectedError, OperationCancelledError, ProtocolError, TimeoutError } from '../../src/errors.js';
import type { ThinClientEvent } from '../../src/events.js';
import { ThinClient } from '../../src/index.js';
import { encodeCbor } from '../../src/wire/index.js';
import { ScriptedDaemon } from '../helpers/scriptedDaemon.js';
import {
  bytes,
  cleanup,
  connectionState,
  RecordingClock,
  readParams,
  redial,
  setup,
  until,
} from '../unit/client/harness.js';

afterEach(cleanup);

const seed = bytes(32, 7);

/** The first `n` bytes of a frame announcing `announced` body bytes. */
function partialFrame(announced: number, n: number): Uint8Array {
  const out = new Uint8Array(4 + n).fill(0xa1, 4);
  new DataView(out.buffer).setUint32(0, announced);
  return out;
}

describe('a ThinClient against a hostile daemon', () => {
  it('rejects a local call with TimeoutError when the daemon stalls in the middle of its reply frame', async () => {
    const h = await setup({}, { requestTimeoutMs: 5000 });
    const call = h.client.newKeypair(seed);
    const request = await h.daemon.nextRequest('new_keypair');
    // A reply header announcing 1 MiB, a few bytes of it, then silence.
    request.conn.sendRaw(partialFrame(1024 * 1024, 10));
    const outcome = call.then(
      () => 'resolved',
      (e) => e,
    );
    h.clock.increment(4999);
    await until(() => true);
    h.clock.increment(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('new_keypair: no reply within 5000 ms');
  });

  it('drops a connection whose frame stays unfinished for partialFrameTimeoutMs, redials and re-sends the pending call', async () => {
    const h = await setup({}, { partialFrameTimeoutMs: 2000, requestTimeoutMs: 60_000 });
    const errors: Error[] = [];
    h.client.on('protocolError', (e) => errors.push(e.error));
    const call = h.client.newKeypair(seed);
    const first = await h.daemon.nextRequest('new_keypair');
    first.conn.sendRaw(partialFrame(1024 * 1024, 10));
    // The stall clock starts once the bytes have arrived.
    await until(() => h.clock.delays.includes(2000));
    h.clock.increment(1999);
    await until(() => true);
    expect(errors).toEqual([]);
    h.clock.increment(1);
    await until(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(ProtocolError);
    expect(errors[0]!.message).toBe('the daemon left a frame unfinished for 2000 ms (14 bytes read)');
    await redial(h, 2);
    const again = await h.daemon.nextRequest('new_keypair');
    expect(again.bytes).toEqual(first.bytes);
    again.conn.reply(again, 'new_keypair_reply', {
      write_cap: bytes(168),
      read_cap: bytes(136),
      first_message_index: bytes(104),
    } as never);
    await expect(call).resolves.toBeDefined();
  });

  it('rejects a local call with TimeoutError when the daemon never answers, whatever the call deadline', async () => {
    const h = await setup({}, { requestTimeoutMs: 60_000 });
    const call = h.client.getMessageBoxIndexCounter(bytes(104), { timeoutMs: 250 }).catch((e) => e);
    await h.daemon.nextRequest('get_message_box_index_counter');
    h.clock.increment(250);
    expect(await call).toBeInstanceOf(TimeoutError);
  });

  it('rejects a call held while the client redials with TimeoutError when the daemon never comes back', async () => {
    const h = await setup({}, { requestTimeoutMs: 3000 });
    await h.daemon.pause();
    h.daemon.current.drop();
    await until(() => connectionState(h.client) === 'backoff');
    const call = h.client.newKeypair(seed).catch((e) => e);
    h.clock.increment(3000);
    expect(await call).toBeInstanceOf(TimeoutError);
  });

  it('rejects a cancel with TimeoutError when the daemon never answers it, and ends the operation it stops as cancelled', async () => {
    const h = await setup({}, { requestTimeoutMs: 4000 });
    const params = readParams();
    const read = h.client.startResendingEncryptedMessage(params).catch((e) => e);
    await h.daemon.nextRequest('start_resending_encrypted_message');
    const cancel = h.client.cancelResendingEncryptedMessage(params.envelopeHash).catch((e) => e);
    await h.daemon.nextRequest('cancel_resending_encrypted_message');
    h.clock.increment(4000);
    const error = await cancel;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('cancel: no reply within 4000 ms');
    expect(await read).toBeInstanceOf(OperationCancelledError);
    expect(h.client.stats().operations).toBe(0);
  });

  it('fails connect() with a typed error, not a hang, when the daemon stalls the handshake mid-frame', async () => {
    const daemon = await ScriptedDaemon.start({ manual: true });
    const clock = new RecordingClock();
    const connecting = ThinClient.connect(daemon.config, {
      clock,
      handshakeTimeoutMs: 2000,
      reconnect: { maxAttempts: 0 },
    }).catch((e) => e);
    await until(() => daemon.connections.length === 1);
    daemon.current.sendRaw(partialFrame(500, 3));
    await until(() => true);
    clock.increment(2000);
    const error = await connecting;
    expect(error).toBeInstanceOf(NotConnectedError);
    expect((error as Error).message).toMatch(/: timed out connecting to the daemon$/);
    await daemon.stop();
  });

  it('keeps a slow events() consumer to its capacity under a flood and tells it how many it lost', async () => {
    const h = await setup();
    const FLOOD = 20_000;
    const CAPACITY = 64;
    const slow = h.client.events({ capacity: CAPACITY });
    let heard = 0;
    h.client.on('unknown', () => {
      heard++;
    });
    const call = h.client.newKeypair(seed);
    const request = await h.daemon.nextRequest('new_keypair');
    // 20,000 pushes this client does not know, then the reply: frames are handled in order, so the
    // flood has been through the client once the call settles.
    const unknown = encodeCbor({ unknown_push_event: { n: 1 } });
    const frame = new Uint8Array(4 + unknown.length);
    new DataView(frame.buffer).setUint32(0, unknown.length);
    frame.set(unknown, 4);
    const burst = new Uint8Array(frame.length * FLOOD);
    for (let i = 0; i < FLOOD; i++) burst.set(frame, i * frame.length);
    request.conn.sendRaw(burst);
    request.conn.reply(request, 'new_keypair_reply', {
      write_cap: bytes(168),
      read_cap: bytes(136),
      first_message_index: bytes(104),
    } as never);
    await call.catch(() => {});
    await until(() => heard === FLOOD);
    const first = (await slow.next()).value as ThinClientEvent | { type: 'lagged'; dropped: number };
    expect(first).toEqual({ type: 'lagged', dropped: FLOOD - CAPACITY });
    let kept = 0;
    for (;;) {
      const next = await Promise.race([slow.next(), Promise.resolve(undefined)]);
      if (!next || next.done) break;
      expect(next.value.type).toBe('unknown');
      kept++;
      if (kept === CAPACITY) break;
    }
    expect(kept).toBe(CAPACITY);
    await slow.return?.();
  });

  it('turns a reply frame over 40 MiB into a protocolError event on its first four bytes', async () => {
    const h = await setup();
    const events: ThinClientEvent[] = [];
    h.client.on('protocolError', (e) => events.push(e));
    h.daemon.current.sendRaw(partialFrame(40 * 1024 * 1024 + 1, 0));
    await until(() => events.length === 1);
    expect((events[0] as { error: Error }).error).toBeInstanceOf(ProtocolError);
  });
});

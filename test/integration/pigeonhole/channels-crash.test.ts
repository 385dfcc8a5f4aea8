/**
 * A writer process is SIGKILLed at each dangerous point of WriteChannel.send (message recorded but no box
 * written; one box of a multi-box message confirmed; every box confirmed but the index not advanced), and a
 * new process reopens the channel and goes on. The devnet runs in this test process on a real socket; the
 * writers are separate processes (tsx) that dial it. Afterwards every message is read back and compared:
 * none lost, none duplicated, every box holding the one message it was reserved for.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexCounter } from '../../../src/crypto/bacap.js';
import { BoxAlreadyExistsError, BoxIdNotFoundError } from '../../../src/errors.js';
import { ReadChannel, WriteChannel } from '../../../src/pigeonhole/channels.js';
import { PigeonholeStore } from '../../../src/pigeonhole/store.js';
import { channelMessage } from '../../fixtures/channel-messages.js';
import { type ChildResult, runChild, useCrashNet } from '../../helpers/crashHarness.js';

const CHILD = new URL('../../fixtures/channel-child.ts', import.meta.url);
const crash = useCrashNet('kp-crash-');

describe('a WriteChannel whose process is killed mid-send', () => {
  it('loses no message and never puts two different messages in one box', async () => {
    const { client, dir, configPath } = crash;
    const db = join(dir, 'writer.db');
    const base = { KP_CONFIG: configPath, KP_DB: db, KP_CHANNEL: 'crashy', KP_TOTAL: '7' };
    const boxSize = client.pigeonholeGeometry!.maxPlaintextPayloadLength;
    const sentBy = (r: ChildResult) => r.events.filter((e) => e.event === 'sent').map((e) => e.seq);
    const flushedBy = (r: ChildResult) => r.events.find((e) => e.event === 'flushed')?.seqs;

    // 1. Killed after message 1 is in the log, before any of its boxes is written.
    const r1 = await runChild(CHILD, { ...base, KP_CRASH: 'recorded:1' });
    expect(r1.signal, r1.stderr).toBe('SIGKILL');
    expect(sentBy(r1)).toEqual([0]);
    expect(r1.events.at(-1)).toEqual({ event: 'crash', at: 'recorded:1' });

    // 2. The next process delivers message 1 from the log, then dies after the FIRST box of the
    //    three-box message 2 is confirmed.
    const r2 = await runChild(CHILD, { ...base, KP_CRASH: 'box:2:0' });
    expect(r2.signal, r2.stderr).toBe('SIGKILL');
    expect(r2.events[0]).toEqual({ event: 'open', messageCount: 2, pending: [1] });
    expect(flushedBy(r2)).toEqual([1]);
    expect(r2.events.at(-1)).toEqual({ event: 'crash', at: 'box:2:0' });

    // 3. The next one finishes message 2, sends 3, and dies after every box of message 4 was
    //    acknowledged but before the transaction that marks it sent and advances the index.
    const r3 = await runChild(CHILD, { ...base, KP_CRASH: 'confirmed:4' });
    expect(r3.signal, r3.stderr).toBe('SIGKILL');
    expect(r3.events[0]).toEqual({ event: 'open', messageCount: 3, pending: [2] });
    expect(flushedBy(r3)).toEqual([2]);
    expect(sentBy(r3)).toEqual([3]);
    expect(r3.events.at(-1)).toEqual({ event: 'crash', at: 'confirmed:4' });

    // Between the processes: message 4 is on the network, yet still pending with the index before it.
    {
      const store = PigeonholeStore.open(db);
      const w = WriteChannel.open(store, client, 'crashy');
      const [pending] = w.pending();
      expect(w.pending()).toHaveLength(1);
      expect(pending!.seq).toBe(4);
      expect(w.nextIndex).toEqual(pending!.startIndex);
      await w.close();
      store.close();
      // Its box really was written before the kill: a different message there is refused.
      const other = await client.encryptWrite(
        new TextEncoder().encode('intruder'),
        w.writeCap,
        pending!.startIndex,
      );
      await expect(
        client.startResendingEncryptedMessage({
          writeCap: w.writeCap,
          envelopeDescriptor: other.envelopeDescriptor,
          messageCiphertext: other.messageCiphertext,
          envelopeHash: other.envelopeHash,
          noIdempotentBoxAlreadyExists: true,
        }),
      ).rejects.toBeInstanceOf(BoxAlreadyExistsError);
    }

    // 4. A last process re-sends message 4 (identical bytes: accepted) and completes the channel.
    const r4 = await runChild(CHILD, base);
    expect(r4.code, r4.stderr).toBe(0);
    expect(r4.events[0]).toEqual({ event: 'open', messageCount: 5, pending: [4] });
    expect(flushedBy(r4)).toEqual([4]);
    expect(sentBy(r4)).toEqual([5, 6]);

    // Read everything back from the first index: exactly messages 0..6, in order, at contiguous boxes.
    const store = PigeonholeStore.open(db);
    const writer = WriteChannel.open(store, client, 'crashy');
    expect(writer.pending()).toEqual([]);
    const reader = ReadChannel.create(store, client, 'crashy-reader', writer.share(), { pollIntervalMs: 10 });
    let expectedStart = indexCounter(writer.firstIndex);
    for (let seq = 0; seq < 7; seq += 1) {
      const m = await reader.receive({ timeoutMs: 0 });
      expect(m.seq).toBe(seq);
      expect(indexCounter(m.startIndex)).toBe(expectedStart);
      expect(m.payload).toEqual(channelMessage(seq, boxSize));
      expectedStart = indexCounter(m.nextIndex);
    }
    expect(reader.nextIndex).toEqual(writer.nextIndex);
    // And nothing after the last message.
    await expect(reader.receive({ timeoutMs: 0 })).rejects.toBeInstanceOf(BoxIdNotFoundError);
    await reader.close();
    await writer.close();
    store.close();
  });
});

/**
 * The window (machines/window.ts) and copy-stream (machines/copyStream.ts) machines over the devnet:
 * stories run by writeStream and copyToChannel of a ThinClient on a fresh devnet, so the actors are
 * the real `window:<id>` and `copy:<id>` children of the client, with real box operations. The
 * devnet's knobs drive them: the mixnet down (every box operation is refused, a retryable failure,
 * until the attempts run out; a copy's temp write fails), a virtual clock that holds operations in
 * flight for a cancel, and the client's simulated clock for the admission gaps. These are stories,
 * not generated paths: the generated paths of both machines run on stub I/O in window.test.ts and
 * copyStream.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type Devnet, startDevnet, VirtualClock } from '../../../src/devnet/index.js';
import { copyToChannel, MemoryCheckpointStore, resumeCopy, ThinClient } from '../../../src/index.js';
import { streamBoxPayloadLength } from '../../../src/pigeonhole/streams.js';
import { until } from '../../unit/client/harness.js';
import type { Unreachable } from '../coverage.js';
import { coverage, probeInspect } from './probe.js';

export const COPY_STREAM_UNREACHABLE: Unreachable[] = [
  {
    transition: 'copyStream.active.route always #0',
    reason:
      'route with no temp channel needs a checkpoint with batches built but no temp write cap; the first checkpoint is written only after the temp channel exists, and a fresh stream goes savingJob → creatingTempChannel without passing route',
  },
];

/** A store in memory that can run a fault knob at its n-th put, or refuse a put or a delete. */
class HookedStore extends MemoryCheckpointStore {
  puts = 0;
  constructor(
    readonly hook: { at?: number; run?: () => unknown; failPut?: number; failDelete?: boolean } = {},
  ) {
    super();
  }
  override async put(key: string, value: Uint8Array): Promise<void> {
    this.puts += 1;
    if (this.puts === this.hook.failPut) throw new Error('disk full');
    await super.put(key, value);
    if (this.puts === this.hook.at) await this.hook.run?.();
  }
  override async delete(key: string): Promise<void> {
    if (this.hook.failDelete) throw new Error('disk full');
    await super.delete(key);
  }
}

interface Rig {
  net: Devnet;
  client: ThinClient;
  clock: SimulatedClock;
}

async function rig(options: { held?: boolean } = {}): Promise<Rig> {
  const net = await startDevnet({
    authorityScheme: 'Ed25519',
    ...(options.held ? { clock: new VirtualClock(), timing: { hopFloorMs: 1000 } } : {}),
  });
  const clock = new SimulatedClock();
  const client = await ThinClient.connect(net.thinClientConfig, { clock, inspect: probeInspect() });
  return { net, client, clock };
}

async function done(r: Rig): Promise<void> {
  await r.client.close();
  await r.net.stop();
}

/** A channel, and a payload of `boxes` stream boxes for it. */
async function channel(r: Rig, boxes: number) {
  const keys = await r.client.newKeypair(new Uint8Array(randomBytes(32)));
  const per = streamBoxPayloadLength(r.client);
  return { keys, payload: new Uint8Array(randomBytes(per * boxes)) };
}

export function describeWorkStories(): void {
  describe('copy-stream machine: copyToChannel over the devnet', () => {
    it('copies a payload through a temp channel and a courier, then discards its checkpoint', async () => {
      coverage.copyStream.ranPath(['done']);
      const r = await rig();
      try {
        const { keys, payload } = await channel(r, 3);
        const store = new MemoryCheckpointStore();
        await copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
          checkpointStore: store,
          batchBoxes: 2,
        });
        expect(await store.keys()).toEqual([]);
        const back = await r.client.readStream(keys.readCap, keys.firstMessageIndex, 3, 3, { pacing: false });
        expect(Buffer.from(back.data).equals(Buffer.from(payload))).toBe(true);
      } finally {
        await done(r);
      }
    });

    it('ends errored, keeping its checkpoint, when a temp write is refused with the mixnet down', async () => {
      coverage.copyStream.ranPath(['mixnet down, errored']);
      const r = await rig();
      try {
        const { keys, payload } = await channel(r, 1);
        r.net.setMixnetConnected(false);
        await until(() => !r.client.isConnected());
        const store = new MemoryCheckpointStore();
        await expect(
          copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, { checkpointStore: store }),
        ).rejects.toThrow('mixnet');
        expect((await store.keys()).length).toBeGreaterThan(0);
      } finally {
        await done(r);
      }
    });

    for (const at of ['sendingTempBox', 'copying'] as const) {
      it(`cancels at the daemon when aborted in ${at}`, async () => {
        coverage.copyStream.ranPath([`cancel in ${at}`]);
        const r = await rig({ held: true });
        try {
          const { keys, payload } = await channel(r, 1);
          const abort = new AbortController();
          const values: string[] = [];
          const copy = copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
            checkpointStore: new MemoryCheckpointStore(),
            signal: abort.signal,
            inspect: (e) => {
              const v = (e as { snapshot?: { value?: unknown } }).snapshot?.value;
              if (v !== undefined) values.push(JSON.stringify(v));
            },
          });
          const clock = r.net.clock as VirtualClock;
          if (at === 'copying')
            await clock.advanceUntil(() => values.some((v) => v.includes('copying')), 500, 600_000);
          await until(() => values.some((v) => v.includes(at)) && r.net.stats().arqsInFlight > 0);
          abort.abort(new Error('stop'));
          await expect(copy).rejects.toThrow('stop');
          await until(() => r.net.stats().arqsInFlight === 0);
        } finally {
          await done(r);
        }
      });
    }
  });

  describe('copy-stream machine: faults in every step', () => {
    // Puts: 1 the job, 2 the temp channel's checkpoint, then one per batch built and box written.
    for (const at of [1, 2, 3, 4]) {
      it(`fails with the error of the step after put ${at}, when disconnect() comes right behind it`, async () => {
        coverage.copyStream.ranPath([`disconnect after put ${at}`]);
        const r = await rig();
        try {
          const { keys, payload } = await channel(r, 1);
          const store = new HookedStore({ at, run: () => r.client.disconnect() });
          await expect(
            copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
              checkpointStore: store,
            }),
          ).rejects.toThrow();
        } finally {
          await done(r);
        }
      });
    }

    for (const failPut of [1, 2]) {
      it(`ends errored when the store refuses put ${failPut}`, async () => {
        coverage.copyStream.ranPath([`put ${failPut} refused`]);
        const r = await rig();
        try {
          const { keys, payload } = await channel(r, 1);
          await expect(
            copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
              checkpointStore: new HookedStore({ failPut }),
            }),
          ).rejects.toThrow('disk full');
        } finally {
          await done(r);
        }
      });
    }

    it('is done even when the store cannot discard the checkpoint, and cancelled likewise', async () => {
      coverage.copyStream.ranPath(['discard refused']);
      const r = await rig();
      try {
        const { keys, payload } = await channel(r, 1);
        const store = new HookedStore({ failDelete: true });
        await copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
          checkpointStore: store,
        });
        const abort = new AbortController();
        const other = await channel(r, 1);
        const cancelled = copyToChannel(
          r.client,
          other.payload,
          other.keys.writeCap,
          other.keys.firstMessageIndex,
          {
            checkpointStore: new HookedStore({
              failDelete: true,
              at: 1,
              run: () => abort.abort(new Error('stop')),
            }),
            signal: abort.signal,
          },
        );
        await expect(cancelled).rejects.toThrow('stop');
      } finally {
        await done(r);
      }
    });

    it('reports the courier failing the copy when a destination box is already written', async () => {
      coverage.copyStream.ranPath(['destination taken, failed']);
      const r = await rig();
      try {
        const { keys, payload } = await channel(r, 1);
        const w = await r.client.encryptWrite(
          new TextEncoder().encode('taken'),
          keys.writeCap,
          keys.firstMessageIndex,
        );
        await r.client.startResendingEncryptedMessage({ writeCap: keys.writeCap, ...w });
        await expect(
          copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
            checkpointStore: new MemoryCheckpointStore(),
          }),
        ).rejects.toThrow('copy command failed');
      } finally {
        await done(r);
      }
    });

    it('fails the copy command when the mixnet goes down as it enters copying, and resumes from the checkpoint', async () => {
      coverage.copyStream.ranPath(['mixnet down at copying, resumed']);
      const r = await rig();
      try {
        const { keys, payload } = await channel(r, 1);
        let copyingPut = 0;
        const store = new HookedStore();
        // The put that makes the copying phase durable is the last before the command: find it by content.
        const put = store.put.bind(store);
        store.put = async (key, value) => {
          await put(key, value);
          if (copyingPut === 0 && key.endsWith('.checkpoint') && Buffer.from(value).includes('copying')) {
            copyingPut = store.puts;
            r.net.setMixnetConnected(false);
            await until(() => !r.client.isConnected());
          }
        };
        const id = 'model-resume';
        await expect(
          copyToChannel(r.client, payload, keys.writeCap, keys.firstMessageIndex, {
            checkpointStore: store,
            id,
          }),
        ).rejects.toThrow('mixnet');
        expect(copyingPut).toBeGreaterThan(0);
        r.net.setMixnetConnected(true);
        await until(() => r.client.isConnected());
        await resumeCopy(r.client, store, id);
      } finally {
        await done(r);
      }
    });
  });
}

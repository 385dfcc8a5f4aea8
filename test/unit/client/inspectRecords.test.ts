import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createInspectionRecords, type RecordChange } from '../../../src/inspector/records.js';
import { sanitize } from '../../../src/inspector/redact.js';
import { buildTree } from '../../../src/inspector/tree.js';

/** A stand-in actor ref, as inspection events carry them. */
const ref = (systemId: string, parent?: object) => ({ systemId, id: systemId, _parent: parent });
const client = ref('client');
const registry = ref('registry', client);

const actor = (r: object) => ({ type: '@xstate.actor', actorRef: r }) as unknown as InspectionEvent;
const snapshot = (r: object, value: string, event: string, status = 'active', context = {}) =>
  ({
    type: '@xstate.snapshot',
    actorRef: r,
    event: { type: event },
    snapshot: { status, value, context },
  }) as unknown as InspectionEvent;
const toRegistry = (event: Record<string, unknown>) =>
  ({ type: '@xstate.event', actorRef: registry, event }) as unknown as InspectionEvent;

function op(records: ReturnType<typeof createInspectionRecords>, n: number, finished: boolean) {
  const r = ref(`op:${String(n).padStart(32, '0')}`, registry);
  records.inspect(actor(r));
  records.inspect(snapshot(r, 'awaiting', 'xstate.init', 'active', { kind: 'copyCommand' }));
  if (finished) records.inspect(snapshot(r, 'done', 'op.reply', 'done', { kind: 'copyCommand' }));
}

describe('inspection records', () => {
  it('keep at most `limit` operations, dropping the oldest finished first, and never the client', () => {
    const records = createInspectionRecords({ limit: 3 });
    const drops: string[] = [];
    records.subscribe((c: RecordChange) => void (c.type === 'drop' && drops.push(c.id)));
    records.inspect(actor(client));
    records.inspect(actor(registry));
    op(records, 1, false);
    op(records, 2, true);
    op(records, 3, true);
    op(records, 4, false);
    expect(drops).toEqual([`op:${'2'.padStart(32, '0')}`]);
    op(records, 5, false);
    expect(drops[1]).toBe(`op:${'3'.padStart(32, '0')}`);
    op(records, 6, false); // none finished: the oldest goes
    expect(drops[2]).toBe(`op:${'1'.padStart(32, '0')}`);
    expect(
      records
        .records()
        .map((r) => r.id)
        .slice(0, 2),
    ).toEqual(['client', 'registry']);
    records.dispose();
  });

  it('record each state with its time and event, keep the first step past `stepLimit`, and count replays', () => {
    let t = 1000;
    const records = createInspectionRecords({ stepLimit: 3, now: () => t++ });
    records.inspect(actor(client));
    const r = ref(`op:${'a'.repeat(32)}`, registry);
    records.inspect(snapshot(r, 'awaiting', 'xstate.init'));
    records.inspect(snapshot(r, 'paused', 'op.pause'));
    records.inspect(snapshot(r, 'awaiting', 'op.replay', 'active', { transmissions: 2 }));
    records.inspect(snapshot(r, 'done', 'op.reply', 'done', { transmissions: 2 }));
    const rec = records.get(`op:${'a'.repeat(32)}`)!;
    expect(rec.parent).toBe('client');
    expect(rec.steps).toEqual([
      { t: 1001, state: 'awaiting', event: 'xstate.init' },
      { t: 1003, state: 'awaiting', event: 'op.replay' },
      { t: 1004, state: 'done', event: 'op.reply' },
    ]);
    expect(rec).toMatchObject({
      stepsDropped: 1,
      replays: 1,
      transmissions: 2,
      phase: 'done',
      outcome: 'done',
    });
    records.dispose();
  });

  it('count a resync after the socket to the same daemon dropped, and show its resyncing step', () => {
    const records = createInspectionRecords();
    records.inspect(actor(client));
    const r = ref(`op:${'b'.repeat(32)}`, registry);
    records.inspect(snapshot(r, 'awaiting', 'xstate.init', 'active', { transmissions: 1, resyncs: 0 }));
    records.inspect(snapshot(r, 'paused', 'op.pause', 'active', { transmissions: 1, resyncs: 0 }));
    records.inspect(snapshot(r, 'resyncing', 'op.resync.begin', 'active', { transmissions: 1, resyncs: 1 }));
    records.inspect(
      snapshot(r, 'awaiting', 'op.resync.answered', 'active', { transmissions: 2, resyncs: 1 }),
    );
    const rec = records.get(`op:${'b'.repeat(32)}`)!;
    expect(rec.steps.map((s) => s.state)).toEqual(['awaiting', 'paused', 'resyncing', 'awaiting']);
    expect(rec).toMatchObject({ resyncs: 1, replays: 0, transmissions: 2, phase: 'active' });
    records.dispose();
  });

  it('follow a local request from the registry events to its reply, or to a failure when the link drops', () => {
    const records = createInspectionRecords();
    records.inspect(actor(client));
    records.inspect(toRegistry({ type: 'registry.request', queryId: 'aa', request: { key: 'new_keypair' } }));
    records.inspect(
      toRegistry({ type: 'registry.request', queryId: 'bb', request: { key: 'encrypt_read' } }),
    );
    records.inspect(
      toRegistry({
        type: 'registry.message',
        message: { key: 'new_keypair_reply', body: { query_id: 'aa' } },
      }),
    );
    records.inspect(toRegistry({ type: 'registry.linkLost', requested: true }));
    expect(records.get('req:aa')).toMatchObject({
      kind: 'local request',
      label: 'new_keypair',
      phase: 'done',
    });
    expect(records.get('req:bb')).toMatchObject({ phase: 'failed', outcome: 'disconnected' });
    expect(buildTree(records.records(), { hideFinished: true })[0]!.children).toEqual([]);
    expect(buildTree(records.records(), { phases: ['failed'] })[0]!.children.map((n) => n.record.id)).toEqual(
      ['req:bb'],
    );
    records.dispose();
  });
});

describe('redaction for the inspector', () => {
  it('shows identifiers as hex and request frames decoded, their secrets still redacted', async () => {
    const { encodeRequest } = await import('../../../src/wire/index.js');
    const frame = encodeRequest('new_keypair', {
      query_id: new Uint8Array(16).fill(1),
      seed: new Uint8Array(32),
    } as never);
    expect(sanitize({ bytes: frame, query_id: new Uint8Array([0xab, 0xcd]) })).toEqual({
      bytes: { frame: 'new_keypair', body: { query_id: '01'.repeat(16), seed: '[redacted]' } },
      query_id: 'abcd',
    });
    expect(sanitize({ bytes: new Uint8Array([0xff, 0x00]) })).toEqual({ bytes: '[2 bytes]' });
  });
});

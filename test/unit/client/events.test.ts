import { afterEach, describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/events.js';
import { encodeCbor } from '../../../src/wire/index.js';
import { cleanup, setup } from './harness.js';

afterEach(cleanup);

describe('events()', () => {
  it('each call gets its own queue; every consumer sees every event', async () => {
    const h = await setup();
    const a = h.client.events();
    const b = h.client.events();
    h.daemon.current.sendBody(encodeCbor({ one: {} }));
    h.daemon.current.sendBody(encodeCbor({ two: {} }));
    for (const it of [a, b]) {
      expect((await it.next()).value).toEqual({ type: 'unknown', raw: { one: {} } });
      expect((await it.next()).value).toEqual({ type: 'unknown', raw: { two: {} } });
    }
  });

  it('is bounded: a consumer that falls behind loses the oldest events and is told how many', async () => {
    const h = await setup();
    const it = h.client.events({ capacity: 2 });
    const fast = h.client.events();
    for (const n of [1, 2, 3, 4, 5]) h.daemon.current.sendBody(encodeCbor({ [`e${n}`]: {} }));
    for (let i = 0; i < 5; i++) await fast.next();
    expect((await it.next()).value).toEqual({ type: 'lagged', dropped: 3 });
    expect((await it.next()).value).toEqual({ type: 'unknown', raw: { e4: {} } });
    expect((await it.next()).value).toEqual({ type: 'unknown', raw: { e5: {} } });
  });

  it('ends when the signal aborts or the loop breaks', async () => {
    const h = await setup();
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const ev of h.client.events({ signal: controller.signal })) seen.push(ev.type);
    })();
    h.daemon.current.sendBody(encodeCbor({ x: {} }));
    await new Promise((resolve) => h.client.on('unknown', resolve));
    controller.abort();
    await loop;
    expect(seen).toEqual(['unknown']);
    const it = h.client.events();
    await it.return?.();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('on() returns an unsubscribe function', async () => {
    const h = await setup();
    const seen: unknown[] = [];
    const off = h.client.on('unknown', (e) => seen.push(e.raw));
    const all: string[] = [];
    h.client.on('*', (e) => all.push(e.type));
    h.daemon.current.sendBody(encodeCbor({ a: {} }));
    await new Promise((resolve) => h.client.on('unknown', resolve));
    off();
    h.daemon.current.sendBody(encodeCbor({ b: {} }));
    await new Promise((resolve) => h.client.on('unknown', resolve));
    expect(seen).toEqual([{ a: {} }]);
    expect(all).toEqual(['unknown', 'unknown']);
  });

  it('the queue rejects a non-positive capacity', () => {
    expect(() => new EventQueue(0, () => {})).toThrow(RangeError);
  });
});

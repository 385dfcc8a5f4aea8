import { describe, expect, it } from 'vitest';
import { RealClock, sleep, VirtualClock } from '../../../src/devnet/clock.js';

describe('VirtualClock', () => {
  it('runs zero-delay timers by itself, in the order they were set', async () => {
    const clock = new VirtualClock();
    const order: number[] = [];
    clock.setTimer(0, () => order.push(1));
    clock.setTimer(0, () => order.push(2));
    await sleep(clock, 0);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([1, 2]);
    expect(clock.now()).toBe(0);
  });

  it('holds later timers until advanced, then runs them in time order at their own time', async () => {
    const clock = new VirtualClock(1000);
    const seen: [string, number][] = [];
    clock.setTimer(50, () => seen.push(['b', clock.now()]));
    clock.setTimer(10, () => seen.push(['a', clock.now()]));
    clock.setTimer(500, () => seen.push(['c', clock.now()]));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    await clock.advance(100);
    expect(seen).toEqual([
      ['a', 1010],
      ['b', 1050],
    ]);
    expect(clock.now()).toBe(1100);
    expect(clock.nextDue()).toBe(1500);
  });

  it('runs timers that timers set during an advance when they fall within it', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.setTimer(10, () => {
      seen.push(clock.now());
      clock.setTimer(10, () => seen.push(clock.now()));
    });
    await clock.advance(25);
    expect(seen).toEqual([10, 20]);
  });

  it('forgets cleared timers', async () => {
    const clock = new VirtualClock();
    let ran = false;
    const h = clock.setTimer(5, () => {
      ran = true;
    });
    clock.clearTimer(h);
    await clock.advance(10);
    expect(ran).toBe(false);
    expect(clock.pendingCount).toBe(0);
  });

  it('advanceUntil stops as soon as the condition holds', async () => {
    const clock = new VirtualClock();
    let done = false;
    clock.setTimer(30, () => {
      done = true;
    });
    expect(await clock.advanceUntil(() => done, 10, 1000)).toBe(true);
    expect(clock.now()).toBe(30);
  });
});

describe('RealClock', () => {
  it('runs zero-delay timers on the next macrotask and clearAll cancels pending ones', async () => {
    const clock = new RealClock();
    let a = false;
    let b = false;
    clock.setTimer(0, () => {
      a = true;
    });
    clock.setTimer(60_000, () => {
      b = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(a).toBe(true);
    clock.clearAll();
    expect(b).toBe(false);
  });
});

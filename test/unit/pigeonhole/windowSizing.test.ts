import { describe, expect, it } from 'vitest';
import {
  autoWindow,
  closedThroughput,
  hopCount,
  MAX_AUTO_WINDOW,
  meanAdmissionGapMs,
  resolveAutoWindow,
  roundTripMs,
  SLOT_UTILISATION,
} from '../../../src/pigeonhole/windowSizing.js';

const docker = { lambdaP: 0.001, mu: 0.005 };

describe('closedThroughput (mean-value analysis)', () => {
  it('is 1/(S + Z) for one operation', () => {
    expect(closedThroughput(1, 1000, 1800)).toBeCloseTo(1 / 2800, 12);
  });
  it('never falls as the window grows and never exceeds the server rate', () => {
    let last = 0;
    for (let w = 1; w <= 30; w++) {
      const x = closedThroughput(w, 1000, 1800);
      expect(x).toBeGreaterThanOrEqual(last);
      expect(x).toBeLessThanOrEqual(1 / 1000);
      last = x;
    }
  });
  it('matches the hand-computed value for two operations', () => {
    // n=1: R=S, X=1/(S+Z), Q=S/(S+Z); n=2: R=S(1+Q), X=2/(R+Z).
    const S = 1;
    const Z = 2;
    const q1 = S / (S + Z);
    expect(closedThroughput(2, S, Z)).toBeCloseTo(2 / (S * (1 + q1) + Z), 12);
  });
});

describe('autoWindow', () => {
  it('is 6 unpaced and 11 paced on the docker profile (LambdaP 0.001, Mu 0.005, 5 hops)', () => {
    expect(roundTripMs(docker.mu, 5)).toBe(1800);
    expect(autoWindow(docker, 5, false)).toBe(6);
    expect(autoWindow(docker, 5, true)).toBe(11);
    expect(autoWindow(docker, 5)).toBe(11);
  });
  it('is larger paced than unpaced, the gap being a second server', () => {
    expect(closedThroughput(6, [1000, 1000], 1800)).toBeLessThan(closedThroughput(6, 1000, 1800));
  });
  it('is the smallest window reaching the target share of the slot rate', () => {
    const w = autoWindow(docker, 5, false);
    expect(closedThroughput(w, 1000, 1800) * 1000).toBeGreaterThanOrEqual(SLOT_UTILISATION);
    expect(closedThroughput(w - 1, 1000, 1800) * 1000).toBeLessThan(SLOT_UTILISATION);
  });
  it('is capped at 15, below the daemon per-app queue of 16', () => {
    expect(MAX_AUTO_WINDOW).toBe(15);
    expect(autoWindow({ lambdaP: 1, mu: 0.001 }, 9)).toBe(15);
  });
  it('is 1 when the round trip is negligible next to a slot', () => {
    expect(autoWindow({ lambdaP: 0.000001, mu: 1000 }, 5, false)).toBe(1);
  });
  it('never shrinks when the round trip gets longer', () => {
    let last = 1;
    for (const mu of [0.05, 0.02, 0.01, 0.005, 0.002, 0.001]) {
      const w = autoWindow({ lambdaP: 0.001, mu }, 5, false);
      expect(w).toBeGreaterThanOrEqual(last);
      last = w;
    }
  });
  it.each([
    [{ lambdaP: 0, mu: 0.005 }, 5],
    [{ lambdaP: 0.001, mu: 0 }, 5],
    [{ lambdaP: -1, mu: 0.005 }, 5],
    [{ lambdaP: Number.NaN, mu: 0.005 }, 5],
    [{ lambdaP: 0.001, mu: 0.005 }, 0],
    [{ lambdaP: Number.MIN_VALUE, mu: 0.005 }, 5],
  ])('is 1 for unusable rates %j, %d hops', (rates, hops) => {
    expect(autoWindow(rates, hops)).toBe(1);
  });
});

describe('resolveAutoWindow and hopCount', () => {
  const doc = { ...docker, topology: [[], [], []] };
  it('keeps an explicit window', () => {
    expect(resolveAutoWindow(8, doc, { nrHops: 5 })).toBe(8);
  });
  it('is 1 without a PKI document', () => {
    expect(resolveAutoWindow(0, null, undefined)).toBe(1);
  });
  it('uses the geometry hops, else the topology layers plus gateway and service', () => {
    expect(hopCount({ nrHops: 7 }, 3)).toBe(7);
    expect(hopCount(undefined, 3)).toBe(5);
    expect(resolveAutoWindow(0, doc, undefined)).toBe(autoWindow(docker, 5));
    expect(resolveAutoWindow(0, doc, undefined, false)).toBe(autoWindow(docker, 5, false));
  });
});

describe('meanAdmissionGapMs', () => {
  it('is 1/LambdaP', () => {
    expect(meanAdmissionGapMs(0.001)).toBe(1000);
    expect(meanAdmissionGapMs(0.02)).toBe(50);
  });
  it('falls back to 1 s without a usable LambdaP', () => {
    expect(meanAdmissionGapMs(undefined)).toBe(1000);
    expect(meanAdmissionGapMs(0)).toBe(1000);
    expect(meanAdmissionGapMs(Number.MIN_VALUE)).toBe(1000);
  });
});

import { describe, expect, it } from 'vitest';
import { Rng } from '../src/util/rng.js';

describe('Rng', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const xs = Array.from({ length: 5 }, () => a.float());
    expect(Array.from({ length: 5 }, () => b.float())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.float())).not.toEqual(xs);
  });
  it('derives independent, reproducible streams', () => {
    const r = new Rng(1);
    expect(r.derive('x').float()).toBe(new Rng(1).derive('x').float());
    expect(r.derive('x').float()).not.toBe(r.derive('y').float());
  });
  it('draws integers uniformly in range', () => {
    const r = new Rng(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40000; i++) counts[r.int(4)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
  });
  it('samples without replacement', () => {
    const s = new Rng(5).sampleIndices(10, 10);
    expect([...s].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('normal has mean 0 and variance 1', () => {
    const r = new Rng(11);
    let s = 0, s2 = 0;
    const n = 50000;
    for (let i = 0; i < n; i++) { const v = r.normal(); s += v; s2 += v * v; }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
  });
});

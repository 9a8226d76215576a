import { describe, expect, it } from 'vitest';
import { averageRanks, kendallTau, spearman } from '../src/stats/correlation.js';
import { Rng } from '../src/util/rng.js';

/** O(n²) τ-b straight from the definition, as the independent reference. */
function kendallNaive(x: number[], y: number[]): number {
  let c = 0, d = 0, tx = 0, ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const sx = Math.sign(x[i] - x[j]), sy = Math.sign(y[i] - y[j]);
      if (sx === 0 && sy === 0) continue;
      if (sx === 0) tx++;
      else if (sy === 0) ty++;
      else if (sx === sy) c++;
      else d++;
    }
  }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

describe('rank correlation', () => {
  it('average ranks share ties', () => {
    expect(averageRanks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });
  it('kendall tau-b on hand-computed cases', () => {
    expect(kendallTau([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    // x=[1,2,3], y=[1,3,2]: pairs (12)+ (13)+ (23)- → (2-1)/3
    expect(kendallTau([1, 2, 3], [1, 3, 2])).toBeCloseTo(1 / 3, 12);
    // With ties: x=[1,1,2], y=[1,2,3]: pairs: (12) tie in x, (13)+, (23)+ → 2/sqrt(2*3)
    expect(kendallTau([1, 1, 2], [1, 2, 3])).toBeCloseTo(2 / Math.sqrt(6), 12);
    expect(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3]))).toBe(true);
  });
  it('kendall tau-b matches the O(n²) definition with many ties', () => {
    const r = new Rng(4);
    for (let t = 0; t < 20; t++) {
      const n = 5 + r.int(60);
      const x = Array.from({ length: n }, () => r.int(8));
      const y = Array.from({ length: n }, () => r.int(6) + 0.5 * x[0]);
      expect(kendallTau(x, y)).toBeCloseTo(kendallNaive(x, y), 12);
    }
  });
  it('spearman on hand-computed cases', () => {
    // d = rank differences [0, 1, -1, 0] → 1 - 6*2/(4*15) = 0.8
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1, 12);
    // Monotone transform leaves it unchanged.
    expect(spearman([1, 5, 2, 8], [Math.exp(1), Math.exp(5), Math.exp(2), Math.exp(8)])).toBeCloseTo(1, 12);
  });
});

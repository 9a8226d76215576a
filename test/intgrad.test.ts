import { describe, expect, it } from 'vitest';
import { binOf, countBins, intgradScores, selectBin, EMPTY_SCORE, INTGRAD_BIN_EDGES } from '../src/proxies/intgrad.js';
import { Rng } from '../src/util/rng.js';
import { zicoScore } from '../src/proxies/definitions/zico.js';
import type { LayerGradients } from '../src/proxies/gradients.js';

const layer = (name: string, block: string | null, ...batches: number[][]): LayerGradients => ({
  name, block, perBatch: batches.map((b) => Float32Array.from(b)),
});
const f = Math.fround; // gradients are float32; hand computations use the stored values

describe('intgrad bins', () => {
  it('assigns |g| to half-open bins', () => {
    expect(binOf(0)).toBe(0);
    expect(binOf(4.9e-10)).toBe(0);
    expect(binOf(5e-10)).toBe(1);
    expect(binOf(1e-3)).toBe(14);
    expect(binOf(4.99)).toBe(20);
    expect(binOf(5)).toBe(-1);
  });

  it('countBins (a table lookup) counts exactly as binOf, at and around every edge and on random values', () => {
    const bits = new Uint32Array(1), one = new Float32Array(bits.buffer);
    const around = (v: number) => {
      one[0] = v;
      const b = bits[0]!;
      return [-2, -1, 0, 1, 2].map((d) => { bits[0] = b + d; const x = one[0]!; bits[0] = b; return x; });
    };
    const values: number[] = [0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4e38];
    for (const e of INTGRAD_BIN_EDGES) values.push(...around(e), ...around(-e));
    const rng = new Rng(7);
    for (let i = 0; i < 100_000; i++) values.push((rng.float() - 0.5) * 10 ** (rng.float() * 14 - 11));
    const g = Float32Array.from(values);
    const fast = new Array(INTGRAD_BIN_EDGES.length - 1).fill(0);
    const slow = new Array(INTGRAD_BIN_EDGES.length - 1).fill(0);
    countBins(g, fast);
    for (const v of g) { const b = binOf(Math.abs(v)); if (b >= 0) slow[b]++; }
    expect(fast).toEqual(slow);
    expect(slow.filter((c) => c > 0).length).toBe(slow.length); // every bin was exercised
    // A view into a larger buffer reads only its own entries.
    const counts = new Array(INTGRAD_BIN_EDGES.length - 1).fill(0);
    countBins(Float32Array.from([0.002, 2e-9, 0.002, 7]).subarray(1, 3), counts);
    expect(counts[2]).toBe(1);
    expect(counts[14]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('sums per-cell fractions and takes the first bin on ties', () => {
    // Cell A: 8 entries, 4 in [1e-3,5e-3), 2 zeros, 2 in [1e-9,5e-9) → 0.5, 0.25, 0.25
    // Cell B: 4 entries, 2 in [1e-2,5e-2), 1 in [5e-9,1e-8), 1 in [1e-9,5e-9) → 0.5, 0.25, 0.25
    // Sums: bin 2 = 0.25 + 0.25 = 0.5 ties bin 14 = 0.5 and bin 16 = 0.5 → bin 2 (first).
    const records = [
      layer('a1', 'A', [0.002, 0.003, 0, 2e-9], [0.004, 0.001, 0, 4e-9]),
      layer('b1', 'B', [0.02, 7e-9], [0.03, 3e-9]),
    ];
    const sel = selectBin(records);
    expect(sel.index).toBe(2);
    expect([sel.lo, sel.hi]).toEqual([1e-9, 5e-9]);
    expect(sel.sums[14]).toBeCloseTo(0.5, 12);
    expect(sel.sums[16]).toBeCloseTo(0.5, 12);
  });
});

describe('intgrad fidelities on hand-computed gradients', () => {
  // Cell A gets a fifth entry at 2e-9 in both batches (m = 2e-9, s = 0) so that bin 2 wins
  // outright (A: 4/10, B: 1/4 → 0.65; b1 has m = 4e-9 inside it) and layer a1 keeps two entries.
  const a1 = layer('a1', 'A', [0.002, 0.003, 0, 2e-9, 2e-9], [0.004, 0.001, 0, 4e-9, 2e-9]);
  const b1 = layer('b1', 'B', [0.02, 6e-9], [0.03, 2e-9]);
  // Hand computation over kept entries (lo=1e-9 ≤ m ≤ hi=5e-9), s = std + 1e-5:
  const ma = (f(2e-9) + f(4e-9)) / 2, sa = Math.abs(f(4e-9) - f(2e-9)) / 2;
  const ra1 = ma / (sa + 1e-5);
  const ra2 = f(2e-9) / 1e-5;
  const mb = (f(6e-9) + f(2e-9)) / 2, sb = Math.abs(f(6e-9) - f(2e-9)) / 2;
  const rb = mb / (sb + 1e-5);

  it('intgrad_param sums and intgrad_mean averages m/s per layer, log(t+1) summed', () => {
    const s = intgradScores([a1, b1]);
    expect(s.intgrad_param).toBeCloseTo(Math.log(ra1 + ra2 + 1) + Math.log(rb + 1), 12);
    expect(s.intgrad_mean).toBeCloseTo(Math.log((ra1 + ra2) / 2 + 1) + Math.log(rb + 1), 12);
  });

  it('ignores stem/classifier records and drops all-zero layers before binning', () => {
    const stem = layer('stem', null, [1, 2, 3, 4], [1, 2, 3, 4]);
    const dead = layer('dead', 'A', new Array(100).fill(0), new Array(100).fill(0));
    expect(intgradScores([stem, a1, dead, b1])).toEqual(intgradScores([a1, b1]));
  });

  it('a layer with nothing in the selected bin contributes nothing', () => {
    // In cell A (a new cell would move the bin): A's bin 2 share drops to 4/12, still the max.
    const far = layer('far', 'A', [0.3], [0.2]); // m = 0.25: outside [1e-9, 5e-9]
    const s = intgradScores([a1, b1, far]);
    expect(s).toEqual(intgradScores([a1, b1]));
  });

  it('falls back to 1e-5 when no layer contributes', () => {
    expect(intgradScores([])).toEqual({ intgrad_param: EMPTY_SCORE, intgrad_mean: EMPTY_SCORE });
    expect(intgradScores([layer('z', 'A', [0, 0], [0, 0])]).intgrad_param).toBe(EMPTY_SCORE);
  });
});

describe('zico', () => {
  it('is Σ log Σ_{s≠0} a/s over all layers, stem included, with a = mean |g|', () => {
    const l1 = layer('x', null, [1, 5, 2], [3, 5, 4]); // a=[2,5,3], s=[1,0,1] → 2 + 3 = 5
    const l2 = layer('y', 'A', [0.5], [1.5]); // a=1, s=0.5 → 2
    expect(zicoScore([l1, l2])).toBeCloseTo(Math.log(5) + Math.log(2), 12);
    expect(zicoScore([layer('z', 'A', [1, 1], [1, 1])])).toBe(0);
  });

  it('averages magnitudes (ZiCo\'s code), not the magnitude of the mean (intgrad)', () => {
    // Entry 1, g = 1 then -3: a = mean |g| = 2, s = 2 → 1 (|mean g|/s would give 0.5).
    // Entry 2, g = 3 then 0: a = 1.5, s = 1.5 → 1. Sum 2 (with |mean g|: 1.5).
    const l = layer('x', 'A', [1, 3], [-3, 0]);
    expect(zicoScore([l])).toBeCloseTo(Math.log(2), 12);
  });
});

describe('naswot kernel', () => {
  it('counts agreements as C·Cᵀ + (1−C)·(1−C)ᵀ and takes log|det|', async () => {
    const { NaswotKernel, logAbsDet } = await import('../src/proxies/naswot.js');
    const n = 5, units = 70; // not a multiple of 32: the last word is partial
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
    const layers = [Array.from({ length: n * units }, rand), Array.from({ length: n * 3 }, rand)];
    const k = new NaswotKernel(n);
    for (const l of layers) k.addActivations(l);
    // Direct definition.
    const want = new Float64Array(n * n);
    for (const l of layers) {
      const u = l.length / n;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let agree = 0;
        for (let t = 0; t < u; t++) agree += Number((l[i * u + t] > 0) === (l[j * u + t] > 0));
        want[i * n + j] += agree;
      }
    }
    expect(Array.from(k.k)).toEqual(Array.from(want));
    // log|det| of a hand-checkable matrix: [[2,1],[1,3]] → log 5; singular → -Infinity.
    expect(logAbsDet(Float64Array.from([2, 1, 1, 3]), 2)).toBeCloseTo(Math.log(5), 12);
    expect(logAbsDet(Float64Array.from([1, 2, 2, 4]), 2)).toBe(-Infinity);
  });
});

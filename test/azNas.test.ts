import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { cellSpec, type CellSpec } from '../src/networks/index.js';
import { buildNetworkSpec } from '../src/spaces/network.js';
import { initKaimingNormal } from '../src/networks/kaimingInit.js';
import { blockForwardAt, toTensorParams } from '../src/networks/model.js';
import { azNasAggregate, rankdataAverage } from '../src/proxies/aggregate.js';
import {
  azForwardAndVjps, azNasScores, blockOutShape, crossMoment, crossMomentOf, isIdentityCell, isZeroCell, rademacher,
  trainabilityTerm,
} from '../src/proxies/azNas.js';
import { evaluateProxies } from '../src/proxies/scoreNetwork.js';
import {
  channelCovariance, featureCovariance, largestSingularValue, spectralEntropy, symmetricEigenvalues,
} from '../src/proxies/linalg.js';
import { parseProxyList, parseProxySelection, PROXIES, SET_PROXIES } from '../src/proxies/registry.js';
import { tssCellFromCode } from '../src/spaces/tss/cell.js';
import { InputError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

const ARCH = {
  0: '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
  3: '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|',
  10: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|',
  6111: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
  9930: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
} as const;

function randomArray(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Top eigenvalue by power iteration (a different algorithm from Jacobi). */
function powerTop(a: Float64Array, n: number): number {
  let v = new Float64Array(n).fill(1);
  let lambda = 0;
  for (let it = 0; it < 5000; it++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i] += a[i * n + j] * v[j];
    const norm = Math.hypot(...w);
    lambda = norm;
    v = w.map((x) => x / norm);
  }
  return lambda;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) { scale = Math.max(scale, Math.abs(b[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
  return diff / scale;
}

describe('float64 linear algebra', () => {
  it('Jacobi eigenvalues match the closed form of the [-1, 2, -1] tridiagonal matrix', () => {
    for (const n of [16, 64]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        a[i * n + i] = 2;
        if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
      }
      const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => x - y);
      const got = symmetricEigenvalues(a, n);
      for (let k = 0; k < n; k++) expect(got[k]).toBeCloseTo(expected[k], 12);
    }
  });

  it('Jacobi eigenvalues of a random PSD matrix: top one by power iteration, trace and Frobenius norm', () => {
    const n = 32, k = 40;
    const x = randomArray(n * k, 1);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) a[i * n + j] += x[i * k + t] * x[j * k + t];
    const eig = symmetricEigenvalues(a, n);
    let trace = 0, frob = 0;
    for (let i = 0; i < n; i++) { trace += a[i * n + i]; for (let j = 0; j < n; j++) frob += a[i * n + j] ** 2; }
    expect(eig.reduce((s, l) => s + l, 0)).toBeCloseTo(trace, 9);
    expect(eig.reduce((s, l) => s + l * l, 0) / frob).toBeCloseTo(1, 12);
    expect(eig[n - 1] / powerTop(a, n)).toBeCloseTo(1, 10);
  });

  it('spectral entropy of data with an exactly diagonal covariance', () => {
    // Rows ±√v_k e_k: zero mean, covariance diag(v)/C exactly, so p = v / Σv.
    const v = [4, 1, 0.25, 9, 2, 2, 0.5, 3];
    const c = v.length;
    const x = new Float32Array(2 * c * c);
    v.forEach((vk, k) => { x[(2 * k) * c + k] = Math.sqrt(vk); x[(2 * k + 1) * c + k] = -Math.sqrt(vk); });
    const total = v.reduce((s, t) => s + t, 0);
    const expected = -v.reduce((s, vk) => s + (vk / total) * Math.log(vk / total + 1e-8), 0);
    // √v in float32 squared is v only to float32 precision.
    expect(spectralEntropy(x, 2 * c, c)).toBeCloseTo(expected, 6);
    // A constant map has no spectrum: 0/0 → NaN (AZ-NAS turns it into −∞ later).
    expect(spectralEntropy(new Float32Array(4 * c), 4, c)).toBeNaN();
  });

  it('largest singular value: rank one exactly, random tall and wide by power iteration', () => {
    const u = [1, -2, 3, 0.5], w = [2, 1, -1];
    const m = new Float64Array(12);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) m[i * 3 + j] = u[i] * w[j];
    expect(largestSingularValue(m, 4, 3)).toBeCloseTo(Math.hypot(...u) * Math.hypot(...w), 12);
    expect(largestSingularValue(transpose(m, 4, 3), 3, 4)).toBeCloseTo(largestSingularValue(m, 4, 3), 12);
    const r = Float64Array.from(randomArray(24 * 10, 2));
    const gram = new Float64Array(100);
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) for (let t = 0; t < 24; t++) gram[i * 10 + j] += r[t * 10 + i] * r[t * 10 + j];
    expect(largestSingularValue(r, 24, 10) / Math.sqrt(powerTop(gram, 10))).toBeCloseTo(1, 10);
    expect(largestSingularValue(transpose(r, 24, 10), 10, 24) / largestSingularValue(r, 24, 10)).toBeCloseTo(1, 12);
  });

  it('trainability term: 0 at σ = 1, −0.5 at 2 and at ½, −999,998 at 0', () => {
    expect(trainabilityTerm(1)).toBeCloseTo(0, 5);
    expect(trainabilityTerm(2)).toBeCloseTo(-0.5, 5);
    expect(trainabilityTerm(0.5)).toBeCloseTo(-0.5, 5);
    expect(trainabilityTerm(0)).toBeCloseTo(-999_998, 6);
  });
});

function transpose(m: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
  return t;
}

const TORCH = (() => {
  try { execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }); return true; } catch { return false; }
})();

describe('against PyTorch (float64)', () => {
  it.skipIf(!TORCH)('entropy of a map\'s channel covariance and σ_max of a cross moment, as torch computes them', () => {
    const [rows, c] = [3000, 16];
    const x = randomArray(rows * c, 11).map((v, i) => v * (1 + (i % c)) + (i % 3));
    const [mr, mc] = [64, 32];
    const m = Float64Array.from(randomArray(mr * mc, 12));
    const script = [
      'import json, sys, torch',
      'd = json.load(sys.stdin)',
      'x = torch.tensor(d["x"], dtype=torch.float32).double().reshape(-1, d["c"])',
      'x = x - x.mean(0, keepdim=True)',
      'lam = torch.linalg.eigvalsh(x.T @ x / x.shape[0])',
      'p = lam / lam.sum()',
      'e = float(-(p * torch.log(p + 1e-8)).sum())',
      'm = torch.tensor(d["m"], dtype=torch.float64).reshape(d["mr"], d["mc"])',
      'print(json.dumps({"e": e, "s": float(torch.linalg.svdvals(m)[0])}))',
    ].join('\n');
    const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify({ x: Array.from(x), c, m: Array.from(m), mr, mc }), encoding: 'utf8',
    }));
    expect(spectralEntropy(x, rows, c)).toBeCloseTo(out.e, 12);
    expect(largestSingularValue(m, mr, mc)).toBeCloseTo(out.s, 12);
  });
});

describe('AZ-NAS aggregation', () => {
  it('average ranks as SciPy rankdata, −∞ and NaN tied at the bottom', () => {
    expect(rankdataAverage([3, 1, 4, 1, 5, -Infinity, -Infinity, NaN])).toEqual([6, 4.5, 7, 4.5, 8, 2, 2, 2]);
    expect(rankdataAverage([2, 2, 2])).toEqual([2, 2, 2]);
    expect(rankdataAverage([])).toEqual([]);
  });

  it('Σ ln(rank/m) over the four components, by hand', () => {
    const rows = [
      { E: 1, P: 0, T: -Infinity, C: 10 },
      { E: 2, P: 0, T: 0.5, C: 10 },
      { E: 3, P: 1, T: 0.2, C: 10 },
    ];
    // E ranks 1,2,3; P 1.5,1.5,3; T 1,3,2; C 2,2,2 (m = 3).
    const ln = (r: number) => Math.log(r / 3);
    const expected = [ln(1) + ln(1.5) + ln(1) + ln(2), ln(2) + ln(1.5) + ln(3) + ln(2), ln(3) + ln(3) + ln(2) + ln(2)];
    const got = azNasAggregate(rows);
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i], 14));
    expect(got.indexOf(Math.max(...got))).toBe(2);
  });

  it('az_nas is a set proxy over its four registered components; per-network lists refuse it with the fix', () => {
    const set = SET_PROXIES.az_nas;
    expect(set.components).toEqual(['az_expressivity', 'az_progressivity', 'az_trainability', 'az_complexity']);
    for (const c of set.components) expect(PROXIES[c].name).toBe(c);
    const rows = [
      { az_expressivity: 1, az_progressivity: 0, az_trainability: -Infinity, az_complexity: 10 },
      { az_expressivity: 2, az_progressivity: 0, az_trainability: 0.5, az_complexity: 10 },
    ];
    expect(set.aggregate(rows)).toEqual(azNasAggregate([{ E: 1, P: 0, T: -Infinity, C: 10 }, { E: 2, P: 0, T: 0.5, C: 10 }]));
    expect(() => parseProxyList('zico,az_nas')).toThrow(InputError);
    expect(() => parseProxyList('az_nas')).toThrow(/az_expressivity,az_progressivity,az_trainability,az_complexity/);
    const sel = parseProxySelection('flops,az_nas');
    expect(sel.proxies).toEqual(['flops', 'az_expressivity', 'az_progressivity', 'az_trainability', 'az_complexity']);
    expect(sel.sets.map((s) => s.name)).toEqual(['az_nas']);
  });
});

describe('degenerate TSS cells (§8)', () => {
  it('structural rules find the 400 identity and 341 zero-output cells of the doc, incl. indices 3 and 10', () => {
    let identity = 0, zero = 0;
    for (let code = 0; code < 15_625; code++) {
      const cell = cellSpec('c', tssCellFromCode(code), 16, 16, 8);
      if (isIdentityCell(cell)) identity++;
      if (isZeroCell(cell)) zero++;
    }
    expect(identity).toBe(400);
    expect(zero).toBe(341);
    const cellOf = (arch: string) => buildNetworkSpec('tss', arch, 'cifar10').blocks[0] as CellSpec;
    expect(isIdentityCell(cellOf(ARCH[3]))).toBe(true);
    expect(isZeroCell(cellOf(ARCH[10]))).toBe(true);
    expect(isIdentityCell(cellOf(ARCH[0])) || isZeroCell(cellOf(ARCH[0]))).toBe(false);
    // Two skip paths double the input: not an identity.
    expect(isIdentityCell(cellOf('|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|'))).toBe(false);
  });
});

describe('AZ-NAS on the engine', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('engine covariance and cross moments equal the plain float64 loops', () => {
    const [b, h, w, c] = [16, 8, 8, 12];
    const x = randomArray(b * h * w * c, 3).map((v, i) => v + (i % c) * 0.5); // non-zero means
    expect(maxRelDiff(featureCovariance(x, b, h, w, c), channelCovariance(x, b * h * w, c))).toBeLessThan(1e-6);
    for (const r of [1, 2]) {
      const inShape: [number, number, number, number] = [b, h * r, w * r, 6];
      const outShape: [number, number, number, number] = [b, h, w, c];
      const gi = randomArray(inShape.reduce((p, q) => p * q, 1), 4);
      const go = rademacher(outShape.reduce((p, q) => p * q, 1), 5);
      const ref = crossMoment(gi, inShape, go, outShape);
      const [ti, to] = [tf.tensor4d(gi, inShape), tf.tensor4d(go, outShape)];
      const got = crossMomentOf(ti, to);
      tf.dispose([ti, to]);
      expect([got.rows, got.cols]).toEqual([ref.rows, ref.cols]);
      expect(maxRelDiff(got.m, ref.m)).toBeLessThan(1e-6);
      // The doc's NCHW pixel-unshuffle (channel c·r² + i·r + j) orders rows differently: same σ.
      expect(largestSingularValue(docCrossMoment(gi, inShape, go, outShape), r * r * 6, c) / largestSingularValue(ref.m, ref.rows, ref.cols)).toBeCloseTo(1, 10);
    }
  });

  it('the fused backward gives each block its own VJP (per-block gradients, finite differences)', () => {
    const spec = buildNetworkSpec('tss', ARCH[9930], 'ImageNet16-120');
    const batch = 4;
    const weights = toTensorParams(initKaimingNormal(spec, 1));
    const x = tf.tensor4d(randomArray(batch * 16 * 16 * 3, 6), [batch, 16, 16, 3]);
    const gOut = spec.blocks.map((bl, i) => { const s = blockOutShape(bl, batch); return tf.tensor4d(rademacher(s.reduce((p, q) => p * q, 1), 10 + i), s); });
    const fwd = azForwardAndVjps(spec, weights, x, gOut);
    try {
      expect(fwd.maps).toHaveLength(18);
      for (const l of [0, 4, 5, 11, 16]) { // cells and both reduction blocks
        const direct = tf.tidy(() => tf.engine().gradients(() => blockForwardAt(spec, weights, l, fwd.maps[l], { skipDead: true }), [fwd.maps[l]], gOut[l]).grads[0]);
        expect(maxRelDiff(fwd.vjps[l]!.dataSync(), direct.dataSync())).toBeLessThan(1e-5);
        direct.dispose();
      }
      // ⟨VJP, v⟩ = d/dε ⟨block(f + εv), G⟩, central differences accumulated in float64.
      for (const l of [1, 5]) {
        const input = fwd.maps[l];
        const v = tf.tensor4d(randomArray(input.size, 20 + l), input.shape);
        const objective = (eps: number): number => tf.tidy(() => {
          const y = blockForwardAt(spec, weights, l, tf.add(input, tf.mul(v, eps)) as tf.Tensor4D, { skipDead: true }).dataSync();
          const g = gOut[l].dataSync();
          let s = 0;
          for (let i = 0; i < y.length; i++) s += y[i] * g[i];
          return s;
        });
        // Small: larger steps cross ReLU kinks (at 1e-2 the estimate is off by tens of %).
        const eps = 1e-4;
        const fd = (objective(eps) - objective(-eps)) / (2 * eps);
        const vj = fwd.vjps[l]!.dataSync(), vv = v.dataSync();
        let analytic = 0;
        for (let i = 0; i < vv.length; i++) analytic += vj[i] * vv[i];
        expect(Math.abs(fd - analytic) / Math.abs(analytic)).toBeLessThan(3e-2);
        v.dispose();
      }
    } finally {
      tf.dispose([x, ...gOut, ...weights.values(), ...fwd.maps, ...fwd.vjps.filter((t): t is tf.Tensor4D => t != null)]);
    }
  });

  it('an identity cell passes G_out back unchanged, bit for bit (the authors\' rule agrees with the structural one)', () => {
    const spec = buildNetworkSpec('tss', ARCH[3], 'ImageNet16-120');
    const batch = 2;
    const weights = toTensorParams(initKaimingNormal(spec, 1));
    const x = tf.tensor4d(randomArray(batch * 16 * 16 * 3, 7), [batch, 16, 16, 3]);
    const gOut = spec.blocks.map((bl, i) => { const s = blockOutShape(bl, batch); return tf.tensor4d(rademacher(s.reduce((p, q) => p * q, 1), i), s); });
    const fwd = azForwardAndVjps(spec, weights, x, gOut);
    try {
      spec.blocks.forEach((block, l) => {
        const same = Array.from(fwd.vjps[l]!.dataSync()).every((g, i) => g === gOut[l].dataSync()[i]);
        expect(same).toBe(block.kind === 'cell');
      });
    } finally {
      tf.dispose([x, ...gOut, ...weights.values(), ...fwd.maps, ...fwd.vjps.filter((t): t is tf.Tensor4D => t != null)]);
    }
  });

  it('§10 sanity values on CIFAR-10 (indices 0, 3, 10, 6111, 9930)', () => {
    // The doc's ranges come from three seeds of another implementation; one seed here may fall
    // a little outside, so each range is widened by a margin of about that seed spread.
    const within = (v: number, lo: number, hi: number, margin: number) => {
      expect(v).toBeGreaterThanOrEqual(lo - margin);
      expect(v).toBeLessThanOrEqual(hi + margin);
    };
    const s = (i: keyof typeof ARCH) => azNasScores(buildNetworkSpec('tss', ARCH[i], 'cifar10'), 0);
    const s0 = s(0);
    within(s0.expressivity, 27.7, 33.4, 0.5); within(s0.progressivity, -0.29, -0.21, 0.03); within(s0.trainability, -0.63, -0.59, 0.01);
    within(s0.entropies[0], 2.45, 2.55, 0.05); within(s0.entropies[17], 1.1, 1.6, 0.1);
    const s3 = s(3);
    within(s3.expressivity, 57.0, 57.6, 0.5); expect(s3.progressivity).toBe(0); expect(s3.trainability).toBe(-Infinity);
    const s10 = s(10);
    expect([s10.expressivity, s10.progressivity]).toEqual([-Infinity, -Infinity]);
    expect(s10.trainability).toBeCloseTo(-882_351.2, 0);
    const s6111 = s(6111);
    within(s6111.expressivity, 54.3, 56.0, 0.5); within(s6111.progressivity, -0.22, -0.10, 0.06); within(s6111.trainability, -0.080, -0.075, 0.01);
    within(s6111.entropies[17], 3.65, 3.80, 0.05);
    const s9930 = s(9930);
    within(s9930.expressivity, 55.6, 55.8, 0.5); within(s9930.progressivity, -0.16, -0.11, 0.06); within(s9930.trainability, -0.072, -0.067, 0.01);
    // The ordering the aggregate rewards: the two best cells above index 0.
    expect(s6111.trainability).toBeGreaterThan(s0.trainability);
    expect(s9930.expressivity).toBeGreaterThan(s0.expressivity);
  });

  it('deterministic bit for bit, no tensor leaked; the registry proxies give the pass\'s values', () => {
    const spec = buildNetworkSpec('tss', ARCH[0], 'ImageNet16-120');
    const a = azNasScores(spec, 5);
    // After a first run: the engine's ops cache a few constants per shape on first use.
    const before = tf.memory().numTensors;
    const b = azNasScores(spec, 5);
    expect(tf.memory().numTensors).toBe(before);
    expect(b).toEqual(a);
    expect(Object.is(a.expressivity, b.expressivity) && Object.is(a.trainability, b.trainability)).toBe(true);
    expect(azNasScores(spec, 6).expressivity).not.toBe(a.expressivity);
    const scores = evaluateProxies(spec, [], ['az_expressivity', 'az_progressivity', 'az_trainability', 'az_complexity', 'flops'], { initSeed: 5 });
    expect(scores).toEqual({
      az_expressivity: a.expressivity, az_progressivity: a.progressivity, az_trainability: a.trainability,
      az_complexity: a.complexity, flops: a.complexity,
    });
  });

  it('SSS: the stem and its 5 blocks, finite scores (a 64-channel stem map has rank 27: clamped, not NaN)', () => {
    const r = azNasScores(buildNetworkSpec('sss', '64:64:56:64:24', 'ImageNet16-120'), 0);
    expect(r.entropies[0]).toBeLessThan(Math.log(27) + 1e-9);
    expect(r.entropies).toHaveLength(6);
    expect(r.trainabilityTerms).toHaveLength(5);
    for (const v of [r.expressivity, r.progressivity, r.trainability, r.complexity]) expect(Number.isFinite(v)).toBe(true);
  });
});

/** The cross moment exactly as AZ-NAS.md §5 writes it, NCHW pixel-unshuffle, from NHWC arrays. */
function docCrossMoment(gIn: Float32Array, inShape: readonly number[], gOut: Float32Array, outShape: readonly number[]): Float64Array {
  const [b, hIn, wIn, cIn] = inShape;
  const [, h, w, cOut] = outShape;
  const r = hIn / h;
  const rows = cIn * r * r;
  const m = new Float64Array(rows * cOut);
  for (let n = 0; n < b; n++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    for (let c = 0; c < cIn; c++) for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) {
      const u = gIn[((n * hIn + y * r + i) * wIn + x * r + j) * cIn + c];
      for (let k = 0; k < cOut; k++) m[(c * r * r + i * r + j) * cOut + k] += u * gOut[((n * h + y) * w + x) * cOut + k];
    }
  }
  return m.map((v) => v / (b * h * w));
}

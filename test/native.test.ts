import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { Conv2DShape, ConvFormat, Padding, Pair, Pool2DShape } from '../src/engine/addon/binding.js';
import { K, kernels, nativeKernelsUnavailableReason } from './helpers/nativeKernels.js';
import {
  avgPoolBackwardRef,
  avgPoolRef,
  batchNormBackwardRef,
  batchNormRef,
  conv2dBackwardDataRef,
  conv2dBackwardFilterRef,
  conv2dRef,
  maxRelError,
  randomArray,
  reluBackwardRef,
  reluRef,
  type RefConv,
  type RefPool,
} from './nativeReference.js';

const TOL = 2e-5;

function pads(p: Padding | undefined): [number, number, number, number] {
  if (p === undefined) return [0, 0, 0, 0];
  if (typeof p === 'number') return [p, p, p, p];
  if ('top' in p) return [p.top, p.bottom, p.left, p.right];
  return [p[0], p[0], p[1], p[1]];
}

const pr2 = (v: Pair | undefined, d: [number, number]): [number, number] =>
  v === undefined ? d : typeof v === 'number' ? [v, v] : [v[0], v[1]];

function refConv(s: Conv2DShape): RefConv {
  const [kh, kw] = pr2(s.kernel, [1, 1]), [sh, sw] = pr2(s.stride, [1, 1]);
  const [pt, pb, pl, pr] = pads(s.pad);
  return { n: s.batch, h: s.height, w: s.width, ci: s.inChannels, co: s.outChannels, kh, kw, sh, sw, pt, pb, pl, pr };
}

function refPool(s: Pool2DShape): RefPool {
  const [kh, kw] = pr2(s.kernel, [1, 1]), [sh, sw] = pr2(s.stride, [kh, kw]);
  const [pt, pb, pl, pr] = pads(s.pad);
  return { n: s.batch, h: s.height, w: s.width, c: s.channels, kh, kw, sh, sw, pt, pb, pl, pr, excludePad: s.excludePad ?? true };
}

const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

const CONV_CASES: Array<[string, Conv2DShape]> = [
  ['3x3 s1 p1', { batch: 2, height: 6, width: 5, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, pad: 1 }],
  ['3x3 s2 p1 even', { batch: 2, height: 8, width: 8, inChannels: 3, outChannels: 5, kernel: 3, stride: 2, pad: 1 }],
  ['3x3 s2 p1 odd', { batch: 2, height: 7, width: 9, inChannels: 3, outChannels: 4, kernel: 3, stride: 2, pad: 1 }],
  ['1x1 s1 p0', { batch: 2, height: 5, width: 5, inChannels: 4, outChannels: 6, kernel: 1 }],
  ['1x1 s2 p0 odd (unused last row/col)', { batch: 1, height: 7, width: 6, inChannels: 3, outChannels: 2, kernel: 1, stride: 2 }],
  ['3x3 s2 p0 even (unused last row/col)', { batch: 1, height: 8, width: 8, inChannels: 2, outChannels: 3, kernel: 3, stride: 2 }],
  ['3x3 s1 p1 C16', { batch: 2, height: 8, width: 8, inChannels: 16, outChannels: 16, kernel: 3, stride: 1, pad: 1 }],
  ['3x3 s2 p1 C16->32 odd', { batch: 2, height: 9, width: 9, inChannels: 16, outChannels: 32, kernel: 3, stride: 2, pad: 1 }],
  ['1x1 C64', { batch: 3, height: 4, width: 4, inChannels: 64, outChannels: 64, kernel: 1 }],
  ['5x3 s(2,1) p(2,1)', { batch: 2, height: 7, width: 6, inChannels: 5, outChannels: 3, kernel: [5, 3], stride: [2, 1], pad: [2, 1] }],
  // tfjs 'same' padding with stride 2 on even sizes: nothing on top/left, 1 on bottom/right.
  ['3x3 s2 tfjs-same (0,1,0,1)', { batch: 2, height: 8, width: 6, inChannels: 4, outChannels: 3, kernel: 3, stride: 2, pad: { top: 0, bottom: 1, left: 0, right: 1 } }],
  ['3x3 s1 asymmetric (2,0,1,2)', { batch: 1, height: 5, width: 6, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, pad: { top: 2, bottom: 0, left: 1, right: 2 } }],
];

describe('native kernels: loading', () => {
  it('loads the addon (build it with `node addon/build.mjs`; needs libdnnl-dev)', () => {
    expect(kernels, String(nativeKernelsUnavailableReason())).not.toBeNull();
    expect(K().dnnlVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('sets and reports the thread count', () => {
    const k = K();
    const before = k.getThreads();
    k.setThreads(1);
    expect(k.getThreads()).toBe(1);
    k.setThreads(2);
    expect(k.getThreads()).toBe(2);
    k.setThreads(before);
    expect(() => k.setThreads(0)).toThrow(RangeError);
  });
});

describe.each<[string, ConvFormat, number]>([
  ['nhwc', 'nhwc', 1],
  ['blocked', 'blocked', 2],
  ['auto', 'auto', 2],
  ['auto, 1 thread', 'auto', 1],
])('native conv2d (format %s)', (_name, format, threads) => {
  it.each(CONV_CASES)('%s: forward, backward data, backward filter match float64 references', (_case, s) => {
    const k = K();
    const prevFormat = k.getConvFormat();
    const prevThreads = k.getThreads();
    k.setConvFormat(format);
    k.setThreads(threads);
    try {
      const r = refConv(s);
      const yShape = k.conv2dOutputShape(s);
      const x = randomArray(r.n * r.h * r.w * r.ci, 1);
      const f = randomArray(r.kh * r.kw * r.ci * r.co, 2);
      const dy = randomArray(prod(yShape), 3);
      const y = new Float32Array(prod(yShape)).fill(NaN);
      const dx = new Float32Array(x.length).fill(NaN);
      const df = new Float32Array(f.length).fill(NaN);
      // Twice: the second call uses the cached primitive (and, in auto mode, the tuned choice).
      for (let rep = 0; rep < 2; rep++) {
        k.conv2d(x, f, y, s);
        k.conv2dBackwardData(dy, f, dx, s);
        k.conv2dBackwardFilter(x, dy, df, s);
        expect(maxRelError(y, conv2dRef(x, f, r))).toBeLessThan(TOL);
        expect(maxRelError(dx, conv2dBackwardDataRef(dy, f, r))).toBeLessThan(TOL);
        expect(maxRelError(df, conv2dBackwardFilterRef(x, dy, r))).toBeLessThan(TOL);
        dx.fill(NaN); // stale values must not survive (e.g. the unused tail rows)
      }
    } finally {
      k.setConvFormat(prevFormat);
      k.setThreads(prevThreads);
    }
  });
});

describe('native batch norm', () => {
  const cases: Array<[string, [number, number, number, number], boolean]> = [
    ['affine C6', [3, 4, 5, 6], true],
    ['affine C16', [4, 3, 3, 16], true],
    ['no affine C5', [2, 5, 3, 5], false],
    ['affine C64', [8, 2, 2, 64], true],
  ];
  it.each(cases)('%s: forward statistics and backward gradients', (_name, [n, h, w, c], affine) => {
    const k = K();
    const eps = 1e-5;
    const shape = { batch: n, height: h, width: w, channels: c };
    const x = randomArray(n * h * w * c, 10).map((v, i) => v * 2 + (i % c) * 0.5); // per-channel offsets
    const gamma = affine ? randomArray(c, 11).map((v) => v + 1.5) : null;
    const beta = affine ? randomArray(c, 12) : null;
    const dy = randomArray(x.length, 13);
    const y = new Float32Array(x.length), mean = new Float32Array(c), variance = new Float32Array(c);
    k.batchNorm(x, gamma, beta, y, mean, variance, shape, eps);
    const ref = batchNormRef(x, gamma, beta, c, eps);
    expect(maxRelError(mean, ref.mean)).toBeLessThan(TOL);
    expect(maxRelError(variance, ref.variance)).toBeLessThan(TOL);
    expect(maxRelError(y, ref.y)).toBeLessThan(1e-4);

    const dx = new Float32Array(x.length), dgamma = new Float32Array(c), dbeta = new Float32Array(c);
    k.batchNormBackward(x, dy, gamma, mean, variance, dx, affine ? dgamma : null, dbeta, shape, eps);
    const g = batchNormBackwardRef(x, dy, gamma, ref.mean, ref.variance, c, eps);
    expect(maxRelError(dx, g.dx)).toBeLessThan(1e-4);
    if (affine) expect(maxRelError(dgamma, g.dgamma)).toBeLessThan(1e-4);
    expect(maxRelError(dbeta, g.dbeta)).toBeLessThan(1e-4);

    // dx only, and dbeta only (dgamma to an internal temporary).
    const dx2 = new Float32Array(x.length);
    k.batchNormBackward(x, dy, gamma, mean, variance, dx2, null, null, shape, eps);
    expect(maxRelError(dx2, g.dx)).toBeLessThan(1e-4);
    const db2 = new Float32Array(c);
    k.batchNormBackward(x, dy, gamma, mean, variance, dx2.fill(0), null, db2, shape, eps);
    expect(maxRelError(dx2, g.dx)).toBeLessThan(1e-4);
    expect(maxRelError(db2, g.dbeta)).toBeLessThan(1e-4);
  });

  it('runs in place (y = x, dx = dy)', () => {
    const k = K();
    const shape = { batch: 2, height: 3, width: 3, channels: 4 };
    const x = randomArray(72, 20), gamma = randomArray(4, 21), beta = randomArray(4, 22);
    const ref = batchNormRef(x, gamma, beta, 4, 1e-3);
    const buf = x.slice(), mean = new Float32Array(4), variance = new Float32Array(4);
    k.batchNorm(buf, gamma, beta, buf, mean, variance, shape, 1e-3);
    expect(maxRelError(buf, ref.y)).toBeLessThan(1e-4);
    const dy = randomArray(72, 23);
    const g = batchNormBackwardRef(x, dy, gamma, mean, variance, 4, 1e-3);
    const dbuf = dy.slice();
    k.batchNormBackward(x, dbuf, gamma, mean, variance, dbuf, null, null, shape, 1e-3);
    expect(maxRelError(dbuf, g.dx)).toBeLessThan(1e-4);
  });

  it('rejects dgamma without gamma', () => {
    const k = K();
    const shape = { batch: 1, height: 2, width: 2, channels: 2 };
    const a = new Float32Array(8), v = new Float32Array(2);
    expect(() =>
      k.batchNormBackward(a, a.slice(), null, v, v.slice(), new Float32Array(8), new Float32Array(2), null, shape, 1e-5),
    ).toThrow(/dgamma requires gamma/);
  });
});

describe('native relu', () => {
  it('forward and backward match the reference, including exact zeros and in place', () => {
    const k = K();
    const x = randomArray(1003, 30);
    x[0] = 0;
    x[5] = -0;
    const dy = randomArray(1003, 31);
    const y = new Float32Array(x.length);
    k.relu(x, y);
    expect(maxRelError(y, reluRef(x))).toBe(0);
    const dx = new Float32Array(x.length);
    k.reluBackward(x, dy, dx);
    expect(maxRelError(dx, reluBackwardRef(x, dy))).toBe(0);
    expect(dx[0]).toBe(0); // gradient at 0 is 0, as PyTorch and tfjs
    const inPlace = x.slice();
    k.relu(inPlace, inPlace);
    expect(Array.from(inPlace)).toEqual(Array.from(y));
    const dInPlace = dy.slice();
    k.reluBackward(x, dInPlace, dInPlace);
    expect(Array.from(dInPlace)).toEqual(Array.from(dx));
  });

  it('propagates NaN forward (as PyTorch and tfjs) and handles lengths above the threading threshold', () => {
    const k = K();
    const x = randomArray(200_003, 32);
    x[7] = NaN;
    const y = new Float32Array(x.length);
    k.relu(x, y);
    expect(Number.isNaN(y[7])).toBe(true);
    y[7] = 0;
    x[7] = 0;
    expect(maxRelError(y, reluRef(x))).toBe(0);
  });
});

describe('native addN', () => {
  it('sums 2, 3 and 4 inputs left to right with float32 rounding, below and above the threading threshold', () => {
    const k = K();
    for (const len of [1003, 200_003]) {
      const xs = [50, 51, 52, 53].map((seed) => randomArray(len, seed).map((v, i) => v * (i % 7 === 0 ? 1e4 : 1)));
      for (const n of [2, 3, 4]) {
        const y = new Float32Array(len).fill(NaN);
        k.addN(y, xs.slice(0, n));
        const expected = Float32Array.from({ length: len }, (_, i) => xs.slice(1, n).reduce((acc, x) => Math.fround(acc + x[i]!), xs[0]![i]!));
        expect(Buffer.from(y.buffer).equals(Buffer.from(expected.buffer)), `${n} inputs, length ${len}`).toBe(true);
      }
    }
  });

  it('rejects too few inputs, wrong lengths and an output overlapping an input', () => {
    const k = K();
    const a = new Float32Array(8), b = new Float32Array(8);
    expect(() => k.addN(new Float32Array(8), [a])).toThrow(/2 to 15 inputs/);
    expect(() => k.addN(new Float32Array(8), [a, new Float32Array(7)])).toThrow(RangeError);
    expect(() => k.addN(a, [a, b])).toThrow(/overlaps/);
  });
});

describe('native average pooling', () => {
  const cases: Array<[string, Pool2DShape]> = [
    ['3x3 s1 p1 exclude-pad', { batch: 2, height: 5, width: 6, channels: 3, kernel: 3, stride: 1, pad: 1 }],
    ['3x3 s1 p1 exclude-pad C16', { batch: 2, height: 8, width: 8, channels: 16, kernel: 3, stride: 1, pad: 1 }],
    // The separable path's borders: one row, one column, two rows.
    ['3x3 s1 p1 exclude-pad 1x1', { batch: 3, height: 1, width: 1, channels: 5, kernel: 3, stride: 1, pad: 1 }],
    ['3x3 s1 p1 exclude-pad 2x3', { batch: 2, height: 2, width: 3, channels: 17, kernel: 3, stride: 1, pad: 1 }],
    ['3x3 s1 p1 exclude-pad 3x1', { batch: 2, height: 3, width: 1, channels: 4, kernel: 3, stride: 1, pad: 1 }],
    ['3x3 s1 p1 include-pad', { batch: 1, height: 4, width: 5, channels: 2, kernel: 3, stride: 1, pad: 1, excludePad: false }],
    ['2x2 s2 even', { batch: 2, height: 8, width: 8, channels: 4, kernel: 2, stride: 2 }],
    ['2x2 s2 odd', { batch: 1, height: 5, width: 7, channels: 3, kernel: 2, stride: 2 }],
    ['2x2 s2 even C64', { batch: 2, height: 8, width: 8, channels: 64, kernel: 2 }],
    ['3x3 s2 tfjs-same odd (1,1,1,1)', { batch: 1, height: 7, width: 7, channels: 3, kernel: 3, stride: 2, pad: 1 }],
    ['3x3 s2 asymmetric (0,1,1,0)', { batch: 2, height: 6, width: 5, channels: 2, kernel: 3, stride: 2, pad: { top: 0, bottom: 1, left: 1, right: 0 } }],
  ];
  it.each(cases)('%s: forward and backward match the reference', (_name, s) => {
    const k = K();
    const r = refPool(s);
    const oShape = k.pool2dOutputShape(s);
    const x = randomArray(r.n * r.h * r.w * r.c, 40);
    const dy = randomArray(prod(oShape), 41);
    const y = new Float32Array(prod(oShape)).fill(NaN);
    const dx = new Float32Array(x.length).fill(NaN);
    k.avgPool(x, y, s);
    k.avgPoolBackward(dy, dx, s);
    expect(maxRelError(y, avgPoolRef(x, r))).toBeLessThan(TOL);
    expect(maxRelError(dx, avgPoolBackwardRef(dy, r))).toBeLessThan(TOL);
  });

  it('3x3 exclude-pad divides by 4 at corners, 6 at edges, 9 inside (forward and backward)', () => {
    const k = K();
    const s: Pool2DShape = { batch: 1, height: 4, width: 4, channels: 1, kernel: 3, stride: 1, pad: 1 };
    const x = new Float32Array(16).fill(1);
    // impulse at the corner: the windows containing it are (0,0) [4 valid], (0,1),(1,0) [6], (1,1) [9]
    const impulse = new Float32Array(16);
    impulse[0] = 36;
    const y = new Float32Array(16);
    k.avgPool(impulse, y, s);
    expect(y[0]).toBeCloseTo(9, 5);
    expect(y[1]).toBeCloseTo(6, 5);
    expect(y[4]).toBeCloseTo(6, 5);
    expect(y[5]).toBeCloseTo(4, 5);
    k.avgPool(x, y, s);
    expect(Array.from(y)).toEqual(Array.from({ length: 16 }, () => 1)); // not 4/9, 6/9
    // backward of dy = e_corner spreads 1/4 over the corner window.
    const dy = new Float32Array(16);
    dy[0] = 1;
    const dx = new Float32Array(16);
    k.avgPoolBackward(dy, dx, s);
    expect(dx[0]).toBeCloseTo(0.25, 6);
    expect(dx[1]).toBeCloseTo(0.25, 6);
    expect(dx[5]).toBeCloseTo(0.25, 6);
    expect(dx[2]).toBe(0);
    // dy = e_edge (0,1): 6 inputs get 1/6.
    dy.fill(0);
    dy[1] = 1;
    k.avgPoolBackward(dy, dx, s);
    expect(dx[0]).toBeCloseTo(1 / 6, 6);
    expect(dx[6]).toBeCloseTo(1 / 6, 6);
    expect(dx[3]).toBe(0);
  });
});

// The project's tsconfig has no DOM/WebAssembly lib; type just what we use.
const wasm = (globalThis as unknown as {
  WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
}).WebAssembly;

/** Float32Array views at odd element offsets in one shared heap, with NaN guards around each. */
function heapViews(buffer: ArrayBufferLike, lengths: number[]) {
  const all = new Float32Array(buffer);
  all.fill(NaN);
  let off = 3; // byteOffset 12: not 16/32/64-byte aligned
  const views = lengths.map((len) => {
    const v = all.subarray(off, off + len);
    off += len + 5;
    return v;
  });
  if (off > all.length) throw new Error('heap too small');
  return { all, views, used: off };
}

function guardsIntact(all: Float32Array, views: Float32Array[]) {
  const inside = new Uint8Array(all.length);
  for (const v of views) inside.fill(1, v.byteOffset / 4, v.byteOffset / 4 + v.length);
  let count = 0;
  for (let i = 0; i < 4096 && i < all.length; i++) if (!inside[i] && !Number.isNaN(all[i])) count++;
  return count === 0;
}

describe('native kernels on views with byteOffset (wasm heap style)', () => {
  for (const [kind, makeBuffer] of [
    ['WebAssembly.Memory', () => new wasm.Memory({ initial: 1 }).buffer],
    ['SharedArrayBuffer', () => new SharedArrayBuffer(65536)],
  ] as Array<[string, () => ArrayBufferLike]>) {
    it(`reads and writes subarray views of a ${kind} and touches nothing else`, () => {
      const k = K();
      const s: Conv2DShape = { batch: 2, height: 7, width: 7, inChannels: 3, outChannels: 4, kernel: 3, stride: 2, pad: 1 };
      const r = refConv(s);
      const yLen = prod(k.conv2dOutputShape(s));
      const xLen = 2 * 7 * 7 * 3, fLen = 9 * 12;
      const { all, views } = heapViews(makeBuffer(), [xLen, fLen, yLen, yLen, xLen, fLen, xLen, xLen, 3, 3, 3, 3]);
      const [x, f, y, dy, dx, df, px, pdx, mean, variance, gamma, dgamma] = views;
      x.set(randomArray(xLen, 50));
      f.set(randomArray(fLen, 51));
      dy.set(randomArray(yLen, 52));
      gamma.set([1, 2, 0.5]);
      expect(x.byteOffset % 64).not.toBe(0);

      k.conv2d(x, f, y, s);
      k.conv2dBackwardData(dy, f, dx, s);
      k.conv2dBackwardFilter(x, dy, df, s);
      expect(maxRelError(y, conv2dRef(x, f, r))).toBeLessThan(TOL);
      expect(maxRelError(dx, conv2dBackwardDataRef(dy, f, r))).toBeLessThan(TOL);
      expect(maxRelError(df, conv2dBackwardFilterRef(x, dy, r))).toBeLessThan(TOL);

      const ps: Pool2DShape = { batch: 2, height: 7, width: 7, channels: 3, kernel: 3, stride: 1, pad: 1 };
      k.avgPool(x, px, ps);
      k.avgPoolBackward(x, pdx, ps);
      expect(maxRelError(px, avgPoolRef(x, refPool(ps)))).toBeLessThan(TOL);
      expect(maxRelError(pdx, avgPoolBackwardRef(x, refPool(ps)))).toBeLessThan(TOL);

      const bs = { batch: 2, height: 7, width: 7, channels: 3 };
      k.batchNorm(x, gamma, null, px, mean, variance, bs, 1e-5);
      const ref = batchNormRef(x, gamma, null, 3, 1e-5);
      expect(maxRelError(px, ref.y)).toBeLessThan(1e-4);
      expect(maxRelError(variance, ref.variance)).toBeLessThan(TOL);
      k.batchNormBackward(x, pdx, gamma, mean, variance, px, dgamma, null, bs, 1e-5);
      const g = batchNormBackwardRef(x, pdx, gamma, mean, variance, 3, 1e-5);
      expect(maxRelError(px, g.dx)).toBeLessThan(1e-4);
      expect(maxRelError(dgamma, g.dgamma)).toBeLessThan(1e-4);

      k.relu(x, pdx);
      expect(maxRelError(pdx, reluRef(x))).toBe(0);
      k.reluBackward(x, dx, pdx);
      expect(maxRelError(pdx, reluBackwardRef(x, dx))).toBe(0);

      expect(guardsIntact(all, views)).toBe(true);
    });
  }
});

describe('native kernels: argument checking and caching', () => {
  const s: Conv2DShape = { batch: 1, height: 4, width: 4, inChannels: 2, outChannels: 3, kernel: 3, pad: 1 };

  it('rejects wrong lengths, wrong types, and overlapping outputs', () => {
    const k = K();
    const x = new Float32Array(32), f = new Float32Array(54), y = new Float32Array(48);
    expect(() => k.conv2d(x, f, new Float32Array(47), s)).toThrow(RangeError);
    expect(() => k.conv2d(x, f, new Float32Array(49), s)).toThrow(/expected 48/);
    expect(() => k.conv2d(new Float64Array(32) as unknown as Float32Array, f, y, s)).toThrow(TypeError);
    expect(() => k.conv2d([] as unknown as Float32Array, f, y, s)).toThrow(TypeError);
    const heap = new Float32Array(100);
    expect(() => k.conv2d(heap.subarray(0, 32), f, heap.subarray(20, 68), s)).toThrow(/overlaps/);
    expect(() => k.conv2d(x, f, y, { ...s, pad: 3 })).toThrow(RangeError);
    expect(() => k.conv2d(x, f, y, { ...s, batch: 1.5 })).toThrow(RangeError);
    expect(() => k.relu(x, new Float32Array(31))).toThrow(RangeError);
    expect(() => k.setConvFormat('fast' as ConvFormat)).toThrow(RangeError);
    // Groups must divide both channel counts; a grouped filter is [kh,kw,Ci/g,Co].
    expect(() => k.conv2d(x, f, y, { ...s, groups: 2 })).toThrow(/groups must divide/);
    const xg = new Float32Array(4 * 4 * 4), fg = new Float32Array(3 * 3 * 2 * 6), yg = new Float32Array(4 * 4 * 6);
    expect(() => k.conv2d(xg, fg, yg, { ...s, inChannels: 4, outChannels: 6, groups: 2 })).not.toThrow();
    expect(() => k.conv2d(xg, new Float32Array(3 * 3 * 4 * 6), yg, { ...s, inChannels: 4, outChannels: 6, groups: 2 })).toThrow(/expected 108/);
    expect(() => (k.raw.conv2d as (...args: unknown[]) => void)(x, f, y, 1, 4, 4, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 9)).toThrow(/expected 16 or 17 arguments/);
  });

  it('a grouped convolution is each group convolved alone (forward, dX, dW)', () => {
    const k = K();
    const [n, h, ci, co, g, kk] = [3, 6, 6, 4, 2, 3];
    const cig = ci / g, cog = co / g;
    const gs: Conv2DShape = { batch: n, height: h, width: h, inChannels: ci, outChannels: co, kernel: kk, stride: 2, pad: 1, groups: g };
    const [, oh, ow] = k.conv2dOutputShape(gs);
    const x = randomArray(n * h * h * ci, 80), f = randomArray(kk * kk * cig * co, 81), dy = randomArray(n * oh * ow * co, 82);
    const y = new Float32Array(n * oh * ow * co), dx = new Float32Array(x.length), df = new Float32Array(f.length);
    k.conv2d(x, f, y, gs);
    k.conv2dBackwardData(dy, f, dx, gs);
    k.conv2dBackwardFilter(x, dy, df, gs);
    // Channel slices [j·c/g, (j+1)·c/g) of an NHWC tensor with c channels.
    const slice = (a: Float32Array, c: number, per: number, j: number) => Float32Array.from({ length: (a.length / c) * per }, (_, i) => a[Math.floor(i / per) * c + j * per + (i % per)]);
    for (let j = 0; j < g; j++) {
      const one: Conv2DShape = { ...gs, inChannels: cig, outChannels: cog, groups: 1 };
      const xj = slice(x, ci, cig, j), fj = slice(f, co, cog, j), dyj = slice(dy, co, cog, j);
      const yj = new Float32Array(n * oh * ow * cog), dxj = new Float32Array(xj.length), dfj = new Float32Array(fj.length);
      k.conv2d(xj, fj, yj, one);
      k.conv2dBackwardData(dyj, fj, dxj, one);
      k.conv2dBackwardFilter(xj, dyj, dfj, one);
      expect(maxRelError(slice(y, co, cog, j), Float64Array.from(yj))).toBeLessThan(1e-6);
      expect(maxRelError(slice(dx, ci, cig, j), Float64Array.from(dxj))).toBeLessThan(1e-6);
      expect(maxRelError(slice(df, co, cog, j), Float64Array.from(dfj))).toBeLessThan(1e-6);
    }
  });

  it('reuses cached primitives for repeated shapes', () => {
    const k = K();
    const x = randomArray(32, 60), f = randomArray(54, 61), y = new Float32Array(48);
    k.conv2d(x, f, y, s);
    const n = k.cacheSize();
    for (let i = 0; i < 5; i++) k.conv2d(x, f, y, s);
    expect(k.cacheSize()).toBe(n);
    expect(k.describeCache()).toMatch(/conv0\/m\d\/g1:4,4,2,3,3,3,1,1,1,1,1,1,n=1 /);
    k.clearCache();
    expect(k.cacheSize()).toBe(0);
    k.conv2d(x, f, y, s);
    expect(maxRelError(y, conv2dRef(x, f, refConv(s)))).toBeLessThan(TOL);
  });

  it('works from a worker_thread (context-aware addon, per-thread cache)', async () => {
    const k = K();
    const x = randomArray(32, 70), f = randomArray(54, 71);
    const y = new Float32Array(48);
    k.conv2d(x, f, y, s);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData.path);
      m.setThreads(1);
      const y = new Float32Array(48);
      m.conv2d(workerData.x, workerData.f, y, 1, 4, 4, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1);
      parentPort.postMessage({ y, threads: m.getThreads() });
    `;
    const worker = new Worker(code, { eval: true, workerData: { path: k.addonPath, x, f } });
    const msg = await new Promise<{ y: Float32Array; threads: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(msg.threads).toBe(1);
    expect(Array.from(msg.y)).toEqual(Array.from(y));
  });
});

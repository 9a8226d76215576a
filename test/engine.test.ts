/**
 * Engine ops against an independent float64 reference (test/engineReference.ts).
 *
 * Two checks per op: (1) the reference's analytic gradients against float64 central finite
 * differences (normwise relative error < 1e-6: h = 1e-6 gives O(h²) truncation and ~1e-10/h
 * rounding error); (2) the tfjs forward output and gradients against the reference, both fed the
 * same float32-representable inputs, with normwise relative error (max |a−b| / max |b|) below
 * 1e-4. float32 has a unit roundoff of 6e-8; sums of 10–1000 products, BN's division by a
 * standard deviation and the chain of layers in the network grow that to 1e-6–1e-5, so 1e-4
 * leaves a margin without hiding real mistakes (a wrong border divisor or padding side gives
 * errors of 1e-1 to 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { tryLoadNativeKernels } from '../src/engine/addon/binding.js';
import { engineKey, initEngine, requestedBackend } from '../src/engine/backend.js';
import {
  add, addN, avgPool2x2, avgPool3x3ExcludePad, batchNormTrain, conv2d, globalAvgPool, linear, poolCounts, relu,
  softmaxCrossEntropyMean,
} from '../src/engine/ops.js';
import * as R from './engineReference.js';
import { all, checkLayer as checkLayerWith, FD_TOL, log, rnd, sample, TOL, toTf } from './helpers/layerCheck.js';

// The engine's own checks use the shared harness with 400 finite-difference entries per input.
const checkLayer = (inputs: R.T64[], ref: (vs: R.V[]) => R.V, mine: (ts: tf.Tensor[]) => tf.Tensor, seed: number, fdEntries = 400) =>
  checkLayerWith(inputs, ref, mine, seed, fdEntries);

describe('engine selection', () => {
  it('MFNAS_ENGINE overrides the requested backend; invalid values are rejected', () => {
    const saved = process.env.MFNAS_ENGINE;
    try {
      delete process.env.MFNAS_ENGINE;
      expect(requestedBackend()).toBe('auto');
      expect(requestedBackend({ backend: 'cpu' })).toBe('cpu');
      process.env.MFNAS_ENGINE = 'WASM';
      expect(requestedBackend({ backend: 'cpu' })).toBe('wasm');
      process.env.MFNAS_ENGINE = 'gpu';
      expect(() => requestedBackend()).toThrow(/MFNAS_ENGINE/);
    } finally {
      if (saved === undefined) delete process.env.MFNAS_ENGINE;
      else process.env.MFNAS_ENGINE = saved;
    }
  });

  it.skipIf(Boolean(process.env.MFNAS_ENGINE))('auto = native when the addon loads, else wasm (tfjs-node is not installed), with SIMD and the mfnas kernels', async () => {
    const info = await initEngine();
    expect(info.backend).toBe(tryLoadNativeKernels().kernels ? 'native' : 'wasm');
    expect(info.simd).toBe(true);
    expect(await initEngine()).toBe(info); // idempotent
    if (info.backend === 'native') {
      expect(info.native?.threads).toBe(1);
      expect(info.customKernels).toContain('Conv2DBackpropFilter (oneDNN)');
      // The key names oneDNN's version and the instruction set its kernels were chosen for.
      const { kernels } = tryLoadNativeKernels();
      expect(kernels!.cpuIsa).toMatch(/^(sse41|avx|avx2|avx2_vnni|avx512_\w+|isa\d+)$/);
      expect(engineKey('native')).toBe(`native:4:tfjs-${tf.version_core}:onednn-${kernels!.dnnlVersion}:${kernels!.cpuIsa}`);
    }
    if (info.backend === 'wasm') {
      expect(info.simd).toBe(true);
      expect(info.threads).toBe(false);
      expect(info.customKernels.sort()).toEqual(['Cast', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Identity']);
      expect(await initEngine()).toBe(info); // idempotent
    }
  });

  it('the wasm Identity kernel shares data instead of copying', async () => {
    await initEngine({ backend: 'wasm' });
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
  });
});

// The native engine (oneDNN kernels under tfjs-wasm) too, where the addon is built.
const BACKENDS = (process.env.MFNAS_TEST_BACKENDS ?? `wasm,cpu${tryLoadNativeKernels().kernels ? ',native' : ''}`)
  .split(',') as Array<'wasm' | 'cpu' | 'native'>;

describe.each(BACKENDS)('engine ops on %s', (backend) => {
  beforeAll(async () => {
    const info = await initEngine({ backend });
    expect(info.backend).toBe(backend);
    expect(tf.getBackend()).toBe(backend === 'native' ? 'wasm' : backend);
  });

  const convCases: Array<[string, number, number, number, number, number, number]> = [
    // name, H, Ci, Co, k, stride, pad
    ['1x1 stride 1', 6, 3, 4, 1, 1, 0],
    ['3x3 stride 1 pad 1', 6, 3, 4, 3, 1, 1],
    ['3x3 stride 1 pad 1, odd size', 7, 3, 4, 3, 1, 1],
    ['3x3 stride 2 pad 1, even size', 8, 3, 4, 3, 2, 1],
    ['3x3 stride 2 pad 1, odd size', 7, 3, 4, 3, 2, 1],
    ['1x1 stride 2 (crop paths), even size', 6, 3, 4, 1, 2, 0],
    ['1x1 stride 2 (crop paths), odd size', 7, 3, 4, 1, 2, 0],
  ];
  it.each(convCases)('conv2d %s', (_name, H, Ci, Co, k, stride, pad) => {
    const x = rnd([2, H, H, Ci], 1);
    const w = rnd([k, k, Ci, Co], 2);
    checkLayer(
      [x, w],
      ([a, b]) => R.conv2d(a, b, stride, pad),
      ([a, b]) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad),
      3,
    );
  });

  it.each([
    ['3x3 stride 1, 16 -> 16', 8, 16, 16, 1],
    ['3x3 stride 2, 16 -> 32', 8, 16, 32, 2],
  ] as Array<[string, number, number, number, number]>)('conv2d at realistic channel counts: %s', (_n, H, Ci, Co, stride) => {
    checkLayer(
      [rnd([3, H, H, Ci], 5), rnd([3, 3, Ci, Co], 6, -0.1, 0.1)],
      ([a, b]) => R.conv2d(a, b, stride, 1),
      ([a, b]) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 1),
      7,
      40,
    );
  });

  it('conv2d 3x3 stride 2 pads like PyTorch (1 before, not tfjs-same 0 before)', () => {
    // With H = 4, output row 0 must see input rows -1..1 (zero, 0, 1).
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const y = conv2d(x, w, 2, 1);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(y.dataSync())).toEqual([4, 6, 6, 9]);
    tf.dispose([x, w, y]);
  });

  it('avg_pool_3x3 divides by 4 at corners, 6 at edges, 9 inside', () => {
    expect(Array.from(poolCounts(3, 4))).toEqual([4, 6, 6, 4, 6, 9, 9, 6, 4, 6, 6, 4]);
    const x = rnd([1, 5, 5, 1], 11);
    const y = tf.tidy(() => avgPool3x3ExcludePad(toTf(x) as tf.Tensor4D).dataSync());
    const X = (h: number, w: number) => x.data[h * 5 + w];
    const corner = (X(0, 0) + X(0, 1) + X(1, 0) + X(1, 1)) / 4;
    let edge = 0;
    for (let h = 0; h <= 1; h++) for (let w = 1; w <= 3; w++) edge += X(h, w);
    edge /= 6;
    let inner = 0;
    for (let h = 1; h <= 3; h++) for (let w = 1; w <= 3; w++) inner += X(h, w);
    inner /= 9;
    expect(y[0]).toBeCloseTo(corner, 6);
    expect(y[2]).toBeCloseTo(edge, 6);
    expect(y[12]).toBeCloseTo(inner, 6);
  });

  it.each([[6], [5]])('avg_pool_3x3 (exclude pad) forward and backward, %i x %i', (H) => {
    checkLayer(
      [rnd([2, H, H, 3], 21)],
      ([a]) => R.avgPool3x3(a),
      ([a]) => avgPool3x3ExcludePad(a as tf.Tensor4D),
      22,
    );
  });

  it('stock tf.avgPool gradient is wrong for exclude-pad pooling (why ours exists)', () => {
    const x = rnd([1, 5, 5, 2], 31);
    const leaves = [R.leaf(x)];
    const out = R.avgPool3x3(leaves[0]);
    const cot = rnd(out.shape, 32);
    R.backprop(R.dot(out, cot));
    const err = tf.tidy(() => {
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, 3, 1, 'same'), toTf(cot))))(toTf(x));
      return R.relErr(g.dataSync(), leaves[0].grad);
    });
    expect(err).toBeGreaterThan(0.05);
  });

  it.each([[6], [7]])('avgPool2x2 forward and backward, %i x %i', (H) => {
    checkLayer([rnd([2, H, H, 3], 41)], ([a]) => R.avgPool2x2(a), ([a]) => avgPool2x2(a as tf.Tensor4D), 42);
  });

  it('globalAvgPool forward and backward', () => {
    checkLayer([rnd([3, 4, 5, 6], 51)], ([a]) => R.globalAvgPool(a), ([a]) => globalAvgPool(a as tf.Tensor4D), 52);
  });

  it('batchNormTrain forward and backward (x, γ, β), off-centre input', () => {
    checkLayer(
      [rnd([3, 4, 4, 5], 61, 2, 5), rnd([5], 62, 0.5, 1.5), rnd([5], 63)],
      ([x, g, b]) => R.batchNorm(x, g, b),
      ([x, g, b]) => batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D),
      64,
    );
  });

  it('batchNormTrain at a larger size (long float32 reductions), mean 3 std 0.5', () => {
    checkLayer(
      [rnd([16, 16, 16, 8], 65, 2.1, 3.9), rnd([8], 66, 0.5, 1.5), rnd([8], 67)],
      ([x, g, b]) => R.batchNorm(x, g, b),
      ([x, g, b]) => batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D),
      68,
      30,
    );
  });

  it('batchNormTrain uses batch statistics with the biased variance', () => {
    const y = tf.tidy(() => {
      const x = tf.tensor4d([1, 2, 3, 6], [4, 1, 1, 1]);
      return Array.from(batchNormTrain(x, tf.ones([1]) as tf.Tensor1D, tf.zeros([1]) as tf.Tensor1D, 0).dataSync());
    });
    // mean 3, biased variance (4+1+0+9)/4 = 3.5
    const s = Math.sqrt(3.5);
    expect(y[0]).toBeCloseTo(-2 / s, 5);
    expect(y[3]).toBeCloseTo(3 / s, 5);
  });

  it('addN forward and backward (a node of three edges)', () => {
    checkLayer(
      [rnd([2, 3, 3, 4], 61), rnd([2, 3, 3, 4], 62), rnd([2, 3, 3, 4], 63)],
      (vs) => R.add(...vs),
      (ts) => addN(ts),
      64,
    );
  });

  it('addN gives the bits of a chain of adds, left to right', () => {
    // Large enough for the native kernel's threaded path.
    const [a, b, c, d] = [65, 66, 67, 68].map((seed) => toTf(rnd([2, 64, 32, 16], seed, -1e3, 1e3)));
    tf.tidy(() => {
      const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer);
      expect(bits(addN([a!, b!, c!])).equals(bits(add(add(a!, b!), c!)))).toBe(true);
      expect(bits(addN([a!, b!, c!, d!])).equals(bits(add(add(add(a!, b!), c!), d!)))).toBe(true);
      expect(bits(addN([a!, b!]))).toEqual(bits(add(a!, b!)));
      expect(addN([a!])).toBe(a);
    });
    tf.dispose([a!, b!, c!, d!]);
  });

  it('relu forward and backward', () => {
    checkLayer([rnd([2, 3, 3, 4], 71)], ([a]) => R.relu(a), ([a]) => relu(a), 72);
  });

  it('linear forward and backward', () => {
    checkLayer(
      [rnd([4, 6], 81), rnd([6, 5], 82), rnd([5], 83)],
      ([x, w, b]) => R.linear(x, w, b),
      ([x, w, b]) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      84,
    );
  });

  it('softmaxCrossEntropyMean forward and backward', () => {
    const labels = Int32Array.from([0, 3, 4, 1]);
    const z = rnd([4, 5], 91, -3, 3);
    const zl = R.leaf(z);
    const loss = R.crossEntropyMean(zl, labels);
    R.backprop(loss);
    const fd = R.finiteDiff(() => R.crossEntropyMean(zl, labels).value.data[0], zl, all(20));
    expect(R.relErr(zl.grad, fd)).toBeLessThan(FD_TOL);
    tf.tidy(() => {
      const zt = toTf(z) as tf.Tensor2D;
      const { value, grad } = tf.valueAndGrad((a: tf.Tensor2D) => softmaxCrossEntropyMean(a, labels))(zt);
      expect(Math.abs(value.dataSync()[0] - loss.value.data[0]) / loss.value.data[0]).toBeLessThan(TOL);
      expect(R.relErr(grad.dataSync(), zl.grad)).toBeLessThan(TOL);
    });
    expect(() => softmaxCrossEntropyMean(tf.zeros([2, 3]) as tf.Tensor2D, Int32Array.from([0, 3]))).toThrow(/label 3/);
  });

  it('does not leak tensors through forward + backward', () => {
    const x = toTf(rnd([2, 6, 6, 4], 101)) as tf.Tensor4D;
    const w = toTf(rnd([3, 3, 4, 4], 102)) as tf.Tensor4D;
    const g = tf.ones([4]) as tf.Tensor1D;
    const b = tf.zeros([4]) as tf.Tensor1D;
    const step = () =>
      tf.tidy(() => {
        const r = tf.grads((ww: tf.Tensor, gg: tf.Tensor) =>
          tf.sum(avgPool3x3ExcludePad(batchNormTrain(conv2d(relu(x), ww as tf.Tensor4D, 2, 1), gg as tf.Tensor1D, b))),
        )([w, g]);
        return r.map((t) => t.dataSync());
      });
    step();
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const dataIds = tf.engine().backend.numDataIds(); // buffers the backend holds (kernel temps)
    step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, w, g, b]);
  });

  it('end to end: tiny network loss and all weight gradients match the float64 reference', () => {
    // stem conv3x3 → BN → cell {n1 = BN(conv3x3(relu n0)); n2 = pool(n0) + n1;
    // n3 = n0 + BN(conv1x1(relu n1)) + pool(n2)} → reduction {a = BN(conv3x3/2(relu n3));
    // b = BN(conv3x3(relu a)); out = conv1x1(avgpool2x2(n3)) + b} → BN → ReLU → GAP → linear → CE
    const N = 4, H = 8, C = 4, C2 = 8, K = 5;
    const labels = Int32Array.from([1, 0, 4, 2]);
    const shapes: Record<string, number[]> = {
      stem: [3, 3, 3, C], g0: [C], b0: [C],
      c1: [3, 3, C, C], g1: [C], b1: [C],
      c2: [1, 1, C, C], g2: [C], b2: [C],
      ca: [3, 3, C, C2], ga: [C2], ba: [C2],
      cb: [3, 3, C2, C2], gb: [C2], bb: [C2],
      sc: [1, 1, C, C2],
      gl: [C2], bl: [C2],
      fw: [C2, K], fb: [K],
    };
    const names = Object.keys(shapes);
    const params: Record<string, R.T64> = {};
    names.forEach((n, i) => {
      const s = shapes[n];
      if (n.startsWith('g')) params[n] = rnd(s, 200 + i, 0.5, 1.5);
      else if (n.startsWith('b')) params[n] = rnd(s, 200 + i, -0.2, 0.2);
      else {
        const fanIn = s.length === 4 ? s[0] * s[1] * s[2] : s[0];
        const bound = 1 / Math.sqrt(fanIn);
        params[n] = rnd(s, 200 + i, -bound, bound);
      }
    });
    const input = rnd([N, H, H, 3], 300, -2, 2);

    interface Ops<T> {
      conv(x: T, w: T, s: number, p: number): T; bn(x: T, g: T, b: T): T; relu(x: T): T;
      pool(x: T): T; pool2(x: T): T; gap(x: T): T; lin(x: T, w: T, b: T): T; add(...xs: T[]): T; ce(z: T): T;
    }
    function net<T>(o: Ops<T>, x: T, p: Record<string, T>): T {
      const n0 = o.bn(o.conv(x, p.stem, 1, 1), p.g0, p.b0);
      const n1 = o.bn(o.conv(o.relu(n0), p.c1, 1, 1), p.g1, p.b1);
      const n2 = o.add(o.pool(n0), n1);
      const n3 = o.add(n0, o.bn(o.conv(o.relu(n1), p.c2, 1, 0), p.g2, p.b2), o.pool(n2));
      const a = o.bn(o.conv(o.relu(n3), p.ca, 2, 1), p.ga, p.ba);
      const b = o.bn(o.conv(o.relu(a), p.cb, 1, 1), p.gb, p.bb);
      const r = o.add(o.conv(o.pool2(n3), p.sc, 1, 0), b);
      const h = o.relu(o.bn(r, p.gl, p.bl));
      return o.ce(o.lin(o.gap(h), p.fw, p.fb));
    }
    const refOps: Ops<R.V> = {
      conv: R.conv2d, bn: (x, g, b) => R.batchNorm(x, g, b), relu: R.relu, pool: R.avgPool3x3,
      pool2: R.avgPool2x2, gap: R.globalAvgPool, lin: R.linear, add: R.add, ce: (z) => R.crossEntropyMean(z, labels),
    };
    const tfOps: Ops<tf.Tensor> = {
      conv: (x, w, s, p) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, p),
      bn: (x, g, b) => batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D),
      relu: (x) => relu(x), pool: (x) => avgPool3x3ExcludePad(x as tf.Tensor4D), pool2: (x) => avgPool2x2(x as tf.Tensor4D),
      gap: (x) => globalAvgPool(x as tf.Tensor4D), lin: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      add: (...xs) => xs.reduce((a, b) => tf.add(a, b)), ce: (z) => softmaxCrossEntropyMean(z as tf.Tensor2D, labels),
    };

    const leaves: Record<string, R.V> = {};
    for (const n of names) leaves[n] = R.leaf(params[n]);
    const xLeaf = R.leaf(input);
    const loss = net(refOps, xLeaf, leaves);
    R.backprop(loss);

    // Some gradients are structurally zero: β of a BN whose output only reaches another BN
    // through a sum (bb here; in NAS-Bench-201 every cell BN's β before the next block's BN)
    // shifts a channel by a constant that the next BN removes. Their computed values are pure
    // rounding noise (float32: ~1e-9), so errors are measured relative to
    // max(max |reference|, 1e-3 · largest gradient entry of the network).
    const gMax = Math.max(...names.map((n) => Math.max(...Array.from(leaves[n].grad, Math.abs))));
    const err = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let num = 0, den = 1e-3 * gMax;
      for (let i = 0; i < a.length; i++) {
        num = Math.max(num, Math.abs(a[i] - b[i]));
        den = Math.max(den, Math.abs(b[i]));
      }
      return num / den;
    };

    // Reference vs finite differences on a few entries of every parameter.
    const f = () => net(refOps, xLeaf, leaves).value.data[0];
    for (const n of names) {
      const which = sample(params[n].data.length, 6);
      const fd = R.finiteDiff(f, leaves[n], which);
      expect(err(which.map((i) => leaves[n].grad[i]), fd), n).toBeLessThan(1e-5);
    }

    tf.tidy(() => {
      const x = toTf(input);
      const ts = names.map((n) => toTf(params[n]));
      const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
        const p: Record<string, tf.Tensor> = {};
        names.forEach((n, i) => (p[n] = xs[i]));
        return net(tfOps, x, p) as tf.Scalar;
      })(ts);
      const l = value.dataSync()[0];
      const el = Math.abs(l - loss.value.data[0]) / Math.abs(loss.value.data[0]);
      log(`  ${tf.getBackend()} e2e loss ${l} vs ${loss.value.data[0]}: ${el.toExponential(1)}`);
      expect(el).toBeLessThan(TOL);
      names.forEach((n, i) => {
        const e = err(grads[i].dataSync(), leaves[n].grad);
        log(`  ${tf.getBackend()} e2e grad ${n}: ${e.toExponential(1)}`);
        expect(e, n).toBeLessThan(TOL);
      });
    });
  });
});

afterAll(() => {
  tf.disposeVariables();
});

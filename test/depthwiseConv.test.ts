/**
 * Depthwise (groups = channels) and grouped convolution against the float64 reference
 * (test/engineReference.ts), on every engine that runs on TensorFlow.js here: cpu, wasm and,
 * where the addon is built, native (oneDNN's depthwise kernels, forward and both gradients). Same checks and tolerances as test/engine.test.ts: the reference's analytic
 * gradients against finite differences (< 1e-6), then the tfjs forward, dX and dW against the
 * reference (normwise relative error < 1e-4); and the same input twice gives the same bits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { tryLoadNativeKernels } from '../src/engine/addon/binding.js';
import { initEngine } from '../src/engine/backend.js';
import { mfnasKernelBackends } from '../src/engine/kernels/index.js';
import { conv2d, depthwiseConv2d, groupedConv2d } from '../src/engine/ops.js';
import * as R from './engineReference.js';
import { checkLayer as checkLayerWith, rnd, toTf } from './helpers/layerCheck.js';

const checkLayer = (inputs: R.T64[], ref: (vs: R.V[]) => R.V, mine: (ts: tf.Tensor[]) => tf.Tensor, seed: number, fdEntries = 200) =>
  checkLayerWith(inputs, ref, mine, seed, fdEntries);

/** Output, dX and dW of `f(x, w)` under a fixed cotangent, as raw bits. */
function bits(f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, x: R.T64, w: R.T64, seed: number): Uint32Array[] {
  let out: Uint32Array[] = [];
  tf.tidy(() => {
    const xt = toTf(x) as tf.Tensor4D, wt = toTf(w) as tf.Tensor4D;
    const y = f(xt, wt);
    const r = toTf(rnd(y.shape, seed));
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), r)))([xt, wt]);
    out = [y, dx!, dw!].map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
  });
  return out;
}

const BACKENDS = (process.env.MFNAS_TEST_BACKENDS ?? `cpu,wasm${tryLoadNativeKernels().kernels ? ',native' : ''}`)
  .split(',') as Array<'wasm' | 'cpu' | 'native'>;

afterAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe.each(BACKENDS)('depthwise and grouped convolution on %s', (backend) => {
  beforeAll(async () => {
    const info = await initEngine({ backend });
    expect(info.backend).toBe(backend);
  });

  it('runs the native depthwise kernel on native, the generic one elsewhere', () => {
    expect(mfnasKernelBackends().DepthwiseConv2dTorchPad).toBe(backend === 'native' ? 'native' : '*');
  });

  // name, H, W, C, k, stride (pad = (k-1)/2), batch 2
  const dwCases: Array<[string, number, number, number, number, number]> = [
    ['3x3 stride 1, even size', 8, 8, 5, 3, 1],
    ['3x3 stride 1, odd size', 7, 7, 5, 3, 1],
    ['3x3 stride 2, even size', 8, 8, 5, 3, 2],
    ['3x3 stride 2, odd size', 7, 7, 5, 3, 2],
    ['5x5 stride 1, even size', 8, 8, 4, 5, 1],
    ['5x5 stride 1, odd size', 9, 9, 4, 5, 1],
    ['5x5 stride 2, even size', 8, 8, 4, 5, 2],
    ['5x5 stride 2, odd size', 9, 9, 4, 5, 2],
    ['3x3 stride 2, H ≠ W', 7, 6, 3, 3, 2],
    ['5x5 stride 2, H ≠ W', 6, 9, 3, 5, 2],
  ];
  it.each(dwCases)('depthwiseConv2d %s', (_name, H, W, C, k, stride) => {
    const pad = (k - 1) / 2;
    checkLayer(
      [rnd([2, H, W, C], 1), rnd([k, k, C, 1], 2)],
      // The reference's depthwise filter is [k,k,1,C]: same memory order as [k,k,C,1].
      ([a, b]) => R.groupedConv2d(a, R.leafView(b, [k, k, 1, C]), stride, pad, C),
      ([a, b]) => depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad),
      3,
    );
  });

  it.each([
    ['3x3 stride 1, 32 channels', 3, 1],
    ['5x5 stride 2, 32 channels', 5, 2],
  ] as Array<[string, number, number]>)('depthwiseConv2d at a realistic size: %s', (_n, k, stride) => {
    const C = 32, H = 12;
    checkLayer(
      [rnd([2, H, H, C], 5), rnd([k, k, C, 1], 6, -0.3, 0.3)],
      ([a, b]) => R.groupedConv2d(a, R.leafView(b, [k, k, 1, C]), stride, (k - 1) / 2, C),
      ([a, b]) => depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, (k - 1) / 2),
      7,
      40,
    );
  });

  it('depthwiseConv2d pad 0 and pad larger than (k-1)/2 (crop and extra-padding paths)', () => {
    for (const [k, stride, pad] of [[3, 1, 0], [3, 2, 0], [3, 2, 2], [1, 2, 0]] as const) {
      checkLayer(
        [rnd([2, 7, 8, 3], 11), rnd([k, k, 3, 1], 12)],
        ([a, b]) => R.groupedConv2d(a, R.leafView(b, [k, k, 1, 3]), stride, pad, 3),
        ([a, b]) => depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad),
        13,
        60,
      );
    }
  });

  // name, H, Ci, Co, groups, k, stride
  const groupCases: Array<[string, number, number, number, number, number, number]> = [
    ['2 groups, 6 -> 4, 3x3 stride 1', 7, 6, 4, 2, 3, 1],
    ['3 groups, 6 -> 9, 3x3 stride 2', 8, 6, 9, 3, 3, 2],
    ['2 groups, 4 -> 8, 5x5 stride 2', 9, 4, 8, 2, 5, 2],
    ['groups = channels via groupedConv2d, 4 -> 4, 3x3 stride 2', 7, 4, 4, 4, 3, 2],
    ['groups = channels with a multiplier (split path), 3 -> 6', 6, 3, 6, 3, 3, 1],
  ];
  it.each(groupCases)('groupedConv2d %s', (_name, H, Ci, Co, g, k, stride) => {
    const pad = (k - 1) / 2;
    checkLayer(
      [rnd([2, H, H, Ci], 21), rnd([k, k, Ci / g, Co], 22)],
      ([a, b]) => R.groupedConv2d(a, b, stride, pad, g),
      ([a, b]) => groupedConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad, g),
      23,
      60,
    );
  });

  it('groupedConv2d with 1 group is conv2d, bit for bit', () => {
    const x = rnd([2, 6, 6, 4], 31), w = rnd([3, 3, 4, 5], 32);
    expect(bits((a, b) => groupedConv2d(a, b, 2, 1, 1), x, w, 33)).toEqual(bits((a, b) => conv2d(a, b, 2, 1), x, w, 33));
  });

  it('the same input gives the same bits (forward, dX, dW), run after run', () => {
    const x = rnd([2, 9, 9, 16], 41), w = rnd([5, 5, 16, 1], 42);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => depthwiseConv2d(a, b, 2, 2);
    const first = bits(f, x, w, 43);
    for (let i = 0; i < 3; i++) expect(bits(f, x, w, 43)).toEqual(first);
    const xg = rnd([2, 8, 8, 6], 44), wg = rnd([3, 3, 2, 6], 45);
    const fg = (a: tf.Tensor4D, b: tf.Tensor4D) => groupedConv2d(a, b, 1, 1, 3);
    expect(bits(fg, xg, wg, 46)).toEqual(bits(fg, xg, wg, 46));
  });

  it('refuses filters and settings that do not fit', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    expect(() => depthwiseConv2d(x, tf.zeros([3, 3, 4, 1]) as tf.Tensor4D, 1, 1)).toThrow(/does not fit 3 channels/);
    expect(() => depthwiseConv2d(x, tf.zeros([3, 3, 3, 2]) as tf.Tensor4D, 1, 1)).toThrow(/does not fit/);
    expect(() => depthwiseConv2d(x, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D, 0, 1)).toThrow(/stride/);
    expect(() => depthwiseConv2d(x, tf.zeros([7, 7, 3, 1]) as tf.Tensor4D, 1, 0)).toThrow(/no output/);
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 1, 4]) as tf.Tensor4D, 1, 1, 2)).toThrow(/do not divide/);
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 2, 3]) as tf.Tensor4D, 1, 1, 3)).toThrow(/input channels per group/);
  });
});

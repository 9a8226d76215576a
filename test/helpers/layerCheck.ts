/**
 * The gradient check of an engine op against the float64 reference (test/engineReference.ts),
 * shared by the op tests: (1) the reference's analytic gradients against float64 central finite
 * differences (normwise relative error < FD_TOL); (2) the tfjs forward output and every input
 * gradient against the reference, both fed the same float32-representable inputs (normwise
 * relative error < TOL). test/engine.test.ts explains the tolerances.
 */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as R from '../engineReference.js';

export const TOL = 1e-4;
export const FD_TOL = 1e-6;
/** MFNAS_TEST_VERBOSE=1 prints the measured errors. */
const VERBOSE = Boolean(process.env.MFNAS_TEST_VERBOSE);
export const log = (...a: unknown[]): void => {
  if (VERBOSE) console.log(...a);
};

/** Random float64 tensor whose values are exactly representable in float32. */
export function rnd(shape: number[], seed: number, lo = -1, hi = 1): R.T64 {
  const t = R.randomT64(shape, seed, lo, hi);
  t.data = t.data.map(Math.fround);
  return t;
}

export function toTf(t: R.T64): tf.Tensor {
  return tf.tensor(Float32Array.from(t.data), t.shape, 'float32');
}

export function all(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A spread of up to k entry indices of a tensor of n entries (always includes 0 and n-1). */
export function sample(n: number, k: number): number[] {
  if (n <= k) return all(n);
  const s = new Set<number>([0, n - 1]);
  for (let i = 1; s.size < k; i++) s.add(Math.floor((i * 7919) % n));
  return [...s];
}

/**
 * Gradient check of a layer: `ref` builds the reference output from leaves, `mine` the tfjs one.
 * Compares forward, all input gradients (tfjs vs reference), and reference vs finite differences
 * on `fdEntries` entries of each input.
 */
export function checkLayer(
  inputs: R.T64[],
  ref: (vs: R.V[]) => R.V,
  mine: (ts: tf.Tensor[]) => tf.Tensor,
  seed: number,
  fdEntries: number,
): void {
  const leaves = inputs.map(R.leaf);
  const out = ref(leaves);
  const cot = rnd(out.shape, seed + 1000);
  R.backprop(R.dot(out, cot));

  // (1) reference analytic gradient vs finite differences
  const f = () => R.dot(ref(leaves), cot).value.data[0];
  leaves.forEach((p, i) => {
    const which = sample(p.value.data.length, fdEntries);
    const e = R.relErr(which.map((j) => p.grad[j]), R.finiteDiff(f, p, which));
    log(`  ref vs finite differences, input ${i}: ${e.toExponential(1)}`);
    expect(e).toBeLessThan(FD_TOL);
  });

  // (2) tfjs vs reference
  tf.tidy(() => {
    const ts = inputs.map(toTf);
    const y = mine(ts);
    expect(y.shape).toEqual(out.shape);
    const ef = R.relErr(y.dataSync(), out.value.data);
    log(`  ${tf.getBackend()} forward vs ref: ${ef.toExponential(1)}`);
    expect(ef).toBeLessThan(TOL);
    const r = toTf(cot);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(mine(xs), r)))(ts);
    grads.forEach((g, i) => {
      expect(g.shape).toEqual(inputs[i].shape);
      const eg = R.relErr(g.dataSync(), leaves[i].grad);
      log(`  ${tf.getBackend()} grad ${i} vs ref: ${eg.toExponential(1)}`);
      expect(eg).toBeLessThan(TOL);
    });
  });
}

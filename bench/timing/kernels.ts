/**
 * Kernel timing (not a test): `npx tsx bench/timing/kernels.ts [reps] [--cpu]`.
 * Times 3x3 conv forward, dX and dW on the wasm backend with mfnas's kernels against the stock
 * ones (the stock wasm backend has no Conv2DBackpropFilter: dW is compared with the cpu
 * backend's), plus the pooling / BN ops. Medians of `reps` runs after a warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/backend.js';
import { registerCustomKernels, restoreStockKernels } from '../../src/engine/wasm/tfjsKernels.js';
import { avgPool3x3ExcludePad, batchNormTrain, relu } from '../../src/engine/ops.js';

type Pad = 'same' | 'valid' | number | number[][];

function dX(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: number[], stride: number, pad: Pad): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
    inputShape, strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function dW(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number, pad: Pad): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    filterShape, strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(f: () => tf.Tensor | tf.Tensor[], reps: number): number {
  const run = () => {
    const t0 = performance.now();
    const out = f();
    const outs = Array.isArray(out) ? out : [out];
    // The wasm and cpu backends run kernels synchronously: no read-back needed (a dataSync
    // would add a ~5 ms copy of the result out of the wasm heap).
    if (tf.getBackend() !== 'wasm' && tf.getBackend() !== 'cpu') for (const o of outs) o.dataSync();
    const dt = performance.now() - t0;
    tf.dispose(outs);
    return dt;
  };
  run();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) ts.push(run());
  return median(ts);
}

function fmt(ms: number, flop?: number): string {
  const s = `${ms.toFixed(1).padStart(8)} ms`;
  return flop ? `${s} (${(flop / ms / 1e6).toFixed(1).padStart(5)} GFLOP/s)` : s;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const withCpu = args.includes('--cpu'); // the cpu backend's dW takes ~40 s per call
  const reps = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
  const info = await initEngine({ backend: 'wasm' });
  console.log(`engine: ${JSON.stringify(info)}`);
  const cases: Array<[[number, number, number, number], number, number]> = [
    [[64, 32, 32, 16], 16, 1],
    [[64, 8, 8, 64], 64, 1],
    [[64, 32, 32, 16], 32, 2],
  ];
  for (const [xs, co, stride] of cases) {
    const ci = xs[3];
    const x = tf.randomNormal(xs) as tf.Tensor4D;
    const wt = tf.randomNormal([3, 3, ci, co]) as tf.Tensor4D;
    const pad: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
    const y = tf.conv2d(x, wt, stride, pad as never);
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const flop = 2 * y.size * 9 * ci;
    const label = `conv3x3 [${xs}] -> ${co}, stride ${stride}`;
    console.log(`\n${label}: ${(flop / 1e9).toFixed(3)} GFLOP per pass`);
    console.log(`  forward (wasm XNNPACK)            ${fmt(time(() => tf.conv2d(x, wt, stride, pad as never), reps), flop)}`);
    registerCustomKernels('wasm');
    const dxOurs = time(() => dX(dy, wt, xs, stride, pad), reps);
    const dwOurs = time(() => dW(x, dy, [3, 3, ci, co], stride, pad), reps);
    console.log(`  dX mfnas (forward conv)           ${fmt(dxOurs, flop)}`);
    restoreStockKernels('wasm');
    const dxStock = time(() => dX(dy, wt, xs, stride, pad), Math.min(reps, 3));
    console.log(`  dX stock wasm                     ${fmt(dxStock, flop)}  -> ${(dxStock / dxOurs).toFixed(1)}x`);
    registerCustomKernels('wasm');
    console.log(`  dW mfnas (forward conv)           ${fmt(dwOurs, flop)}`);
    if (withCpu) {
      await tf.setBackend('cpu');
      (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      const xc = tf.tensor(x.dataSync(), x.shape) as tf.Tensor4D;
      const dyc = tf.tensor(dy.dataSync(), dy.shape) as tf.Tensor4D;
      const dwCpu = time(() => dW(xc, dyc, [3, 3, ci, co], stride, pad), 1);
      console.log(`  dW stock cpu (wasm has none)      ${fmt(dwCpu, flop)}  -> ${(dwCpu / dwOurs).toFixed(1)}x`);
      tf.dispose([xc, dyc]);
      await tf.setBackend('wasm');
    }
    tf.dispose([x, wt, y, dy]);
  }

  console.log('\nother ops at [64,32,32,16]:');
  const x = tf.randomNormal([64, 32, 32, 16]) as tf.Tensor4D;
  const g = tf.ones([16]) as tf.Tensor1D;
  const b = tf.zeros([16]) as tf.Tensor1D;
  const r = tf.randomNormal(x.shape);
  // vector-Jacobian product with a given cotangent r: forward + backward of f alone
  const gradOf = (f: (a: tf.Tensor4D) => tf.Tensor) => () =>
    tf.tidy(() => tf.grad((a: tf.Tensor) => f(a as tf.Tensor4D))(x, r));
  console.log(`  avg_pool_3x3 forward              ${fmt(time(() => avgPool3x3ExcludePad(x), reps))}`);
  console.log(`  avg_pool_3x3 fwd+bwd (mfnas)      ${fmt(time(gradOf(avgPool3x3ExcludePad), reps))}`);
  console.log(`  tf.avgPool fwd+bwd (stock, wrong) ${fmt(time(gradOf((a) => tf.avgPool(a, 3, 1, 'same')), reps))}`);
  console.log(`  batchNormTrain forward            ${fmt(time(() => batchNormTrain(x, g, b), reps))}`);
  console.log(`  batchNormTrain fwd+bwd            ${fmt(time(gradOf((a) => batchNormTrain(a, g, b)), reps))}`);
  const tfBn = (a: tf.Tensor4D) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.batchNorm(a, mean, variance, b, g, 1e-5);
  };
  console.log(`  BN from tf ops (moments+batchNorm) ${fmt(time(gradOf(tfBn), reps))}`);
  console.log(`  relu fwd+bwd (mfnas)              ${fmt(time(gradOf((a) => relu(a)), reps))}`);
  console.log(`  tf.relu fwd+bwd (stock grad)      ${fmt(time(gradOf((a) => tf.relu(a)), reps))}`);
  restoreStockKernels('wasm');
  console.log(`  clone, stock Identity (copies)    ${fmt(time(() => tf.clone(x), reps))}`);
  registerCustomKernels('wasm');
  console.log(`  clone, mfnas Identity (shares)    ${fmt(time(() => tf.clone(x), reps))}`);
  tf.dispose([x, g, b, r]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { buildNetworkSpec, initNetwork, gradientParamNames } from '../src/networks/index.js';
import { lossAndGrads, toTensorParams } from '../src/networks/model.js';
import { Rng } from '../src/util/rng.js';
const arch = process.argv[2] ?? '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const space = arch.includes(':') ? 'sss' : 'tss';
const B = Number(process.argv[3] ?? 16);
const res: Record<string, any> = {};
for (const engine of ['wasm', 'native'] as const) {
  const info = await initEngine({ backend: engine });
  const spec = buildNetworkSpec(space, arch, 'cifar10');
  const p = toTensorParams(initNetwork(spec, 0));
  const rng = new Rng(1);
  const x = tf.tensor4d(Float32Array.from({ length: B * 32 * 32 * 3 }, () => rng.normal()), [B, 32, 32, 3]);
  const labels = Int32Array.from({ length: B }, () => rng.int(10));
  const names = gradientParamNames(spec);
  const t0 = performance.now();
  const r = lossAndGrads(spec, p, x, labels, names, { skipDead: true });
  const t1 = performance.now();
  lossAndGrads(spec, p, x, labels, names, { skipDead: true });
  console.log(engine, info.customKernels.length, 'loss', r.loss, 'time', ((t1 - t0) / 1000).toFixed(2), ((performance.now() - t1) / 1000).toFixed(2));
  res[engine] = r;
}
let worst = 0, worstName = '';
for (const [n, g] of res.wasm.grads) {
  const h = res.native.grads.get(n);
  let maxAbs = 0, maxDiff = 0;
  for (let i = 0; i < g.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(g[i])); maxDiff = Math.max(maxDiff, Math.abs(g[i] - h[i])); }
  const rel = maxAbs > 0 ? maxDiff / maxAbs : maxDiff;
  if (rel > worst) { worst = rel; worstName = n; }
}
console.log('loss diff', Math.abs(res.wasm.loss - res.native.loss), 'worst grad rel', worst, worstName);
for (const [n, g] of res.wasm.grads) {
  const h = res.native.grads.get(n);
  let maxAbs = 0, maxDiff = 0;
  for (let i = 0; i < g.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(g[i])); maxDiff = Math.max(maxDiff, Math.abs(g[i] - h[i])); }
  if (maxDiff / maxAbs > 1e-4) console.log(n, (maxDiff / maxAbs).toExponential(2), maxAbs.toExponential(2));
}

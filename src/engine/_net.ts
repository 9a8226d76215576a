import * as tf from '@tensorflow/tfjs';
import { initEngine } from './backend.js';
import { buildNetworkSpec, initNetwork, gradientParamNames } from '../networks/index.js';
import { toTensorParams, lossAndGrads } from '../networks/model.js';
import { registerCustomKernels, restoreStockKernels } from './kernels/index.js';
await initEngine({ backend: 'wasm' });
const B = Number(process.argv[2] ?? 64);
const archs: Record<string, string> = {
  typical: '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  allconv: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
};
const x = tf.randomNormal([B, 32, 32, 3]) as tf.Tensor4D;
const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
for (const [name, arch] of Object.entries(archs)) {
  const spec = buildNetworkSpec('tss', arch, 'cifar10');
  const p = toTensorParams(initNetwork(spec, 0));
  const names = [...p.keys()];
  const ts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    lossAndGrads(spec, p, x, labels, gradientParamNames(spec));
    ts.push(performance.now() - t0);
  }
  const mem = tf.memory() as tf.MemoryInfo & { numBytesInWasmHeap?: number };
  console.log(name, `B${B}`, ts.map((t) => (t / 1000).toFixed(2)).join(' '), 's; tensors', mem.numTensors);
  if (name === 'typical' && process.argv.includes('--profile')) {
    const prof = await tf.profile(() => { lossAndGrads(spec, p, x, labels, gradientParamNames(spec)); return tf.scalar(0); });
    const agg = new Map<string, number>();
    for (const k of prof.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('\n'));
    console.log('peak bytes', prof.peakBytes);
  }
  tf.dispose([...p.values()]);
}

/**
 * npm run bench:grad — one forward + backward (loss and every conv/linear weight gradient) of
 * the "typical" and "all-conv" TSS networks of ENGINE-NOTES.md on CIFAR-10-shaped input, at
 * batch 64 and 128, for mfnas and — in the same run, when /usr/bin/python3 has torch — PyTorch
 * on the same architecture, batch and thread count. Medians of 3 after a warm-up.
 *
 * Flags: --batches 64,128  --archs typical,all-conv  --threads 1  --repeats 3
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initEngine, activeBackend } from '../src/engine/backend.js';
import { initNetwork } from '../src/networks/init.js';
import { lossAndGrads, toTensorParams } from '../src/networks/model.js';
import { buildNetworkSpec, gradientParamNames } from '../src/networks/index.js';
import { Rng } from '../src/util/rng.js';
import { ALL_CONV, TYPICAL, printTable, timeIt, torchAvailable, torchGradSeconds } from './common.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '64,128' },
    archs: { type: 'string', default: 'typical,all-conv' },
    threads: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '3' },
  },
});
const ARCHS: Record<string, string> = { typical: TYPICAL, 'all-conv': ALL_CONV };
const batches = values.batches!.split(',').map(Number);
const archs = values.archs!.split(',');
const threads = Number(values.threads);
const repeats = Number(values.repeats);

await initEngine();
const withTorch = torchAvailable();
console.log(`mfnas engine: ${activeBackend()} (1 thread per network); PyTorch: ${withTorch ? `${threads} thread(s)` : 'not available (apt-get install python3-torch)'}`);

const rows: Array<Array<string | number>> = [];
for (const name of archs) {
  const spec = buildNetworkSpec('tss', ARCHS[name], 'cifar10');
  const params = toTensorParams(initNetwork(spec, 0));
  const wanted = gradientParamNames(spec);
  for (const batch of batches) {
    const rng = new Rng(1);
    const x = tf.tensor4d(Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.normal()), [batch, 32, 32, 3]);
    const labels = Int32Array.from({ length: batch }, () => rng.int(10));
    const ours = await timeIt(() => lossAndGrads(spec, params, x, labels, wanted, { skipDead: true }), repeats);
    x.dispose();
    const torch = withTorch ? torchGradSeconds(ARCHS[name], batch, threads, repeats) : NaN;
    rows.push([name, batch, ours, withTorch ? torch : '-', withTorch ? ours / torch : '-']);
    console.error(`  ${name} B${batch}: mfnas ${ours.toFixed(2)} s${withTorch ? `, PyTorch ${torch.toFixed(2)} s` : ''}`);
  }
  tf.dispose([...params.values()]);
}
printTable(['network', 'batch', 'mfnas s', 'PyTorch s', 'ratio mfnas/PyTorch'], rows);

/**
 * npm run bench:grad — one forward + backward (loss and every conv/linear weight gradient) of
 * the "typical" and "all-conv" TSS networks of ENGINE-NOTES.md and of NAS-Bench-Macro's best
 * network 22212220 ("macro-best": depthwise inverted residuals) on CIFAR-10-shaped input, at
 * batch 64 and 128, for each mfnas engine and — in the same run, when /usr/bin/python3 has
 * torch — PyTorch 1.13 on the same architecture, batch and thread count. Medians of 3 after a
 * warm-up; ratios are mfnas / PyTorch (below 1 = mfnas faster).
 *
 * Flags: --batches 64,128  --archs typical,all-conv,macro-best  --engines wasm,native  --threads 1,2
 *        --repeats 3   (wasm is single-threaded: it runs only at 1 thread)
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initEngine } from '../../src/engine/backend.js';
import { tryLoadNativeKernels } from '../../src/engine/addon/binding.js';
import { initNetwork } from '../../src/networks/init.js';
import { lossAndGrads, toTensorParams } from '../../src/networks/model.js';
import { gradientParamNames } from '../../src/networks/index.js';
import { buildNetworkSpec } from '../../src/spaces/network.js';
import { Rng } from '../../src/util/rng.js';
import { ALL_CONV, TYPICAL, printTable, timeIt, torchAvailable, torchGradSeconds } from '../common.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '64,128' },
    archs: { type: 'string', default: 'typical,all-conv,macro-best' },
    engines: { type: 'string', default: 'wasm,native' },
    threads: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '3' },
  },
});
const ARCHS: Record<string, { space: 'tss' | 'macro'; arch: string }> = {
  typical: { space: 'tss', arch: TYPICAL },
  'all-conv': { space: 'tss', arch: ALL_CONV },
  'macro-best': { space: 'macro', arch: '22212220' },
};
for (const a of values.archs!.split(',')) if (!ARCHS[a]) throw new Error(`--archs: unknown network ${a} (known: ${Object.keys(ARCHS).join(', ')})`);
const batches = values.batches!.split(',').map(Number);
const archs = values.archs!.split(',');
const threadCounts = values.threads!.split(',').map(Number);
const repeats = Number(values.repeats);
const native = tryLoadNativeKernels();
const engines = values.engines!.split(',').filter((e) => e !== 'native' || native.kernels);
if (!native.kernels) console.log(`native engine not measured: ${native.reason}`);
const withTorch = torchAvailable();
if (!withTorch) console.log('PyTorch not measured: /usr/bin/python3 has no torch (apt-get install python3-torch)');

async function oursSeconds(engine: string, threads: number, { space, arch }: { space: 'tss' | 'macro'; arch: string }, batch: number): Promise<number> {
  await initEngine({ backend: engine as 'wasm' | 'native' });
  if (engine === 'native') native.kernels!.setThreads(threads);
  const spec = buildNetworkSpec(space, arch, 'cifar10');
  const params = toTensorParams(initNetwork(spec, 0));
  const rng = new Rng(1);
  const x = tf.tensor4d(Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.normal()), [batch, 32, 32, 3]);
  const labels = Int32Array.from({ length: batch }, () => rng.int(10));
  const wanted = gradientParamNames(spec);
  const s = await timeIt(() => lossAndGrads(spec, params, x, labels, wanted, { skipDead: true }), repeats);
  tf.dispose([x, ...params.values()]);
  return s;
}

const rows: Array<Array<string | number>> = [];
for (const name of archs) {
  for (const batch of batches) {
    for (const threads of threadCounts) {
      const torch = withTorch ? torchGradSeconds(ARCHS[name]!.arch, batch, threads, repeats, ARCHS[name]!.space) : NaN;
      for (const engine of engines) {
        if (engine === 'wasm' && threads !== 1) continue;
        const ours = await oursSeconds(engine, threads, ARCHS[name]!, batch);
        rows.push([name, batch, threads, engine, ours, withTorch ? torch : '-', withTorch ? ours / torch : '-']);
        console.error(`  ${name} B${batch} ${threads} thread(s): ${engine} ${ours.toFixed(2)} s${withTorch ? `, PyTorch ${torch.toFixed(2)} s` : ''}`);
      }
    }
  }
}
printTable(['network', 'batch', 'threads', 'mfnas engine', 'mfnas s', 'PyTorch s', 'ratio mfnas/PyTorch'], rows);

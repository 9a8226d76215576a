/**
 * npx tsx bench/reference/lockstepTrain.ts [--space macro] [--arch 22212220] [--steps 20]
 *   [--batch 256] [--threads 2] [--nesterov] — mfnas's training step against PyTorch's, in lock
 * step: the same initial weights (mfnas's `initNetwork(spec, 0)`, loaded into the PyTorch
 * network by bench/reference/verify_torch.py's name mapping), the same un-augmented CIFAR-10
 * batches, the recipe's optimizer (plain momentum 0.9 unless --nesterov, weight decay 5e-4) at
 * a constant learning rate 0.1; prints the losses of each step: mfnas, PyTorch float32 and
 * PyTorch float64. Training at this rate is chaotic: rounding differences grow step by step, so
 * mfnas's drift from float64 is judged against PyTorch float32's own drift from it; a gap from
 * the first step, or a drift far beyond PyTorch's, means the training step itself differs. A
 * developer tool, like verify:torch.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { loadImageSet } from '../../src/datasets/imageSet.js';
import { datasetInfo } from '../../src/datasets/registry.js';
import { initEngine } from '../../src/engine/backend.js';
import { tryLoadNativeKernels } from '../../src/engine/addon/binding.js';
import { initNetwork } from '../../src/networks/init.js';
import { buildNetworkSpec } from '../../src/spaces/network.js';
import { plainBatch } from '../../src/train/data.js';
import { sgdStep } from '../../src/train/sgd.js';
import { addRunningStats, trainableNames, trainStep } from '../../src/train/step.js';
import { TORCH_PYTHON } from '../common.js';

const { values } = parseArgs({
  options: {
    space: { type: 'string', default: 'macro' },
    arch: { type: 'string', default: '22212220' },
    steps: { type: 'string', default: '20' },
    batch: { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    nesterov: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps), batch = Number(values.batch), threads = Number(values.threads);
const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: values.nesterov! };

await initEngine();
tryLoadNativeKernels().kernels?.setThreads(threads);
const spec = buildNetworkSpec(values.space!, values.arch!, 'cifar10');
const params = initNetwork(spec, 0);
addRunningStats(spec, params);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-lockstep-'));

// The initial weights, in verify_torch.py's manifest format.
const tensors: Array<{ name: string; shape: readonly number[]; offset: number }> = [];
const names = trainableNames(spec);
let offset = 0;
for (const name of names) {
  const p = params.get(name)!;
  tensors.push({ name, shape: p.shape, offset });
  offset += p.data.length;
}
const blob = new Float32Array(offset);
for (const t of tensors) blob.set(params.get(t.name)!.data, t.offset);
fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(blob.buffer));

const info = datasetInfo('cifar10');
const set = loadImageSet('cifar10', { split: 'train', dataDir: requireDataDir({}) });
const format = { resolution: 32, cropPadding: info.cropPadding, mean: info.mean, std: info.std };
const batches = Array.from({ length: steps }, (_, s) => plainBatch(set, format, s * batch, batch));
fs.writeFileSync(path.join(dir, 'batches.bin'), Buffer.concat(batches.map((b) => Buffer.from(b.x.buffer, b.x.byteOffset, b.x.byteLength))));
fs.writeFileSync(path.join(dir, 'labels.bin'), Buffer.concat(batches.map((b) => Buffer.from(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength))));
fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
  space: values.space, arch: values.arch, classes: 10, resolution: 32, batch, steps, threads, tensors,
  lr: sgd.lr, momentum: sgd.momentum, weight_decay: sgd.weightDecay, nesterov: sgd.nesterov,
}));

const buffers = new Map(names.map((n) => [n, new Float32Array(params.get(n)!.data.length)]));
const ours: number[] = [];
for (let s = 0; s < steps; s++) {
  const r = trainStep(spec, params, batches[s]!.x, batches[s]!.labels);
  for (const n of names) sgdStep(params.get(n)!.data, r.grads.get(n)!, buffers.get(n)!, sgd, s === 0);
  ours.push(r.loss);
}
const script = fileURLToPath(new URL('./lockstep_train.py', import.meta.url));
const torchLosses = (...extra: string[]): number[] =>
  JSON.parse(execFileSync(TORCH_PYTHON, [script, dir, ...extra], { encoding: 'utf8' }).trim().split('\n').pop()!).losses;
const torch32 = torchLosses();
const torch64 = torchLosses('float64');
fs.rmSync(dir, { recursive: true, force: true });
const rel = (a: number, b: number) => (Math.abs(a - b) / Math.abs(b)).toExponential(2);
console.log('| step | mfnas | PyTorch float32 | PyTorch float64 | mfnas vs float64 | PyTorch float32 vs float64 |\n| --- | --- | --- | --- | --- | --- |');
ours.forEach((l, s) => console.log(`| ${s + 1} | ${l.toFixed(6)} | ${torch32[s]!.toFixed(6)} | ${torch64[s]!.toFixed(6)} | ${rel(l, torch64[s]!)} | ${rel(torch32[s]!, torch64[s]!)} |`));

/**
 * npm run bench:train — trains NATS-Bench TSS index 6111 (the CIFAR-10 optimum) with NATS-Bench's
 * recipe (or, with --space macro, NAS-Bench-Macro's best network 22212220 with NAS-Bench-Macro's
 * recipe) on the CIFAR-10 training images of the data folder for 10 epochs (cosine over 10),
 * testing on the test images after every epoch, first with mfnas (`train()`, the library call
 * behind `mfnas train`), then in the same run with PyTorch 1.13 (bench/reference/train_torch.py)
 * on the same recipe — written once, below, as the JSON the Python script reads — and the same
 * thread count. Prints test accuracy and seconds per epoch of both and the ratios.
 *
 * Targets: mfnas's final test accuracy within 1 point of PyTorch's; seconds per epoch ≤ PyTorch's.
 * The two start from different random weights (same distributions) and see different random
 * crops, so the accuracies differ by training noise as two PyTorch seeds would.
 *
 * Batch: NATS-Bench's 256 for both (a training step of TSS 6111 at 256 takes ~1.5 GB of the
 * engine's 4 GB wasm heap).
 *
 * Flags: --space tss|macro --epochs 10 --threads 2 --batch 256 --limit N (training images; default all)
 *        --test-limit N --arch (default 6111 for tss, 22212220 for macro) --skip-torch
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { datasetInfo } from '../../src/datasets/registry.js';
import { engineInfo } from '../../src/engine/backend.js';
import { spaceByName } from '../../src/spaces/index.js';
import { recipeByName, train, type EpochMetrics } from '../../src/train/index.js';
import { printTable, TORCH_PYTHON, torchAvailable } from '../common.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    threads: { type: 'string', default: '2' },
    limit: { type: 'string' },
    'test-limit': { type: 'string' },
    space: { type: 'string', default: 'tss' },
    arch: { type: 'string' },
    batch: { type: 'string', default: '256' },
    'skip-torch': { type: 'boolean', default: false },
  },
});

const threads = Number(values.threads);
const dataDir = requireDataDir({});
const cifar = path.join(dataDir, 'cifar-10-batches-bin');
const records = (file: string) => fs.statSync(path.join(cifar, file)).size / 3073;
const info = datasetInfo('cifar10');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-bench-train-'));

const space = values.space!;
if (space !== 'tss' && space !== 'macro') throw new Error(`--space ${space}: bench:train compares tss or macro with PyTorch`);
const archArg = values.arch ?? (space === 'tss' ? '6111' : '22212220');
const named = recipeByName(spaceByName(space).trainingRecipe);
// The recipe, once for both sides.
const recipe = {
  space, recipe: named.name, epochs: Number(values.epochs), batch: Number(values.batch), lr: named.defaults.lr, momentum: named.defaults.momentum,
  nesterov: named.nesterov, schedule_offset: named.scheduleOffset,
  weight_decay: named.defaults.weightDecay, seed: named.defaults.seed, threads,
  train_images: values.limit ? Number(values.limit) : records('data_batch_1.bin'),
  test_images: values['test-limit'] ? Number(values['test-limit']) : records('test_batch.bin'),
  crop_padding: info.cropPadding, mean: info.mean, std: info.std, classes: info.classes,
};

interface Row { test_acc: number; test_loss: number; train_loss: number; train_acc: number; trainSeconds: number; evalSeconds: number }

async function runMfnas(): Promise<{ arch: string; rows: Row[] }> {
  process.env.MFNAS_THREADS = String(threads);
  const rows: Row[] = [];
  const r = await train({
    out: path.join(tmp, 'mfnas-run'), arch: space === 'tss' && /^\d+$/.test(archArg) ? Number(archArg) : archArg, space, recipe: named.name,
    dataset: 'cifar10', epochs: recipe.epochs, batch: recipe.batch, lr: recipe.lr, momentum: recipe.momentum,
    weightDecay: recipe.weight_decay, seed: recipe.seed, limit: recipe.train_images, testLimit: recipe.test_images, workers: threads,
    onEpoch: (m: EpochMetrics, t) => {
      // CIFAR-10 always has its test split: the test columns are never null here.
      const test = { test_acc: m.test_acc!, test_loss: m.test_loss! };
      rows.push({ ...m, ...test, trainSeconds: t.trainSeconds, evalSeconds: t.evalSeconds });
      console.log(`mfnas   epoch ${m.epoch}: train loss ${m.train_loss.toFixed(3)} acc ${m.train_acc.toFixed(1)}% · test ${test.test_acc.toFixed(2)}% · ${t.trainSeconds.toFixed(1)} s + eval ${t.evalSeconds.toFixed(1)} s`);
    },
  });
  const e = engineInfo();
  console.log(`mfnas engine: ${e?.backend}${e?.native ? ` (oneDNN ${e.native.dnnlVersion}, ${e.native.threads} threads)` : ''}`);
  return { arch: r.arch, rows };
}

function runTorch(arch: string): Promise<Row[]> {
  const file = path.join(tmp, 'recipe.json');
  fs.writeFileSync(file, JSON.stringify({
    ...recipe, arch, train_file: path.join(cifar, 'data_batch_1.bin'), test_file: path.join(cifar, 'test_batch.bin'),
  }));
  const script = fileURLToPath(new URL('../reference/train_torch.py', import.meta.url));
  const child = spawn(TORCH_PYTHON, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rows: Row[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      if (line.done) continue;
      rows.push({ ...line, trainSeconds: line.train_seconds, evalSeconds: line.eval_seconds });
      console.log(`PyTorch epoch ${line.epoch}: train loss ${line.train_loss.toFixed(3)} acc ${line.train_acc.toFixed(1)}% · test ${line.test_acc.toFixed(2)}% · ${line.train_seconds.toFixed(1)} s + eval ${line.eval_seconds.toFixed(1)} s`);
    }
  });
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(rows) : reject(new Error(`PyTorch exited with ${code}`)))));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

console.log(`recipe: ${JSON.stringify(recipe)}`);
const m = await runMfnas();
const withTorch = !values['skip-torch'] && torchAvailable();
const t = withTorch ? await runTorch(m.arch) : null;
if (!withTorch) console.log('PyTorch not run (--skip-torch, or /usr/bin/python3 has no torch)');
fs.rmSync(tmp, { recursive: true, force: true });

const last = (rows: Row[]) => rows[rows.length - 1];
const perEpoch = (rows: Row[]) => mean(rows.map((r) => r.trainSeconds));
const evalPerEpoch = (rows: Row[]) => mean(rows.map((r) => r.evalSeconds));
console.log(`\n${space.toUpperCase()} ${archArg} ${m.arch} · CIFAR-10 ${recipe.train_images} train / ${recipe.test_images} test · ${recipe.epochs} epochs · ${threads} threads\n`);
const rows: Array<Array<string | number>> = [
  ['mfnas', last(m.rows).test_acc, last(m.rows).test_loss, perEpoch(m.rows), evalPerEpoch(m.rows), perEpoch(m.rows) + evalPerEpoch(m.rows)],
];
if (t) {
  rows.push(['PyTorch 1.13', last(t).test_acc, last(t).test_loss, perEpoch(t), evalPerEpoch(t), perEpoch(t) + evalPerEpoch(t)]);
  rows.push(['mfnas − / ÷ PyTorch', `${(last(m.rows).test_acc - last(t).test_acc).toFixed(2)} points`, '',
    `${(perEpoch(m.rows) / perEpoch(t)).toFixed(2)}×`, `${(evalPerEpoch(m.rows) / evalPerEpoch(t)).toFixed(2)}×`,
    `${((perEpoch(m.rows) + evalPerEpoch(m.rows)) / (perEpoch(t) + evalPerEpoch(t))).toFixed(2)}×`]);
}
printTable(['', 'test acc %', 'test loss', 's/epoch train', 's/epoch test', 's/epoch total'], rows);

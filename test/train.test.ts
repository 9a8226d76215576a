/**
 * mfnas train on a small CIFAR-10 subset (256 train / 128 test images, batch 64) with the SSS
 * network 8:8:8:8:8: the optimizer and the BN running statistics against independent
 * computations (and PyTorch when /usr/bin/python3 has torch), the loss falling, metrics.csv,
 * exact resumption after a stop mid-epoch, at an epoch boundary and after a simulated kill, the
 * refusals, and the CLI (bad flags exit 2, Ctrl-C saves and exits 130).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { initEngine } from '../src/engine/backend.js';
import { loadImageSet } from '../src/datasets/imageSet.js';
import { datasetInfo } from '../src/datasets/registry.js';
import { initNetwork } from '../src/networks/index.js';
import { buildNetworkSpec } from '../src/spaces/network.js';
import { paramName } from '../src/networks/spec.js';
import {
  CHECKPOINT_FILE, learningRate, loadCheckpoint, loadTrainedNetwork, METRICS_COLUMNS, RECIPES, recipeLearningRate, sgdNesterovStep, sgdStep, train,
  updateRunningStats, type TrainOptions,
} from '../src/train/index.js';
import { predict } from '../src/export/predict.js';
import { decodeSafetensors, encodeSafetensors } from '../src/train/safetensors.js';
import { epochOrder, plainBatch, trainBatch } from '../src/train/data.js';
import { addRunningStats, evaluate, trainStep } from '../src/train/step.js';
import { Rng } from '../src/util/rng.js';
import { DATA, runCli, startCli } from './helpers/cli.js';

const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const python = async (code: string, input: unknown): Promise<any> => {
  const child = execFile(PY, ['-c', code], { maxBuffer: 64 << 20 });
  child.stdin!.end(JSON.stringify(input));
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  await new Promise<void>((resolve, reject) => child.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`python exited ${c}`)))));
  return JSON.parse(out);
};

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-train-'));
const ARCH = '8:8:8:8:8';
const SMALL = { space: 'sss', arch: ARCH, dataset: 'cifar10', epochs: 2, batch: 64, limit: 256, testLimit: 128, dataDir: DATA } as const;
const run = (out: string, extra: Partial<TrainOptions> = {}) => train({ ...SMALL, out, ...extra });

/** Every tensor of a run's checkpoint as raw bytes (weights, running statistics, momentum). */
function checkpointTensors(dir: string): Map<string, Buffer> {
  const bytes = fs.readFileSync(path.join(dir, CHECKPOINT_FILE));
  const { tensors } = decodeSafetensors(new Uint8Array(bytes), dir);
  return new Map([...tensors].map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

beforeAll(async () => {
  await initEngine();
});

describe('SGD with Nesterov momentum', () => {
  const rng = new Rng(7);
  const n = 50;
  const p0 = rng.fillUniform(new Float32Array(n), -1, 1);
  const grads = [0, 1, 2].map(() => rng.fillUniform(new Float32Array(n), -1, 1));
  const s = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  const ours = () => {
    const p = p0.slice();
    const buf = new Float32Array(n);
    grads.forEach((g, i) => sgdNesterovStep(p, g, buf, s, i === 0));
    return p;
  };

  it('matches the torch.optim.SGD algorithm computed in double precision', () => {
    // torch.optim.SGD(nesterov=True), written out independently in float64.
    const p = Array.from(p0);
    const buf: number[] = [];
    for (const g of grads) {
      for (let i = 0; i < n; i++) {
        const d = g[i] + s.weightDecay * p[i];
        buf[i] = buf[i] === undefined ? d : s.momentum * buf[i] + d;
        p[i] -= s.lr * (d + s.momentum * buf[i]);
      }
    }
    const got = ours();
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - p[i])).toBeLessThan(1e-6);
    // The first step is not plain gradient descent: buf = d, so p moves by lr·(1 + m)·d.
    const one = p0.slice();
    sgdNesterovStep(one, grads[0], new Float32Array(n), s, true);
    expect(one[0]).toBeCloseTo(p0[0] - 0.1 * 1.9 * (grads[0][0] + 5e-4 * p0[0]), 6);
  });

  it.runIf(hasTorch)('matches torch.optim.SGD(nesterov=True) in float32', async () => {
    const want: number[] = await python(`
import json, sys, torch
a = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(a['p'], dtype=torch.float32))
opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
for g in a['grads']:
    p.grad = torch.tensor(g, dtype=torch.float32)
    opt.step()
print(json.dumps(p.detach().tolist()))
`, { p: Array.from(p0), grads: grads.map((g) => Array.from(g)) });
    const got = ours();
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2 * 2 ** -23 * Math.max(1, Math.abs(want[i])));
  }, 60_000);

  it('anneals the learning rate by a cosine per epoch, to near 0 in the last epoch', () => {
    expect(learningRate(0.1, 0, 10)).toBe(0.1);
    expect(learningRate(0.1, 5, 10)).toBeCloseTo(0.05, 12);
    expect(learningRate(0.1, 9, 10)).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * 9) / 10)), 12);
  });
});

describe("NAS-Bench-Macro's recipe: plain momentum, the cosine one epoch ahead", () => {
  const rng = new Rng(11);
  const n = 40;
  const p0 = rng.fillUniform(new Float32Array(n), -1, 1);
  const grads = [0, 1, 2, 3].map(() => rng.fillUniform(new Float32Array(n), -1, 1));
  const s = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: false };
  const ours = () => {
    const p = p0.slice();
    const buf = new Float32Array(n);
    grads.forEach((g, i) => sgdStep(p, g, buf, s, i === 0));
    return p;
  };

  it('is torch.optim.SGD without Nesterov, computed in double precision', () => {
    const p = Array.from(p0);
    const buf: number[] = [];
    for (const g of grads) {
      for (let i = 0; i < n; i++) {
        const d = g[i] + s.weightDecay * p[i];
        buf[i] = buf[i] === undefined ? d : s.momentum * buf[i] + d;
        p[i] -= s.lr * buf[i];
      }
    }
    const got = ours();
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - p[i])).toBeLessThan(1e-6);
    // Not the Nesterov step: the two differ after the first step already.
    const nesterov = p0.slice();
    sgdNesterovStep(nesterov, grads[0], new Float32Array(n), s, true);
    const plain = p0.slice();
    sgdStep(plain, grads[0], new Float32Array(n), s, true);
    expect(plain[0]).toBeCloseTo(p0[0] - 0.1 * (grads[0][0] + 5e-4 * p0[0]), 6);
    expect(plain[0]).not.toBe(nesterov[0]);
  });

  it.runIf(hasTorch)('matches torch.optim.SGD(nesterov=False) in float32', async () => {
    const want: number[] = await python(`
import json, sys, torch
a = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(a['p'], dtype=torch.float32))
opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=5e-4)
for g in a['grads']:
    p.grad = torch.tensor(g, dtype=torch.float32)
    opt.step()
print(json.dumps(p.detach().tolist()))
`, { p: Array.from(p0), grads: grads.map((g) => Array.from(g)) });
    const got = ours();
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2 * 2 ** -23 * Math.max(1, Math.abs(want[i])));
  }, 60_000);

  it.runIf(hasTorch)("steps the cosine as the authors' loop does on PyTorch: scheduler.step() before each epoch", async () => {
    const want: number[] = await python(`
import json, sys, warnings, torch
warnings.simplefilter('ignore')
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, float(50))
lrs = []
for epoch in range(50):
    sched.step()
    lrs.append(opt.param_groups[0]['lr'])
print(json.dumps(lrs))
`, {});
    const r = RECIPES['nas-bench-macro'];
    expect(r.defaults.epochs).toBe(50);
    const got = want.map((_, e) => recipeLearningRate(r, 0.1, e, 50));
    for (let e = 0; e < 50; e++) expect(Math.abs(got[e] - want[e])).toBeLessThan(1e-12);
    expect(got[49]).toBe(0);
    // NATS-Bench's starts at the full rate.
    expect(recipeLearningRate(RECIPES['nats-bench'], 0.1, 0, 50)).toBe(0.1);
  }, 60_000);
});

describe('batch-norm running statistics', () => {
  const spec = buildNetworkSpec('sss', ARCH, 'cifar10');
  const set = loadImageSet('cifar10', { split: 'train', dataDir: DATA });
  const info = datasetInfo('cifar10');
  const format = { resolution: 32, cropPadding: info.cropPadding, mean: info.mean, std: info.std };
  const batch = trainBatch(set, format, epochOrder(0, 0, 256), 0, 0, 0, 64);

  /** The stem convolution (3×3, pad 1, no bias) computed directly from the NHWC batch, per channel values. */
  function stemOutput(w: Float32Array, cout: number): Float64Array[] {
    const N = 64, H = 32, W = 32, C = 3;
    const out = Array.from({ length: cout }, () => new Float64Array(N * H * W));
    for (let n = 0; n < N; n++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      for (let o = 0; o < cout; o++) {
        let s = 0;
        for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
          const yy = y + ky - 1, xx = x + kx - 1;
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          for (let c = 0; c < C; c++) s += batch.x[((n * H + yy) * W + xx) * C + c] * w[((ky * 3 + kx) * C + c) * cout + o];
        }
        out[o][(n * H + y) * W + x] = s;
      }
    }
    return out;
  }

  it("updates as PyTorch's BatchNorm2d (momentum 0.1, unbiased variance), checked on the stem BN", async () => {
    const params = initNetwork(spec, 0);
    addRunningStats(spec, params);
    const w = params.get(paramName(spec.stem.conv, 'weight'))!.data.slice();
    trainStep(spec, params, batch.x, batch.labels);
    const rm = params.get(paramName(spec.stem.bn, 'running_mean'))!.data;
    const rv = params.get(paramName(spec.stem.bn, 'running_var'))!.data;
    const channels = stemOutput(w, spec.stem.bn.c);
    channels.forEach((v, c) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const unbiased = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
      expect(rm[c]).toBeCloseTo(0.1 * mean, 5);
      expect(Math.abs(rv[c] - (0.9 + 0.1 * unbiased))).toBeLessThan(1e-5 * (0.9 + 0.1 * unbiased));
    });
    // Every BN got its update (none left at the initial 0 / 1).
    const untouched = [...params.keys()].filter((k) => k.endsWith('running_var') && params.get(k)!.data.every((v) => v === 1));
    expect(untouched).toEqual([]);
    if (hasTorch) {
      const torchStats = await python(`
import json, sys, torch
a = json.load(sys.stdin)
v = torch.tensor(a['x'], dtype=torch.float64)  # [C, values]: one value per image and position
x = v.t().reshape(v.shape[1], v.shape[0], 1, 1)
bn = torch.nn.BatchNorm2d(x.shape[1]).double().train()
bn(x)
print(json.dumps([bn.running_mean.tolist(), bn.running_var.tolist()]))
`, { x: channels.map((v) => Array.from(v)) });
      for (let c = 0; c < rm.length; c++) {
        expect(rm[c]).toBeCloseTo(torchStats[0][c], 5);
        expect(Math.abs(rv[c] - torchStats[1][c])).toBeLessThan(1e-5 * torchStats[1][c]);
      }
    }
  }, 60_000);

  it('follows the formula for any running values', () => {
    const rm = Float32Array.of(1, -2), rv = Float32Array.of(2, 0.5);
    updateRunningStats(rm, rv, Float32Array.of(3, 4), Float32Array.of(1, 9), 10);
    expect(Array.from(rm)).toEqual([Math.fround(0.9 * 1 + 0.1 * 3), Math.fround(0.9 * -2 + 0.1 * 4)]);
    expect(Array.from(rv)).toEqual([Math.fround(0.9 * 2 + 0.1 * 1 * 10 / 9), Math.fround(0.9 * 0.5 + 0.1 * 9 * 10 / 9)]);
  });
});

describe('training a small network', () => {
  const straight = tmp();
  const snapshot = tmp(); // the checkpoint as it was after epoch 1 of the straight run
  let result: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    result = await run(straight, {
      onEpoch: (row) => { if (row.epoch === 1) fs.copyFileSync(path.join(straight, CHECKPOINT_FILE), path.join(snapshot, CHECKPOINT_FILE)); },
    });
  }, 120_000);

  it('lowers the training loss over two epochs and writes metrics.csv', () => {
    expect(result.interrupted).toBe(false);
    expect(result.epochsDone).toBe(2);
    expect(result.exported.length).toBeGreaterThan(0);
    for (const f of result.exported) expect(fs.existsSync(path.join(straight, f))).toBe(true);
    const lines = fs.readFileSync(path.join(straight, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(METRICS_COLUMNS.join(','));
    expect(lines[0]).toBe('epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds');
    const rows = lines.slice(1).map((l) => l.split(',').map(Number));
    expect(rows.map((r) => r[0])).toEqual([1, 2]);
    expect(rows[0][1]).toBe(0.1);
    expect(rows[1][1]).toBeCloseTo(0.05, 12);
    expect(rows[1][2]).toBeLessThan(rows[0][2]);
    for (const r of rows) {
      expect(r.every(Number.isFinite)).toBe(true);
      expect(r[5]).toBeGreaterThanOrEqual(0);
      expect(r[5]).toBeLessThanOrEqual(100);
    }
  });

  it('exports a trained network whose evaluation reproduces the last test accuracy', async () => {
    const net = await loadTrainedNetwork(straight);
    expect(net.labels).toHaveLength(10);
    expect(net.labels[0]).toBe('airplane');
    expect(net.preprocess.mean[0]).toBeCloseTo(125.3 / 255, 10);
    expect(net.params.has('lastact.bn.running_var')).toBe(true);
    const test = loadImageSet('cifar10', { split: 'test', dataDir: DATA });
    const info = datasetInfo('cifar10');
    const ev = evaluate(net.spec, net.params, 128, 64, (s, c) => plainBatch(test, { resolution: 32, cropPadding: 4, mean: info.mean, std: info.std }, s, c));
    expect(ev.accuracy).toBe(result.final!.test_acc);
  });

  it('resumes after a stop mid-epoch and at an epoch boundary with identical final weights', async () => {
    const dir = tmp();
    const stopAt = (epoch: number, step: number) => {
      const c = new AbortController();
      return { signal: c.signal, onStep: (p: { epoch: number; step: number }) => { if (p.epoch === epoch && p.step === step) c.abort(); } };
    };
    const a = await run(dir, stopAt(0, 1));
    expect(a).toMatchObject({ interrupted: true, epochsDone: 0, step: 2 });
    const b = await run(dir, { resume: true, ...stopAt(0, 3) }); // the last step of epoch 1: stops after its evaluation
    expect(b).toMatchObject({ interrupted: true, epochsDone: 1, step: 0 });
    expect(fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(2);
    const c = await run(dir, { resume: true, arch: undefined, space: undefined, epochs: undefined, limit: undefined });
    expect(c.interrupted).toBe(false);
    expect(checkpointTensors(dir)).toEqual(checkpointTensors(straight));
    const strip = (m: typeof c.metrics) => m.map(({ seconds: _, ...rest }) => rest);
    expect(strip(c.metrics)).toEqual(strip(result.metrics));
  }, 120_000);

  it('resumes after a kill (the checkpoint of epoch 1 with metrics.csv lagging) with identical final weights', async () => {
    // "Killed" during epoch 2: only epoch 1's checkpoint, and a metrics.csv without its row.
    const killed = tmp();
    fs.copyFileSync(path.join(snapshot, CHECKPOINT_FILE), path.join(killed, CHECKPOINT_FILE));
    fs.writeFileSync(path.join(killed, 'metrics.csv'), 'epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds\n');
    const r = await run(killed, { resume: true });
    expect(r.epochsDone).toBe(2);
    expect(checkpointTensors(killed)).toEqual(checkpointTensors(straight));
    expect(fs.readFileSync(path.join(killed, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 120_000);

  it('refuses a resume with other settings, a run folder in use, and a resume of nothing', async () => {
    await expect(run(straight, { resume: true, lr: 0.05 })).rejects.toThrow(/--lr .*differs from the run being resumed/);
    await expect(run(straight, { resume: true, arch: '16:8:8:8:8' })).rejects.toThrow(/--arch .*differs/);
    await expect(run(straight)).rejects.toThrow(/already holds a training run .*--resume/);
    await expect(run(tmp(), { resume: true })).rejects.toThrow(/nothing to resume/);
    await expect(run(tmp(), { limit: 1_000_000 })).rejects.toThrow(/--limit 1000000 is more than/);
  });

  it('keeps a finished run finished on --resume', async () => {
    const before = checkpointTensors(straight);
    const r = await run(straight, { resume: true });
    expect(r).toMatchObject({ interrupted: false, epochsDone: 2 });
    expect(checkpointTensors(straight)).toEqual(before);
  });
});

describe('an image folder with train/ only', () => {
  const root = tmp();
  const images = path.join(root, 'images');
  const env = { MFNAS_IMAGE_CACHE: path.join(root, 'image-cache') };
  const files: string[] = [];
  beforeAll(() => {
    // 6 airplanes and 6 cats of CIFAR-10's first training file as PNGs, and no test/ folder.
    const bytes = fs.readFileSync(path.join(DATA, 'cifar-10-batches-bin', 'data_batch_1.bin'));
    const names: Record<number, string> = { 0: 'airplane', 3: 'cat' };
    const count: Record<number, number> = {};
    for (let i = 0; files.length < 12; i++) {
      const label = bytes[i * 3073];
      if (!(label in names) || (count[label] = (count[label] ?? 0) + 1) > 6) continue;
      const png = new PNG({ width: 32, height: 32 });
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) png.data[p * 4 + c] = bytes[i * 3073 + 1 + c * 1024 + p];
        png.data[p * 4 + 3] = 255;
      }
      const classDir = path.join(images, 'train', names[label]);
      fs.mkdirSync(classDir, { recursive: true });
      files.push(path.join(classDir, `${i}.png`));
      fs.writeFileSync(files.at(-1)!, PNG.sync.write(png));
    }
  });

  it('trains without evaluation (empty test columns, null in JSON, said in progress and summary), exports and predicts', async () => {
    const out = path.join(root, 'run');
    const r = await runCli(['train', '--space', 'sss', '--arch', ARCH, '--dataset', images, '--epochs', '1', '--batch', '8', '--out', out, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no test split/);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ epochs: 1, test_acc: null, test_loss: null, settings: { testImages: 0, trainImages: 12 } });
    expect(json.metrics).toHaveLength(1);
    expect(json.metrics[0]).toMatchObject({ epoch: 1, test_acc: null, test_loss: null });
    const [header, ...rows] = fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(1);
    const row = Object.fromEntries(rows[0].split(',').map((v, i) => [header.split(',')[i], v]));
    expect(row).toMatchObject({ epoch: '1', test_loss: '', test_acc: '' });
    expect(Number(row.train_loss)).toBeGreaterThan(0);

    // A resume of the finished run prints the summary (and exports again).
    const again = await runCli(['train', '--out', out, '--resume'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/test accuracy\s+none: no test split/);

    const [p] = await predict({ model: out, images: [files[0]], top: 2 });
    expect(p.top.map((t) => t.label).sort()).toEqual(['airplane', 'cat']);

    const bad = await runCli(['train', '--space', 'sss', '--arch', ARCH, '--dataset', images, '--epochs', '1', '--test-limit', '4', '--out', path.join(root, 'bad')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/no test\/ folder/);
  }, 60_000);
});

describe('checkpoint format', () => {
  it('is safetensors: header, F32 tensors, metadata', () => {
    const t = new Map([['a', { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }], ['b', { shape: [1], data: Float32Array.of(-0.5) }]]);
    const bytes = encodeSafetensors(t, { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [1], data_offsets: [16, 20] });
    expect(header.__metadata__).toEqual({ k: 'v' });
    const back = decodeSafetensors(bytes, 'x');
    expect(Array.from(back.tensors.get('a')!.data)).toEqual([1, 2, 3, 4]);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'x')).toThrow(/truncated/);
  });

  it('a damaged checkpoint is a DataError', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, CHECKPOINT_FILE), 'garbage!');
    expect(() => loadCheckpoint(dir)).toThrow(/not a valid safetensors file/);
  });
});

describe('mfnas train (CLI)', () => {
  it('exits 2 with one line on bad flags', async () => {
    const bad = [
      [['--epochs', '0'], /--epochs must be an integer from 1/],
      [['--batch', 'abc'], /--batch must be an integer/],
      [['--lr', '-1'], /--lr must be greater than 0/],
    ] as const;
    for (const [flags, message] of bad) {
      const r = await runCli(['train', '--space', 'sss', '--arch', ARCH, '--out', path.join(tmp(), 'run'), ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);

  it('saves and exits 130 on Ctrl-C; --resume finishes the run', async () => {
    const out = path.join(tmp(), 'run');
    // Enough epochs that the run cannot finish before the signal lands (4 took ~1.5 s in all).
    const args = ['train', '--space', 'sss', '--arch', ARCH, '--out', out, '--epochs', '24', '--limit', '128', '--test-limit', '32', '--batch', '64'];
    const child = startCli(args);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    // The checkpoint appears before the first step.
    for (let i = 0; i < 600 && !fs.existsSync(path.join(out, CHECKPOINT_FILE)); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(stderr).toMatch(/interrupted .* continue with mfnas train --out .* --resume/);
    const c = loadCheckpoint(out)!;
    expect(c.state.epoch * 2 + c.state.step).toBeGreaterThan(0);
    expect(c.state.epoch).toBeLessThan(24);
    const r = await runCli(['train', '--out', out, '--resume', '--epochs', '24', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ arch: ARCH, space: 'sss', epochs: 24 });
    expect(json.metrics).toHaveLength(24);
  }, 120_000);
});

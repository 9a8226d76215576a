/**
 * Export to TensorFlow.js LayersModel and ONNX, checked against mfnas's own evaluation-mode
 * network on real images: the LayersModel loaded back from its files (in this process, and in
 * a child Node process with stock @tensorflow/tfjs on its cpu backend), the ONNX model in
 * onnxruntime-node. Then prediction through the API and the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { initEngine } from '../src/engine/backend.js';
import { datasetInfo, type DatasetName } from '../src/datasets/registry.js';
import { loadImageSet } from '../src/datasets/imageSet.js';
import { normaliseImages } from '../src/datasets/transforms.js';
import { initNetwork, type NetworkParams, type NetworkSpec, type TrainedNetwork } from '../src/networks/index.js';
import { networkLayers, paramName } from '../src/networks/spec.js';
import { forward, toTensorParams } from '../src/networks/model.js';
import { parseTssCell, tssNetworkSpec } from '../src/spaces/tss/index.js';
import { parseSssChannels, sssNetworkSpec } from '../src/spaces/sss/index.js';
import { exportGraph, exportModel, fileModelHandler, predict } from '../src/export/index.js';
import { loadTrainedNetwork, train } from '../src/train/index.js';
import { Rng } from '../src/util/rng.js';
import { DATA, REPO, runCli } from './helpers/cli.js';

const CIFAR10_LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const ALL_OPS = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|';
/** Node 1 is constant zero (its only edge is none); node 1's out-edges are dead but not inert once β ≠ 0. */
const ZERO_NODE = '|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|';
const TOLERANCE = 1e-4;

/** Seeded "trained-looking" parameters: init weights, BN γ, β and running statistics perturbed. */
function trainedLike(spec: NetworkSpec, seed: number): TrainedNetwork {
  const params: NetworkParams = initNetwork(spec, seed);
  const rng = new Rng(seed).derive('trained');
  const vec = (c: number, f: () => number) => Float32Array.from({ length: c }, f);
  for (const layer of networkLayers(spec)) {
    if (layer.kind !== 'bn') continue;
    const c = layer.c;
    params.set(paramName(layer, 'gamma'), { shape: [c], data: vec(c, () => rng.uniform(0.5, 1.5)) });
    params.set(paramName(layer, 'beta'), { shape: [c], data: vec(c, () => rng.uniform(-0.3, 0.3)) });
    params.set(paramName(layer, 'running_mean'), { shape: [c], data: vec(c, () => rng.uniform(-0.5, 0.5)) });
    params.set(paramName(layer, 'running_var'), { shape: [c], data: vec(c, () => rng.uniform(0.2, 2)) });
  }
  const info = datasetInfo(spec.dataset);
  const labels = spec.dataset === 'cifar10' ? CIFAR10_LABELS : Array.from({ length: spec.classes }, (_, i) => `class_${i}`);
  return {
    spec, params, labels,
    preprocess: {
      imageSize: spec.resolution, channelOrder: 'RGB',
      mean: info.mean.map((m) => m / 255) as unknown as [number, number, number],
      std: info.std.map((s) => s / 255) as unknown as [number, number, number],
    },
  };
}

interface Images { n: number; size: number; planes: Uint8Array; labels: Int32Array }

function realImages(dataset: DatasetName, n: number): Images {
  const set = loadImageSet(dataset, { dataDir: DATA, split: dataset === 'cifar10' ? 'test' : 'train' });
  const size = set.resolution;
  return { n, size, planes: set.pixels.slice(0, n * 3 * size * size), labels: set.labels.slice(0, n) };
}

/** What users feed the export: NHWC pixels / 255. */
function pixels01(img: Images): Float32Array {
  const { n, size } = img;
  const plane = size * size;
  const x = new Float32Array(n * 3 * plane);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) x[(i * plane + p) * 3 + c] = img.planes[(i * 3 + c) * plane + p] / 255;
  }
  return x;
}

/** mfnas's evaluation-mode logits on its own normalised input ((pixel − mean) / std in 0..255 units). */
function mfnasLogits(trained: TrainedNetwork, img: Images): Float32Array {
  const x = normaliseImages(img.planes, img.n, img.size, datasetInfo(trained.spec.dataset));
  const p = toTensorParams(trained.params);
  const out = tf.tidy(() => forward(trained.spec, p, tf.tensor4d(x, [img.n, img.size, img.size, 3]), { batchNorm: 'eval' }).dataSync() as Float32Array);
  tf.dispose([...p.values()]);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function layersLogits(runDir: string, x: Float32Array, img: Images): Promise<Float32Array> {
  const model = await tf.loadLayersModel(fileModelHandler(path.join(runDir, 'model', 'model.json')));
  const input = tf.tensor4d(x, [img.n, img.size, img.size, 3]);
  const y = model.predict(input) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([input, y]);
  model.dispose();
  return out;
}

async function onnxLogits(runDir: string, x: Float32Array, img: Images): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path.join(runDir, 'model.onnx'));
  try {
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['logits']);
    const result = await session.run({ image: new ort.Tensor('float32', x, [img.n, img.size, img.size, 3]) });
    return result.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * The LayersModel as a user with nothing but @tensorflow/tfjs in Node would run it: a separate
 * process, the stock cpu backend, a plain file-reading handler.
 */
function stockTfjsLogits(runDir: string, x: Float32Array, img: Images): Promise<Float32Array> {
  const script = `
const fs = require('node:fs'); const path = require('node:path');
const tf = require('@tensorflow/tfjs');
(async () => {
  await tf.setBackend('cpu');
  const [dir, inFile, n, s] = process.argv.slice(1);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const model = await tf.loadLayersModel({ load: () => tf.io.getModelArtifactsForJSON(json, async (m) => [
    tf.io.getWeightSpecs(m),
    tf.io.concatenateArrayBuffers(m.flatMap((g) => g.paths.map((p) => { const b = fs.readFileSync(path.join(dir, p)); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }))),
  ]) });
  const b = fs.readFileSync(inFile);
  const x = tf.tensor4d(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), [+n, +s, +s, 3]);
  process.stdout.write(JSON.stringify(Array.from(model.predict(x).dataSync())));
})().catch((e) => { console.error(e); process.exit(1); });`;
  const inFile = path.join(runDir, 'input.f32');
  fs.writeFileSync(inFile, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const child = spawn(process.execPath, ['-e', script, path.join(runDir, 'model'), inFile, String(img.n), String(img.size)], { cwd: REPO });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Float32Array.from(JSON.parse(stdout) as number[])) : reject(new Error(stderr))));
  });
}

let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-export-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CASES: Array<{ name: string; dataset: DatasetName; spec: () => NetworkSpec; n: number; stock?: boolean }> = [
  { name: 'TSS with every op', dataset: 'cifar10', spec: () => tssNetworkSpec(parseTssCell(ALL_OPS), 'cifar10', ALL_OPS), n: 8, stock: true },
  { name: 'SSS 8:16:24:32:40', dataset: 'cifar10', spec: () => sssNetworkSpec(parseSssChannels('8:16:24:32:40'), 'cifar10'), n: 8 },
  { name: 'TSS with a zero node at 16×16', dataset: 'ImageNet16-120', spec: () => tssNetworkSpec(parseTssCell(ZERO_NODE), 'ImageNet16-120', ZERO_NODE), n: 8 },
];

describe('exported models compute mfnas\'s evaluation-mode network', () => {
  for (const c of CASES) {
    it(`${c.name}: LayersModel and ONNX logits within ${TOLERANCE}`, async () => {
      const trained = trainedLike(c.spec(), 7);
      const img = realImages(c.dataset, c.n);
      const runDir = path.join(tmp, c.name.replace(/\W+/g, '-'));
      const result = await exportModel(trained, runDir);
      expect([...result.files].sort()).toEqual(['labels.json', 'model.onnx', 'model/model.json', 'model/weights.bin', 'preprocess.json']);
      expect(JSON.parse(fs.readFileSync(path.join(runDir, 'labels.json'), 'utf8'))).toEqual(trained.labels);
      expect(JSON.parse(fs.readFileSync(path.join(runDir, 'preprocess.json'), 'utf8'))).toEqual(trained.preprocess);
      if (c.stock) {
        // Same network, same bytes: an export is reproducible (no dates, no random initial weights left).
        const again = await exportModel(trained, `${runDir}-again`);
        for (const f of again.files) expect(fs.readFileSync(path.join(`${runDir}-again`, f)).equals(fs.readFileSync(path.join(runDir, f)))).toBe(true);
      }

      const x = pixels01(img);
      const ref = mfnasLogits(trained, img);
      // The network must actually depend on the image, or equal logits would prove nothing.
      expect(maxAbsDiff(ref.subarray(0, trained.spec.classes), ref.subarray(trained.spec.classes, 2 * trained.spec.classes))).toBeGreaterThan(1e-2);
      const dLayers = maxAbsDiff(await layersLogits(runDir, x, img), ref);
      const dOnnx = maxAbsDiff(await onnxLogits(runDir, x, img), ref);
      const dStock = c.stock ? maxAbsDiff(await stockTfjsLogits(runDir, x, img), ref) : 0;
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(`${c.name}: max |logit| ${scale.toFixed(3)}, max |Δ| LayersModel ${dLayers.toExponential(2)}, ONNX ${dOnnx.toExponential(2)}${c.stock ? `, stock tfjs cpu ${dStock.toExponential(2)}` : ''}`);
      expect(dLayers).toBeLessThanOrEqual(TOLERANCE);
      expect(dOnnx).toBeLessThanOrEqual(TOLERANCE);
      expect(dStock).toBeLessThanOrEqual(TOLERANCE);
    }, 60_000);
  }

  it('keeps dead edges but leaves out op none', () => {
    const graph = exportGraph(trainedLike(tssNetworkSpec(parseTssCell(ZERO_NODE), 'cifar10', ZERO_NODE), 1));
    const names = graph.nodes.map((n) => n.name);
    // Edge 1 (node 1 → node 2, nor_conv_3x3) is dead in the spec yet still exported.
    expect(names).toContain('cells.0.edge1.conv');
    expect(names).toContain('cells.0.zeros');
    expect(names.some((n) => n.startsWith('cells.0.edge0'))).toBe(false);
  });

  it('refuses a network whose parameters do not fit its spec', async () => {
    const trained = trainedLike(sssNetworkSpec(parseSssChannels('8:8:8:8:8'), 'cifar10'), 0);
    const params = new Map(trained.params);
    params.delete('lastact.bn.running_var');
    await expect(exportModel({ ...trained, params }, path.join(tmp, 'bad'))).rejects.toThrow(/no parameter lastact\.bn\.running_var/);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  });
});

describe('mfnas export --run', () => {
  it('exports a training checkpoint; the files compute its evaluation-mode network', async () => {
    const run = path.join(tmp, 'trained run');
    await train({ out: run, space: 'sss', arch: '8:16:8:16:8', epochs: 1, batch: 16, limit: 32, testLimit: 16, dataDir: DATA });
    const out = await runCli(['export', '--run', run, '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const files = (JSON.parse(out.stdout) as { files: string[] }).files;
    expect(files.map((f) => path.relative(run, f)).sort()).toEqual(['labels.json', 'model.onnx', 'model/model.json', 'model/weights.bin', 'preprocess.json']);
    const trained = await loadTrainedNetwork(run);
    const img = realImages('cifar10', 4);
    const x = pixels01(img);
    const ref = mfnasLogits(trained, img);
    const dLayers = maxAbsDiff(await layersLogits(run, x, img), ref);
    const dOnnx = maxAbsDiff(await onnxLogits(run, x, img), ref);
    console.log(`trained checkpoint: max |Δ| LayersModel ${dLayers.toExponential(2)}, ONNX ${dOnnx.toExponential(2)}`);
    expect(dLayers).toBeLessThanOrEqual(TOLERANCE);
    expect(dOnnx).toBeLessThanOrEqual(TOLERANCE);

    const text = await runCli(['export', '--run', run]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`wrote ${path.join(run, 'model.onnx')}\n`);
  }, 60_000);

  it('a folder without a run exits 2 with one line', async () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const r = await runCli(['export', '--run', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mfnas: .*holds no training run/);
    expect(fs.readdirSync(empty)).toEqual([]);
  }, 30_000);
});

describe('predict', () => {
  let runDir: string;
  let files: string[];
  let expectedTop1: string[];
  beforeAll(async () => {
    const trained = trainedLike(tssNetworkSpec(parseTssCell(ALL_OPS), 'cifar10', ALL_OPS), 3);
    runDir = path.join(tmp, 'predict-run');
    await exportModel(trained, runDir);
    const img = realImages('cifar10', 2);
    files = [0, 1].map((i) => {
      const png = new PNG({ width: 32, height: 32 });
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) png.data[4 * p + c] = img.planes[(i * 3 + c) * 1024 + p];
        png.data[4 * p + 3] = 255;
      }
      const file = path.join(tmp, `image ${i}.png`);
      fs.writeFileSync(file, PNG.sync.write(png));
      return file;
    });
    const ref = mfnasLogits(trained, img);
    expectedTop1 = [0, 1].map((i) => {
      const row = Array.from(ref.subarray(i * 10, (i + 1) * 10));
      return CIFAR10_LABELS[row.indexOf(Math.max(...row))];
    });
  });

  it('API: probabilities of all classes sum to 1, top-1 is the argmax of mfnas\'s logits', async () => {
    const out = await predict({ model: runDir, images: files, top: 10 });
    expect(out.map((p) => p.file)).toEqual(files);
    for (const [i, p] of out.entries()) {
      expect(p.top).toHaveLength(10);
      expect(p.top.reduce((s, t) => s + t.probability, 0)).toBeCloseTo(1, 6);
      for (let k = 1; k < 10; k++) expect(p.top[k].probability).toBeLessThanOrEqual(p.top[k - 1].probability);
      expect(p.top[0].label).toBe(expectedTop1[i]);
    }
    const three = await predict({ model: runDir, images: files.slice(0, 1), top: 3 });
    expect(three[0].top).toEqual(out[0].top.slice(0, 3));
  });

  it('CLI: --json and the aligned text form', async () => {
    const json = await runCli(['predict', '--model', runDir, '--images', ...files, '--top', '2', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Array<{ file: string; top: Array<{ label: string; probability: number }> }>;
    expect(parsed.map((p) => p.top[0].label)).toEqual(expectedTop1);
    expect(parsed[0].top).toHaveLength(2);

    const text = await runCli(['predict', '--model', runDir, '--images', files[0], '--top', '3']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(files[0]);
    expect(lines).toHaveLength(4);
    const probs = lines.slice(1).map((l) => l.match(/^ {2}(\S+) +(\d\.\d{3})$/));
    expect(probs.every((m) => m !== null)).toBe(true);
    expect(probs[0]![1]).toBe(expectedTop1[0]);
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1); // one column for the probabilities
  }, 60_000);

  it('bad input exits 2 with one line', async () => {
    const missing = await runCli(['predict', '--model', path.join(tmp, 'nowhere'), '--images', files[0]]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^mfnas: .*labels\.json.* does not exist; give the run folder/);
    const notImage = path.join(tmp, 'not-an-image.png');
    fs.writeFileSync(notImage, 'hello');
    const bad = await runCli(['predict', '--model', runDir, '--images', notImage]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mfnas: cannot decode the image .*not-an-image\.png/);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    await expect(predict({ model: runDir, images: files, top: 0 })).rejects.toThrow(/top must be an integer >= 1/);
  }, 60_000);
});

/**
 * The harness of the export equivalence tests (test/export.test.ts, test/exportDepthwise.test.ts):
 * trained-looking parameters, real images, and the logits of mfnas's evaluation-mode forward,
 * of the exported LayersModel (mfnas's file handler; stock @tensorflow/tfjs cpu in a child
 * process) and of the ONNX model (onnxruntime-node).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { datasetInfo, type DatasetName } from '../../src/datasets/registry.js';
import { loadImageSet } from '../../src/datasets/imageSet.js';
import { normaliseImages } from '../../src/datasets/transforms.js';
import { initNetwork, type NetworkParams, type NetworkSpec, type TrainedNetwork } from '../../src/networks/index.js';
import { networkLayers, paramName } from '../../src/networks/spec.js';
import { forward, toTensorParams } from '../../src/networks/model.js';
import { fileModelHandler } from '../../src/export/index.js';
import { Rng } from '../../src/util/rng.js';
import { DATA, REPO } from './cli.js';

export const CIFAR10_LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** Seeded "trained-looking" parameters: init weights, BN γ, β and running statistics perturbed. */
export function trainedLike(spec: NetworkSpec, seed: number): TrainedNetwork {
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

export interface Images { n: number; size: number; planes: Uint8Array; labels: Int32Array }

export function realImages(dataset: DatasetName, n: number): Images {
  const set = loadImageSet(dataset, { dataDir: DATA, split: dataset === 'cifar10' ? 'test' : 'train' });
  const size = set.resolution;
  return { n, size, planes: set.pixels.slice(0, n * 3 * size * size), labels: set.labels.slice(0, n) };
}

/** What users feed the export: NHWC pixels / 255. */
export function pixels01(img: Images): Float32Array {
  const { n, size } = img;
  const plane = size * size;
  const x = new Float32Array(n * 3 * plane);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) x[(i * plane + p) * 3 + c] = img.planes[(i * 3 + c) * plane + p] / 255;
  }
  return x;
}

/** mfnas's evaluation-mode logits on its own normalised input ((pixel − mean) / std in 0..255 units). */
export function mfnasLogits(trained: TrainedNetwork, img: Images): Float32Array {
  const x = normaliseImages(img.planes, img.n, img.size, datasetInfo(trained.spec.dataset));
  const p = toTensorParams(trained.params);
  const out = tf.tidy(() => forward(trained.spec, p, tf.tensor4d(x, [img.n, img.size, img.size, 3]), { batchNorm: 'eval' }).dataSync() as Float32Array);
  tf.dispose([...p.values()]);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export async function layersLogits(runDir: string, x: Float32Array, img: Images): Promise<Float32Array> {
  const model = await tf.loadLayersModel(fileModelHandler(path.join(runDir, 'model', 'model.json')));
  const input = tf.tensor4d(x, [img.n, img.size, img.size, 3]);
  const y = model.predict(input) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([input, y]);
  model.dispose();
  return out;
}

export async function onnxLogits(runDir: string, x: Float32Array, img: Images): Promise<Float32Array> {
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
export function stockTfjsLogits(runDir: string, x: Float32Array, img: Images): Promise<Float32Array> {
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

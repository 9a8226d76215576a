/**
 * Prediction with an exported model: the TensorFlow.js LayersModel in RUN/model/ — the very
 * files users deploy — fed as its preprocess.json says (images decoded and resized to
 * imageSize, RGB, pixels / 255, NHWC), softmax over its logits, the top classes per image.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { decodeImage } from '../datasets/imageFolder/decode.js';
import type { Preprocess } from '../networks/trained.js';
import { DataError, InputError, quoteInput, quotePath } from '../util/errors.js';
import { checkWeightsCover, fileModelHandler, MODEL_JSON, readJsonFile } from './layersModel.js';

export const LABELS_JSON = 'labels.json';
export const PREPROCESS_JSON = 'preprocess.json';
export const MODEL_DIR = 'model';

export interface PredictOptions {
  /** The run folder written by `exportModel` / `mfnas export` (holds model/, labels.json, preprocess.json). */
  readonly model: string;
  /** PNG or JPEG files; each is resized (shorter side) and centre-cropped to the model's size. */
  readonly images: readonly string[];
  /** How many classes to report per image (default 5; at most the number of classes). */
  readonly top?: number;
}

export interface ClassProbability {
  readonly label: string;
  readonly probability: number;
}

export interface Prediction {
  readonly file: string;
  /** Most probable classes first (ties: lower label index first). */
  readonly top: readonly ClassProbability[];
}

/** Images decoded and run per model call (bounds memory for long image lists). */
const CHUNK = 64;

/** Read and check RUN/labels.json. */
export function readLabels(runDir: string): string[] {
  const file = path.join(runDir, LABELS_JSON);
  const labels = readJsonFile(file, LABELS_JSON);
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string')) {
    throw new DataError(`${quotePath(file)} must be a non-empty JSON array of class names; re-run \`mfnas export\``);
  }
  return labels as string[];
}

/** Read and check RUN/preprocess.json. */
export function readPreprocess(runDir: string): Preprocess {
  const file = path.join(runDir, PREPROCESS_JSON);
  const p = readJsonFile(file, PREPROCESS_JSON) as Partial<Record<keyof Preprocess, unknown>> | null;
  const triple = (v: unknown, positive: boolean) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (p == null || typeof p !== 'object' || !Number.isSafeInteger(p.imageSize) || (p.imageSize as number) < 1
    || p.channelOrder !== 'RGB' || !triple(p.mean, false) || !triple(p.std, true)) {
    throw new DataError(`${quotePath(file)} must hold imageSize, channelOrder "RGB", mean and std (3 numbers each); re-run \`mfnas export\``);
  }
  return p as unknown as Preprocess;
}

/** The requested number of classes per image, checked before any work. */
function checkOptions(opts: PredictOptions): number {
  if (typeof opts?.model !== 'string' || opts.model === '') throw new InputError('model: give the run folder written by `mfnas export`');
  if (!Array.isArray(opts.images) || opts.images.length === 0) throw new InputError('images: give at least one PNG or JPEG file');
  if (opts.images.some((f) => typeof f !== 'string' || f === '')) throw new InputError('images: every entry must be a file path');
  const top = opts.top ?? 5;
  if (!Number.isSafeInteger(top) || top < 1) throw new InputError(`top must be an integer >= 1, got ${quoteInput(String(top))}`);
  return top;
}

/** Softmax in float64 of one row of logits. */
function softmax(logits: Float32Array, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (p[i] = Math.exp(logits[offset + i] - max));
  for (let i = 0; i < n; i++) p[i] /= sum;
  return p;
}

function topClasses(p: Float64Array, labels: readonly string[], k: number): ClassProbability[] {
  const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
  return order.slice(0, k).map((i) => ({ label: labels[i], probability: p[i] }));
}

/**
 * Load RUN/model/model.json with `tf.loadLayersModel` and check it against labels.json and
 * preprocess.json. The caller disposes the model.
 */
export async function loadExportedModel(runDir: string): Promise<{ model: tf.LayersModel; labels: string[]; preprocess: Preprocess }> {
  const labels = readLabels(runDir);
  const preprocess = readPreprocess(runDir);
  await initEngine();
  const file = path.join(runDir, MODEL_DIR, MODEL_JSON);
  let model: tf.LayersModel;
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await fileModelHandler(file).load!();
    // The layers first, the weights once checkWeightsCover has said what is missing or extra by name.
    model = await tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, weightData: undefined, weightSpecs: undefined }));
  } catch (e) {
    if (e instanceof InputError || e instanceof DataError) throw e;
    throw new DataError(`cannot load the model ${quotePath(file)} (${(e as Error).message}); re-run \`mfnas export\``);
  }
  try {
    const specs = artifacts.weightSpecs ?? [];
    checkWeightsCover(model, specs, file);
    const weights = tf.io.decodeWeights(artifacts.weightData!, specs);
    try {
      model.loadWeights(weights, true);
    } finally {
      tf.dispose(Object.values(weights));
    }
  } catch (e) {
    model.dispose();
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot load the weights of ${quotePath(file)} (${(e as Error).message}); re-run \`mfnas export\``);
  }
  const inShape = model.inputs[0].shape;
  const outShape = model.outputs[0].shape;
  const s = preprocess.imageSize;
  if (inShape.length !== 4 || inShape[1] !== s || inShape[2] !== s || inShape[3] !== 3 || outShape.length !== 2 || outShape[1] !== labels.length) {
    model.dispose();
    throw new DataError(
      `${quotePath(file)} takes [${inShape.join(',')}] and gives [${outShape.join(',')}], which does not fit ` +
        `${s}×${s} RGB images and ${labels.length} labels; re-run \`mfnas export\``,
    );
  }
  return { model, labels, preprocess };
}

/** Planes (3 × S × S bytes per image) → NHWC float32 pixels / 255. */
function toInput(planes: readonly Uint8Array[], s: number): tf.Tensor4D {
  const plane = s * s;
  const x = new Float32Array(planes.length * 3 * plane);
  planes.forEach((img, n) => {
    const base = n * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) x[base + 3 * p + c] = img[c * plane + p] / 255;
    }
  });
  return tf.tensor4d(x, [planes.length, s, s, 3]);
}

/**
 * Classify image files with an exported model (see the module comment): per image, the `top`
 * most probable classes with their probabilities, in the order of `images`.
 */
export async function predict(opts: PredictOptions): Promise<Prediction[]> {
  const wanted = checkOptions(opts);
  const { model, labels, preprocess } = await loadExportedModel(opts.model);
  try {
    const top = Math.min(wanted, labels.length);
    const s = preprocess.imageSize;
    const out: Prediction[] = [];
    for (let start = 0; start < opts.images.length; start += CHUNK) {
      const files = opts.images.slice(start, start + CHUNK);
      const planes: Uint8Array[] = [];
      for (const f of files) planes.push(await decodeImage(f, s));
      const x = toInput(planes, s);
      const y = model.predict(x) as tf.Tensor2D;
      const logits = (await y.data()) as Float32Array;
      tf.dispose([x, y]);
      files.forEach((file, i) => out.push({ file, top: topClasses(softmax(logits, i * labels.length, labels.length), labels, top) }));
    }
    return out;
  } finally {
    model.dispose();
  }
}

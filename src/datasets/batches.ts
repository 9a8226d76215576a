/**
 * Proxy batches (MFNAS.md §2): `batches` × `batchSize` distinct images drawn with a seeded
 * generator, each with the training transform (random zero-padded crop + horizontal flip),
 * normalised, NHWC. The same seed gives the same batches, so scores across architectures in a run
 * are comparable.
 */
import { InputError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { datasetInfo, datasetLabel } from './registry.js';
import type { ImageSet } from './imageSet.js';
import { drawCropFlip, identityCropFlip, normaliseImages, transformImage } from './transforms.js';

export interface Batch {
  /** n × height × width × 3, normalised. */
  x: Float32Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  /** Which images of the set these are (in batch order). */
  indices: Int32Array;
}

export interface ProxyBatchOptions {
  batchSize?: number;
  batches?: number;
  seed: number;
  /** Apply the training transform (default true); false gives plain normalised images. */
  augment?: boolean;
}

export const DEFAULT_BATCH_SIZE = 128;
export const DEFAULT_BATCHES = 2;

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new InputError(`${what} must be a positive integer, got ${v}`);
  return v;
}

/** A batch layout that fits `available` images: keep the batch count if possible, shrink the size. */
export function suggestBatchLayout(available: number, batches: number): { batches: number; batchSize: number } {
  if (available >= batches) return { batches, batchSize: Math.floor(available / batches) };
  return { batches: 1, batchSize: Math.max(1, available) };
}

export function makeProxyBatches(set: ImageSet, opt: ProxyBatchOptions): Batch[] {
  const batchSize = positiveInt(opt.batchSize ?? DEFAULT_BATCH_SIZE, 'batch size');
  const batches = positiveInt(opt.batches ?? DEFAULT_BATCHES, 'number of batches');
  if (!Number.isInteger(opt.seed)) throw new InputError(`seed must be an integer, got ${opt.seed}`);
  const need = batchSize * batches;
  if (set.n < need) {
    const s = suggestBatchLayout(set.n, batches);
    throw new InputError(
      `${datasetLabel(set.dataset)} (${set.split}) has only ${set.n} images, fewer than ${batches} batches × ${batchSize} = ${need}: ` +
        `use e.g. ${s.batches} batch${s.batches === 1 ? '' : 'es'} of ${s.batchSize} ` +
        `(${s.batches} × ${s.batchSize} = ${s.batches * s.batchSize} images)`,
    );
  }
  const info = datasetInfo(set.dataset);
  const res = set.resolution;
  const imageBytes = 3 * res * res;
  if (set.pixels.length < set.n * imageBytes) {
    throw new Error(`image set has ${set.pixels.length} pixel bytes, expected ${set.n} × ${imageBytes}`);
  }
  const rng = new Rng(opt.seed);
  // Separate streams: which images, and how each is augmented.
  const chosen = rng.derive('images').sampleIndices(set.n, need);
  const aug = rng.derive('augment');
  const augment = opt.augment ?? true;
  const out: Batch[] = [];
  for (let b = 0; b < batches; b++) {
    const x = new Float32Array(batchSize * imageBytes);
    const labels = new Int32Array(batchSize);
    const indices = new Int32Array(batchSize);
    for (let k = 0; k < batchSize; k++) {
      const idx = chosen[b * batchSize + k];
      indices[k] = idx;
      labels[k] = set.labels[idx];
      const t = augment ? drawCropFlip(aug, info.cropPadding) : identityCropFlip(info.cropPadding);
      transformImage(set.pixels, idx * imageBytes, 3, res, res, info.cropPadding, t, info, x, k * imageBytes);
    }
    out.push({ x, labels, n: batchSize, height: res, width: res, indices });
  }
  return out;
}

/**
 * Plain evaluation batch: the given images (default all) normalised, NHWC, no augmentation.
 */
export function normalise(set: ImageSet, indices?: ArrayLike<number>): Batch {
  const info = datasetInfo(set.dataset);
  const res = set.resolution;
  const imageBytes = 3 * res * res;
  const idx = indices ? Int32Array.from(indices) : Int32Array.from({ length: set.n }, (_, i) => i);
  const n = idx.length;
  let pixels = set.pixels;
  let labels: Int32Array;
  if (indices) {
    pixels = new Uint8Array(n * imageBytes);
    labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      if (!(i >= 0 && i < set.n)) throw new InputError(`image index ${i} is outside 0..${set.n - 1}`);
      pixels.set(set.pixels.subarray(i * imageBytes, (i + 1) * imageBytes), k * imageBytes);
      labels[k] = set.labels[i];
    }
  } else {
    labels = set.labels.slice(0, n);
  }
  return { x: normaliseImages(pixels, n, res, info), labels, n, height: res, width: res, indices: idx };
}

/**
 * The batch at a lower input resolution: each output pixel is the mean of a factor × factor
 * block (a box filter, as torch's `avg_pool2d` / area resize does), `factor` = height / size.
 * A cheaper proxy input for fully convolutional networks with global pooling (the NATS-Bench
 * networks); the pixels are averaged after normalisation, which the box filter commutes with.
 */
export function downsampleBatch(batch: Batch, size: number): Batch {
  if (!Number.isInteger(size) || size < 1 || batch.height % size !== 0 || batch.width % size !== 0 || batch.height !== batch.width) {
    throw new InputError(`cannot resize ${batch.height}×${batch.width} proxy images to ${size}×${size}: use a size that divides ${batch.height} (e.g. ${batch.height / 2})`);
  }
  const f = batch.height / size;
  if (f === 1) return batch;
  const src = batch.x, w = batch.width;
  const x = new Float32Array(batch.n * size * size * 3);
  const inv = 1 / (f * f);
  for (let k = 0; k < batch.n; k++) {
    const base = k * batch.height * w * 3;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let di = 0; di < f; di++) for (let dj = 0; dj < f; dj++) s += src[base + ((i * f + di) * w + (j * f + dj)) * 3 + c];
          x[((k * size + i) * size + j) * 3 + c] = Math.fround(s * inv);
        }
      }
    }
  }
  return { ...batch, x, height: size, width: size };
}

/**
 * Downsampled ImageNet 16x16 (Chrabaszcz et al. 2017) in the pickle layout read by the
 * NATS-Bench / NAS-Bench-201 ImageNet16 loader: each file is a pickled dict with
 *   data   = numpy uint8 [N, 768] (R, G, B planes of 16x16, row-major),
 *   labels = N ints, 1-indexed over the 1000 classes.
 * Train split = `ImageNet16/train_data_batch_<k>` (all present, by number); test = `ImageNet16/val_data`.
 * ImageNet16-120 keeps the images with label <= 120 and subtracts 1 (labels 0..119).
 */
import { join } from 'node:path';
import { DataError } from '../util/errors.js';
import { concatImages, FETCH_HINT, numberedFiles, readDataFile, type RawImages } from './files.js';
import { ForbiddenGlobalError, NdArray, toIntArray, unpickle } from './pickle.js';
import type { Split } from './cifar.js';

export const IMAGENET16_DIR = 'ImageNet16';
export const IMAGENET16_IMAGE_BYTES = 3 * 16 * 16;
export const IMAGENET16_CLASSES = 1000;

function corrupt(path: string, why: string): DataError {
  return new DataError(`corrupt ImageNet16 file ${path}: ${why}; re-download it (${FETCH_HINT})`);
}

function getKey(dict: Map<unknown, unknown>, key: string): unknown {
  if (dict.has(key)) return dict.get(key);
  // Keys written by Python 3 as bytes (b'data') arrive as Uint8Array.
  for (const [k, v] of dict) {
    if (k instanceof Uint8Array && Buffer.from(k).toString('latin1') === key) return v;
  }
  return undefined;
}

/** Decode one ImageNet16 pickle (all 1000 classes, labels as stored: 1..1000). */
export function parseImageNet16Pickle(bytes: Uint8Array, path: string): RawImages {
  let obj: unknown;
  try {
    obj = unpickle(bytes);
  } catch (e) {
    if (e instanceof ForbiddenGlobalError) throw new DataError(`${path}: ${e.message}; replace it with the official file (${FETCH_HINT})`);
    throw corrupt(path, `cannot unpickle it (${(e as Error).message})`);
  }
  if (!(obj instanceof Map)) throw corrupt(path, 'the pickle is not a dict');
  const data = getKey(obj, 'data');
  const labelsValue = getKey(obj, 'labels');
  if (data === undefined || labelsValue === undefined) {
    throw corrupt(path, `the dict has no '${data === undefined ? 'data' : 'labels'}' entry`);
  }
  if (!(data instanceof NdArray) || data.dtype === null) throw corrupt(path, "'data' is not a numpy array");
  if (data.dtype.code !== 'u1') throw corrupt(path, `'data' has dtype ${data.dtype.code}, not uint8`);
  if (data.shape.length !== 2 || data.shape[1] !== IMAGENET16_IMAGE_BYTES) {
    throw corrupt(path, `'data' has shape [${data.shape.join(', ')}], not [N, ${IMAGENET16_IMAGE_BYTES}]`);
  }
  const n = data.shape[0];
  if (data.data.length !== n * IMAGENET16_IMAGE_BYTES) {
    throw corrupt(path, `'data' holds ${data.data.length} bytes, not ${n} x ${IMAGENET16_IMAGE_BYTES}`);
  }
  let labels: Int32Array;
  try {
    labels = toIntArray(labelsValue, "'labels'");
  } catch (e) {
    throw corrupt(path, (e as Error).message);
  }
  if (labels.length !== n) throw corrupt(path, `${labels.length} labels for ${n} images`);
  for (let i = 0; i < n; i++) {
    if (labels[i] < 1 || labels[i] > IMAGENET16_CLASSES) {
      throw corrupt(path, `label ${labels[i]} of image ${i} is outside 1..${IMAGENET16_CLASSES}`);
    }
  }
  let pixels = data.data;
  if (data.fortranOrder && n > 1) {
    // Column-major [N, 768]: element (i, j) is at j * N + i.
    pixels = new Uint8Array(n * IMAGENET16_IMAGE_BYTES);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < IMAGENET16_IMAGE_BYTES; j++) pixels[i * IMAGENET16_IMAGE_BYTES + j] = data.data[j * n + i];
    }
  }
  return { n, pixels, labels };
}

/** Keep images with 1 <= label <= maxClass and make labels 0-based (ImageNet16-120: maxClass 120). */
export function filterClasses(images: RawImages, maxClass: number): RawImages {
  let kept = 0;
  for (let i = 0; i < images.n; i++) if (images.labels[i] >= 1 && images.labels[i] <= maxClass) kept++;
  const pixels = new Uint8Array(kept * IMAGENET16_IMAGE_BYTES);
  const labels = new Int32Array(kept);
  let k = 0;
  for (let i = 0; i < images.n; i++) {
    const l = images.labels[i];
    if (l < 1 || l > maxClass) continue;
    pixels.set(images.pixels.subarray(i * IMAGENET16_IMAGE_BYTES, (i + 1) * IMAGENET16_IMAGE_BYTES), k * IMAGENET16_IMAGE_BYTES);
    labels[k++] = l - 1;
  }
  return { n: kept, pixels, labels };
}

export function imageNet16Files(dataDir: string, split: Split): string[] {
  const dir = join(dataDir, IMAGENET16_DIR);
  if (split === 'test') return [join(dir, 'val_data')];
  const names = numberedFiles(dir, /^train_data_batch_(\d+)$/);
  if (names.length === 0) {
    throw new DataError(`missing data files: no ${join(dir, 'train_data_batch_*')} found (${FETCH_HINT})`);
  }
  return names.map((name) => join(dir, name));
}

/** ImageNet16 restricted to its first `maxClass` classes (labels 0..maxClass-1), filtering file by file. */
export function loadImageNet16(dataDir: string, split: Split, maxClass = 120): RawImages {
  const parts = imageNet16Files(dataDir, split).map((p) =>
    filterClasses(parseImageNet16Pickle(readDataFile(p), p), maxClass),
  );
  return concatImages(parts, IMAGENET16_IMAGE_BYTES);
}

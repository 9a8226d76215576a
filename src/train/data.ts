/**
 * The training and test images as the trainer consumes them: a per-epoch shuffle and the
 * per-batch augmentation, both drawn from generators derived from (seed, epoch[, batch]) alone,
 * so that any batch of any epoch can be rebuilt on its own — which is what makes a resumed run
 * (even one stopped mid-epoch) identical to an uninterrupted one.
 */
import { createHash } from 'node:crypto';
import type { ImageSet } from '../datasets/imageSet.js';
import { drawCropFlip, identityCropFlip, transformImage, type Normalisation } from '../datasets/transforms.js';
import { Rng } from '../util/rng.js';

/** What the transform needs to know about a dataset. */
export interface ImageFormat extends Normalisation {
  readonly resolution: number;
  /** Zero padding of the random crop (4 for 32×32 images, 2 for 16×16). */
  readonly cropPadding: number;
}

export interface ImageBatch {
  /** count × H × W × 3, normalised. */
  readonly x: Float32Array;
  readonly labels: Int32Array;
}

function epochRng(seed: number, epoch: number): Rng {
  return new Rng(seed).derive(`train/epoch${epoch}`);
}

/**
 * The order in which epoch `epoch` (0-based) visits the first `n` training images: a uniform
 * random permutation, as a DataLoader with shuffle=True draws one per epoch.
 */
export function epochOrder(seed: number, epoch: number, n: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rng = epochRng(seed, epoch).derive('order');
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Batches of `batch` images per epoch; the last one holds the rest (kept, as drop_last=False). */
export function batchesPerEpoch(n: number, batch: number): number {
  return Math.ceil(n / batch);
}

/**
 * Batch `b` of epoch `epoch`: images order[b·batch …] with the training transform (random crop
 * with zero padding, then a horizontal flip with p = ½), normalised. Each batch draws from its
 * own generator, so it depends on (seed, epoch, b) only.
 */
export function trainBatch(
  set: ImageSet, format: ImageFormat, order: Int32Array, seed: number, epoch: number, b: number, batch: number,
): ImageBatch {
  const start = b * batch;
  const count = Math.min(batch, order.length - start);
  if (!(count > 0)) throw new Error(`batch ${b} is past the end of the epoch (${order.length} images)`);
  const rng = epochRng(seed, epoch).derive(`augment${b}`);
  const res = format.resolution;
  const imageBytes = 3 * res * res;
  const x = new Float32Array(count * imageBytes);
  const labels = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const idx = order[start + k];
    labels[k] = set.labels[idx];
    const t = drawCropFlip(rng, format.cropPadding);
    transformImage(set.pixels, idx * imageBytes, 3, res, res, format.cropPadding, t, format, x, k * imageBytes);
  }
  return { x, labels };
}

/** Images start … start+count−1 of a set, normalised without augmentation. */
export function plainBatch(set: ImageSet, format: ImageFormat, start: number, count: number): ImageBatch {
  const res = format.resolution;
  const imageBytes = 3 * res * res;
  const x = new Float32Array(count * imageBytes);
  const labels = new Int32Array(count);
  const centre = identityCropFlip(format.cropPadding);
  for (let k = 0; k < count; k++) {
    labels[k] = set.labels[start + k];
    transformImage(set.pixels, (start + k) * imageBytes, 3, res, res, format.cropPadding, centre, format, x, k * imageBytes);
  }
  return { x, labels };
}

/**
 * SHA-256 of the first `n` images and labels of a set: a resumed run checks that it trains on
 * the same data it started with.
 */
export function imageFingerprint(set: ImageSet, n: number): string {
  const imageBytes = 3 * set.resolution * set.resolution;
  const h = createHash('sha256');
  h.update(`${n}x${set.resolution}\n`);
  h.update(set.pixels.subarray(0, n * imageBytes));
  h.update(new Uint8Array(set.labels.buffer, set.labels.byteOffset, n * 4));
  return h.digest('hex');
}

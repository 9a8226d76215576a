/**
 * Image transforms, matching torchvision's CIFAR / ImageNet16 training pipeline
 *   RandomCrop(size, padding=p) → RandomHorizontalFlip(0.5) → ToTensor → Normalize(mean/255, std/255)
 * on uint8 images stored as channel planes (C × H × W). Padding is zeros in raw pixel space, so a
 * padded pixel becomes (0 − mean)/std after normalisation. Output is NHWC float32.
 */
import type { Rng } from '../util/rng.js';
import type { DatasetInfo } from './registry.js';

/** A crop offset into the zero-padded image (0..2·padding each) and whether to mirror. */
export interface CropFlip {
  top: number;
  left: number;
  flip: boolean;
}

export interface Normalisation {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** (value − mean[c]) / std[c], all in 0..255 units. */
export function normaliseValue(value: number, channel: number, norm: Normalisation): number {
  return (value - norm.mean[channel]) / norm.std[channel];
}

/**
 * Draw the random crop + flip of one image, in this order: top offset, left offset (each uniform
 * in 0..2·padding, as torchvision's RandomCrop draws i then j), then flip with p = 0.5.
 */
export function drawCropFlip(rng: Rng, padding: number): CropFlip {
  const top = rng.int(2 * padding + 1);
  const left = rng.int(2 * padding + 1);
  const flip = rng.bernoulli(0.5);
  return { top, left, flip };
}

/** The identity transform for a given padding (centre crop, no flip). */
export function identityCropFlip(padding: number): CropFlip {
  return { top: padding, left: padding, flip: false };
}

/**
 * Crop + flip + normalise one C×H×W uint8 image (at `src[srcOffset..]`) into NHWC float32
 * (`out[outOffset..]`, H × W × C). Output pixel (y, x) takes padded-image pixel
 * (y + top, x' + left) with x' = flip ? W−1−x : x, i.e. original pixel (y + top − p, x' + left − p),
 * or 0 (raw) outside the image.
 */
export function transformImage(
  src: Uint8Array,
  srcOffset: number,
  channels: number,
  height: number,
  width: number,
  padding: number,
  t: CropFlip,
  norm: Normalisation,
  out: Float32Array,
  outOffset: number,
): void {
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    const mean = norm.mean[c];
    const std = norm.std[c];
    const zero = (0 - mean) / std;
    const base = srcOffset + c * plane;
    for (let y = 0; y < height; y++) {
      const sy = y + t.top - padding;
      const rowOut = outOffset + y * width * channels + c;
      if (sy < 0 || sy >= height) {
        for (let x = 0; x < width; x++) out[rowOut + x * channels] = zero;
        continue;
      }
      const rowIn = base + sy * width;
      for (let x = 0; x < width; x++) {
        const sx = (t.flip ? width - 1 - x : x) + t.left - padding;
        out[rowOut + x * channels] = sx < 0 || sx >= width ? zero : (src[rowIn + sx] - mean) / std;
      }
    }
  }
}

/**
 * NCHW → NHWC for any numeric array (copies; `out` may be supplied). Element (n, c, h, w) of the
 * input is at ((n·C + c)·H + h)·W + w; of the output at ((n·H + h)·W + w)·C + c.
 */
export function nchwToNhwc<T extends Float32Array | Uint8Array>(
  src: ArrayLike<number>,
  n: number,
  c: number,
  h: number,
  w: number,
  out?: T,
): T {
  const total = n * c * h * w;
  if (src.length < total) throw new Error(`nchwToNhwc: input has ${src.length} values, need ${total}`);
  const dst = (out ?? new Float32Array(total)) as T;
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const inBase = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) dst[(i * plane + p) * c + ch] = src[inBase + p];
    }
  }
  return dst;
}

/** Normalise C×H×W uint8 images (no augmentation) into NHWC float32. */
export function normaliseImages(
  pixels: Uint8Array,
  n: number,
  resolution: number,
  norm: Normalisation | DatasetInfo,
): Float32Array {
  const out = nchwToNhwc(pixels, n, 3, resolution, resolution, new Float32Array(n * 3 * resolution * resolution));
  for (let i = 0; i < out.length; i++) {
    const c = i % 3;
    out[i] = (out[i] - norm.mean[c]) / norm.std[c];
  }
  return out;
}

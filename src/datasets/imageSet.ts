/** The in-memory image set every consumer works with, and the loader that dispatches on dataset. */
import { resolve } from 'node:path';
import { datasetInfo, type DatasetName } from './registry.js';
import { loadCifar, type Split } from './cifar.js';
import { loadImageNet16 } from './imagenet16.js';
import { requireDataDir, type DataDirOptions } from './dataDir.js';

export type { Split } from './cifar.js';

export interface ImageSet {
  dataset: DatasetName;
  split: Split;
  /** Number of images. */
  n: number;
  /** Images are resolution × resolution. */
  resolution: number;
  /** n × 3 × H × W bytes: per image the R, G, B planes, row-major, as in the files. */
  pixels: Uint8Array;
  /** Class labels, 0-based (0 .. classes-1). */
  labels: Int32Array;
}

export interface LoadOptions {
  /** Data directory; when omitted it is resolved like `--data-dir` / MFNAS_DATA_DIR / ../shared/data. */
  dataDir?: string | null;
  split?: Split;
  /** Passed to the data-dir resolution when dataDir is omitted. */
  env?: DataDirOptions['env'];
  cwd?: string;
}

const cache = new Map<string, ImageSet>();

/**
 * Load a dataset split (default 'train'). Results are cached per (dataset, split, data dir)
 * for the life of the process; treat the returned arrays as read-only.
 */
export function loadImageSet(dataset: DatasetName, opt: LoadOptions = {}): ImageSet {
  const split = opt.split ?? 'train';
  const dataDir = resolve(requireDataDir({ dataDir: opt.dataDir, env: opt.env, cwd: opt.cwd }));
  const key = `${dataset}\u0000${split}\u0000${dataDir}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const info = datasetInfo(dataset);
  const raw =
    dataset === 'ImageNet16-120' ? loadImageNet16(dataDir, split, info.classes) : loadCifar(dataDir, dataset, split);
  const set: ImageSet = { dataset, split, n: raw.n, resolution: info.resolution, pixels: raw.pixels, labels: raw.labels };
  cache.set(key, set);
  return set;
}

/** Forget cached image sets (tests; or after the files changed). */
export function clearImageSetCache(): void {
  cache.clear();
}

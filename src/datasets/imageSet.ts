/** The in-memory image set every consumer works with, and the loader that dispatches on dataset. */
import { resolve } from 'node:path';
import { datasetInfo, datasetRef, isFolderDataset, type DatasetName, type DatasetRef } from './registry.js';
import type { RawImages } from './files.js';
import { loadCifar, type Split } from './cifar.js';
import { loadImageNet16 } from './imagenet16.js';
import { requireDataDir, type DataDirOptions } from './dataDir.js';
import { clearImageFolderMemory, loadFolderSplit } from './imageFolder/index.js';

export type { Split } from './cifar.js';

export interface ImageSet {
  /** A builtin's name, or the folder dataset (see `datasetRef`). */
  dataset: DatasetRef;
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

/**
 * How each NATS-Bench dataset reads its files. Typed by `DatasetName`, so adding a builtin to
 * the registry makes the compiler ask for its loader here.
 */
const BUILTIN_LOADERS: Readonly<Record<DatasetName, (dataDir: string, split: Split) => RawImages>> = {
  cifar10: (dir, split) => loadCifar(dir, 'cifar10', split),
  cifar100: (dir, split) => loadCifar(dir, 'cifar100', split),
  'ImageNet16-120': (dir, split) => loadImageNet16(dir, split, datasetInfo('ImageNet16-120').classes),
};

const cache = new Map<string, ImageSet>();

/**
 * Load a dataset split (default 'train'). Results are cached per (dataset, split, data dir)
 * for the life of the process; treat the returned arrays as read-only. A folder dataset (from
 * `resolveDataset` / `openImageFolder`) comes from its decoded-image cache; the data dir plays
 * no part in it.
 */
export function loadImageSet(datasetGiven: DatasetRef, opt: LoadOptions = {}): ImageSet {
  const split = opt.split ?? 'train';
  const dataset = datasetRef(datasetGiven);
  if (isFolderDataset(dataset)) {
    const s = loadFolderSplit(dataset, split);
    return { dataset, split, n: s.n, resolution: dataset.resolution, pixels: s.pixels, labels: s.labels };
  }
  const dataDir = resolve(requireDataDir({ dataDir: opt.dataDir, env: opt.env, cwd: opt.cwd }));
  const key = `${dataset}\u0000${split}\u0000${dataDir}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const raw = BUILTIN_LOADERS[dataset](dataDir, split);
  const set: ImageSet = { dataset, split, n: raw.n, resolution: datasetInfo(dataset).resolution, pixels: raw.pixels, labels: raw.labels };
  cache.set(key, set);
  return set;
}

/** Forget cached image sets (tests; or after the files changed). */
export function clearImageSetCache(): void {
  cache.clear();
  clearImageFolderMemory();
}

/**
 * The datasets: the three NATS-Bench ones (names, shapes and normalisation constants, MFNAS.md
 * §2) and a user's own image folder (src/datasets/imageFolder). Everything else that depends on
 * "which dataset" (class count, resolution, padding of the random crop, benchmark-table columns)
 * reads it from here, through `datasetInfo`, so a folder dataset flows wherever a builtin does.
 */
import { InputError } from '../util/errors.js';

export type DatasetName = 'cifar10' | 'cifar100' | 'ImageNet16-120';

/** What every dataset provides, builtin or folder. */
export interface DatasetShape {
  /** A builtin's name, or a folder dataset's folder name. */
  readonly name: string;
  readonly classes: number;
  /** Images are square: resolution x resolution, 3 channels. */
  readonly resolution: number;
  /** Zero padding of the random crop in the training transform. */
  readonly cropPadding: number;
  /** Per-channel mean and std in 0..255 units (R, G, B). */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** A NATS-Bench dataset (its tables have accuracies for it). */
export interface DatasetInfo extends DatasetShape {
  /** Absent in the constants below: a value without `kind: 'folder'` is builtin. */
  readonly kind?: 'builtin';
  readonly name: DatasetName;
}

export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  cifar10: {
    name: 'cifar10', classes: 10, resolution: 32, cropPadding: 4,
    mean: [125.3, 123.0, 113.9], std: [63.0, 62.1, 66.7],
  },
  cifar100: {
    name: 'cifar100', classes: 100, resolution: 32, cropPadding: 4,
    mean: [129.3, 124.1, 112.4], std: [68.2, 65.4, 70.4],
  },
  'ImageNet16-120': {
    name: 'ImageNet16-120', classes: 120, resolution: 16, cropPadding: 2,
    mean: [122.68, 116.66, 104.01], std: [63.22, 61.26, 65.09],
  },
};

export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

/** Accepts the canonical names and common spellings (CIFAR-10, imagenet16-120, ...). */
export function parseDatasetName(text: string): DatasetName {
  const key = text.trim().toLowerCase().replace(/[-_ ]/g, '');
  const aliases: Record<string, DatasetName> = {
    cifar10: 'cifar10',
    cifar100: 'cifar100',
    imagenet16120: 'ImageNet16-120',
    imagenet16: 'ImageNet16-120',
    imagenet: 'ImageNet16-120',
  };
  const name = aliases[key];
  if (!name) {
    throw new InputError(`unknown dataset '${text}': use one of ${DATASET_NAMES.join(', ')}`);
  }
  return name;
}

/**
 * A user's image folder opened as a dataset (`openImageFolder`, `resolveDataset`). Plain data
 * (it crosses to worker threads): the decoded images live in a content-keyed disk cache that
 * `loadImageSet` reads.
 */
export interface FolderDataset extends DatasetShape {
  readonly kind: 'folder';
  /** Absolute path of the folder (holding train/ and optionally test/). */
  readonly dir: string;
  /** Class folder names in label order (sorted). */
  readonly classNames: readonly string[];
  /** Images were resized to imageSize x imageSize (= resolution). */
  readonly imageSize: number;
  /** SHA-256 (hex) of the folder's content, the image size and the decoder version: the cache key. */
  readonly fingerprint: string;
  /** Decoded-image cache file (see imageFolder/cache.ts). */
  readonly cacheFile: string;
  /** Images per split (after skipping bad files); test is null without a test/ folder. */
  readonly counts: { readonly train: number; readonly test: number | null };
  /** Bad files skipped with `skipBad` (0 otherwise: bad files are an error). */
  readonly skipped: number;
  /** The first few skipped files (relative paths) with the reason, for the notice. */
  readonly skippedExamples: readonly string[];
}

/** Any dataset value. */
export type Dataset = DatasetInfo | FolderDataset;

/**
 * What functions taking "a dataset" accept: a builtin's name (as before folders existed) or a
 * dataset value.
 */
export type DatasetRef = DatasetName | Dataset;

export function isFolderDataset(d: DatasetRef): d is FolderDataset {
  return typeof d === 'object' && d !== null && d.kind === 'folder';
}

/**
 * The dataset's facts: a builtin's constants, or the folder dataset itself. A string must be a
 * builtin's name (e.g. `NetworkSpec.dataset` of a builtin); anything else is an InputError.
 */
export function datasetInfo(name: DatasetName): DatasetInfo;
export function datasetInfo(ref: DatasetRef | string): Dataset;
export function datasetInfo(ref: DatasetRef | string): Dataset {
  if (typeof ref === 'string') {
    const info = Object.hasOwn(DATASETS, ref) ? DATASETS[ref as DatasetName] : undefined;
    if (!info) throw new InputError(`unknown dataset '${String(ref)}': use one of ${DATASET_NAMES.join(', ')}`);
    return info;
  }
  if (isFolderDataset(ref)) return ref;
  return datasetInfo(ref.name);
}

/**
 * The canonical reference: a builtin as its name (so network specs and results of builtins
 * look exactly as before), a folder as its value.
 */
export function datasetRef(ref: DatasetRef): DatasetName | FolderDataset {
  return isFolderDataset(ref) ? ref : (datasetInfo(ref) as DatasetInfo).name;
}

/** The NATS-Bench name, or null for a folder (which has no benchmark accuracies). */
export function builtinName(ref: DatasetRef): DatasetName | null {
  return isFolderDataset(ref) ? null : (datasetInfo(ref) as DatasetInfo).name;
}

/** How results and messages name a dataset: a builtin's name, a folder's absolute path. */
export function datasetLabel(ref: DatasetRef): string {
  return isFolderDataset(ref) ? ref.dir : datasetInfo(ref).name;
}

/**
 * The dataset part of a score-cache key: a builtin's name, or `folder:<fingerprint>` so that a
 * changed folder (other images, other size, other decoder) never reuses old scores.
 */
export function datasetKey(ref: DatasetRef): string {
  return isFolderDataset(ref) ? `folder:${ref.fingerprint}` : datasetInfo(ref).name;
}

/** Crop padding of a folder dataset: CIFAR's 4 at 32 px, scaled like ImageNet16's 2 at 16 px. */
export function cropPaddingFor(size: number): number {
  return Math.round(size / 8);
}

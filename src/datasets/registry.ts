/**
 * The three NATS-Bench datasets: their names, shapes and normalisation constants (MFNAS.md §2).
 * Everything else that depends on "which dataset" (class count, resolution, padding of the
 * random crop, benchmark-table columns) reads it from here.
 */
import { InputError } from '../util/errors.js';

export type DatasetName = 'cifar10' | 'cifar100' | 'ImageNet16-120';

export interface DatasetInfo {
  readonly name: DatasetName;
  readonly classes: number;
  /** Images are square: resolution x resolution, 3 channels. */
  readonly resolution: number;
  /** Zero padding of the random crop in the training transform. */
  readonly cropPadding: number;
  /** Per-channel mean and std in 0..255 units (R, G, B). */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
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

export function datasetInfo(name: DatasetName): DatasetInfo {
  return DATASETS[name];
}

/**
 * CIFAR-10 / CIFAR-100 in the official binary layout.
 *   CIFAR-10  `cifar-10-batches-bin/data_batch_<k>.bin`, `test_batch.bin`:
 *             records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32, row-major).
 *   CIFAR-100 `cifar-100-binary/train.bin`, `test.bin`:
 *             records of 1 coarse-label byte + 1 fine-label byte + 3072 pixel bytes; we use the fine label.
 * Any number of records per file is accepted.
 */
import { join } from 'node:path';
import { DataError } from '../util/errors.js';
import { concatImages, FETCH_HINT, numberedFiles, readDataFile, type RawImages } from './files.js';

export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;
export const CIFAR10_DIR = 'cifar-10-batches-bin';
export const CIFAR100_DIR = 'cifar-100-binary';

export type Split = 'train' | 'test';

export interface CifarFormat {
  /** Label bytes before the pixels (1 for CIFAR-10, 2 for CIFAR-100). */
  labelBytes: 1 | 2;
  /** Which of the label bytes is the class label (CIFAR-100: 1 = fine). */
  labelIndex: number;
  classes: number;
  /** CIFAR-100: classes of the coarse label (the other label byte), checked though unused. */
  coarseClasses?: number;
}

export const CIFAR10_FORMAT: CifarFormat = { labelBytes: 1, labelIndex: 0, classes: 10 };
export const CIFAR100_FORMAT: CifarFormat = { labelBytes: 2, labelIndex: 1, classes: 100, coarseClasses: 20 };

/** Decode the records of a buffer; `path` is only used in error messages. */
export function parseCifarRecords(bytes: Uint8Array, format: CifarFormat, path: string): RawImages {
  const rec = format.labelBytes + CIFAR_IMAGE_BYTES;
  if (bytes.length % rec !== 0) {
    throw new DataError(
      `truncated: ${path} has ${bytes.length} bytes, not a multiple of ${rec}-byte records; re-download it (${FETCH_HINT})`,
    );
  }
  const n = bytes.length / rec;
  const pixels = new Uint8Array(n * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    const label = bytes[o + format.labelIndex];
    if (label >= format.classes) {
      throw new DataError(
        `bad label in ${path}: record ${i} has class ${label}, expected 0..${format.classes - 1} ` +
          `(wrong file for this dataset?)`,
      );
    }
    // A valid fine label with a coarse byte out of range means misaligned or foreign records.
    if (format.coarseClasses !== undefined && bytes[o] >= format.coarseClasses) {
      throw new DataError(
        `bad label in ${path}: record ${i} has coarse class ${bytes[o]}, expected 0..${format.coarseClasses - 1} ` +
          `(wrong file for this dataset?)`,
      );
    }
    labels[i] = label;
    pixels.set(bytes.subarray(o + format.labelBytes, o + rec), i * CIFAR_IMAGE_BYTES);
  }
  return { n, pixels, labels };
}

export function readCifarFile(path: string, format: CifarFormat): RawImages {
  return parseCifarRecords(readDataFile(path), format, path);
}

/** The files of a CIFAR split under `dataDir` (train of CIFAR-10 = every data_batch_*.bin present). */
export function cifarFiles(dataDir: string, which: 'cifar10' | 'cifar100', split: Split): string[] {
  if (which === 'cifar100') return [join(dataDir, CIFAR100_DIR, split === 'train' ? 'train.bin' : 'test.bin')];
  const dir = join(dataDir, CIFAR10_DIR);
  if (split === 'test') return [join(dir, 'test_batch.bin')];
  const names = numberedFiles(dir, /^data_batch_(\d+)\.bin$/);
  if (names.length === 0) {
    throw new DataError(`missing data files: no ${join(dir, 'data_batch_*.bin')} found (${FETCH_HINT})`);
  }
  return names.map((name) => join(dir, name));
}

export function loadCifar(dataDir: string, which: 'cifar10' | 'cifar100', split: Split): RawImages {
  const format = which === 'cifar10' ? CIFAR10_FORMAT : CIFAR100_FORMAT;
  const parts = cifarFiles(dataDir, which, split).map((p) => readCifarFile(p, format));
  return concatImages(parts, CIFAR_IMAGE_BYTES);
}

/** Small file helpers shared by the dataset loaders: reads that fail with a DataError naming the path. */
import { readdirSync, statSync } from 'node:fs';
import { DataError } from '../util/errors.js';
import { readRegularFileSync } from '../util/regularFile.js';

/** Decoded images of one file or split: `pixels` is n × 3 × H × W (channel planes, as stored). */
export interface RawImages {
  n: number;
  pixels: Uint8Array;
  labels: Int32Array;
}

export const FETCH_HINT = 'check --data-dir / MFNAS_DATA_DIR or run `mfnas data fetch`';

/**
 * A data file's bytes. Only a regular file is read (symlinks followed): a FIFO or a device in the
 * data folder is a one-line DataError, never a blocked or endless read.
 */
export function readDataFile(path: string): Uint8Array {
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DataError(`missing data file: ${path} does not exist (${FETCH_HINT})`);
  }
  return readRegularFileSync(path, { what: 'the data file', hint: FETCH_HINT });
}

/**
 * Files in `dir` matching `pattern` (whose first capture group is a number), sorted by that
 * number (so batch_10 comes after batch_9). A missing directory gives an empty list.
 */
export function numberedFiles(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: pattern.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || a.name.localeCompare(b.name))
    .map((e) => e.name);
}

export function concatImages(parts: RawImages[], imageBytes: number): RawImages {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.n, 0);
  const pixels = new Uint8Array(n * imageBytes);
  const labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels.subarray(0, p.n * imageBytes), at * imageBytes);
    labels.set(p.labels.subarray(0, p.n), at);
    at += p.n;
  }
  return { n, pixels, labels };
}

/**
 * NAS-Bench-Macro's table (`<dataDir>/nas-bench-macro/nas-bench-macro_cifar10.json`, the
 * authors' file, see ../shared/data/nas-bench-macro/SOURCE.md): one entry per 8-digit
 * architecture with `test_acc` (three trainings on CIFAR-10, 50 epochs, each the best test
 * accuracy over the epochs), `mean_acc`, `std`, `params` and `flops`.
 *
 * `testAccuracy('cifar10', index)` is the mean of the three `test_acc` values, computed here in
 * float64 ((a + b + c) / 3) rather than read from `mean_acc`; other datasets have no values
 * (null). Rows are in the space's index order (the key read as a base-3 number). A missing file
 * gives a null table; a malformed one throws a DataError naming the path and the problem. The
 * file is parsed once per process (re-read if its size or mtime changes).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetName } from '../datasets/registry.js';
import { DataError, InputError, quoteInput } from '../util/errors.js';
import { readRegularFileSync } from '../util/regularFile.js';
import { MACRO_SIZE, macroIndexOf, parseMacroArch } from '../spaces/macro/arch.js';
import type { BenchTable } from '../spaces/types.js';

export const MACRO_BENCH_DIR = 'nas-bench-macro';
export const MACRO_TABLE_FILE = 'nas-bench-macro_cifar10.json';

export interface MacroTable extends BenchTable {
  readonly path: string;
  /** 6,561. */
  readonly size: number;
  /** The 8-digit architecture string of an index. */
  archString(index: number): string;
  /** The three `test_acc` values (%) of an index, in the file's order. */
  testAccuracyRuns(index: number): readonly [number, number, number];
  /** Mean of the three `test_acc` values (%) for cifar10; null for other datasets. */
  testAccuracy(dataset: DatasetName, index: number): number | null;
  /** All cifar10 mean accuracies by index (do not modify); null for other datasets. */
  testAccuracies(dataset: DatasetName): Float64Array | null;
  /** The table's parameter count (the same for every dataset: it is CIFAR-10's, 10 classes); null for other datasets. */
  params(dataset: DatasetName, index: number): number | null;
  /** The table's `flops`: multiply-adds of one 32×32 image. */
  flops(index: number): number;
  /** The table's `mean_acc` as written. */
  meanAcc(index: number): number;
}

/** The table's path under a data folder. */
export function macroTablePath(dataDir: string): string {
  return path.join(path.resolve(dataDir), MACRO_BENCH_DIR, MACRO_TABLE_FILE);
}

const cache = new Map<string, { size: number; mtimeMs: number; table: MacroTable }>();

export function clearMacroTableCache(): void {
  cache.clear();
}

/** Load the Macro table; null if `file` does not exist (or is not a file). */
export function loadMacroTable(file: string): MacroTable | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return null;
  }
  if (!st.isFile()) return null;
  const hit = cache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.table;
  const table = buildMacroTable(file);
  cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, table });
  return table;
}

function dataError(file: string, problem: string): DataError {
  return new DataError(`${file}: ${problem}. Use the authors' nas-bench-macro_cifar10.json (xiusu/NAS-Bench-Macro) or another --data-dir`);
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MACRO_SIZE) {
    throw new InputError(`index ${index} is out of range 0..${MACRO_SIZE - 1} for macro`);
  }
}

function buildMacroTable(file: string): MacroTable {
  let json: unknown;
  try {
    json = JSON.parse(readRegularFileSync(file, { what: 'the benchmark table', hint: 'give a JSON file' }).toString('utf8'));
  } catch (e) {
    throw dataError(file, `cannot be read as JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw dataError(file, 'is not a JSON object keyed by architecture');
  const entries = Object.entries(json as Record<string, unknown>);
  if (entries.length !== MACRO_SIZE) {
    throw dataError(file, `has ${entries.length.toLocaleString('en-US')} architecture(s), expected ${MACRO_SIZE.toLocaleString('en-US')}`);
  }
  const runs = new Float64Array(3 * MACRO_SIZE);
  const mean = new Float64Array(MACRO_SIZE).fill(NaN);
  const meanAcc = new Float64Array(MACRO_SIZE);
  const params = new Float64Array(MACRO_SIZE);
  const flops = new Float64Array(MACRO_SIZE);
  const seen = new Uint8Array(MACRO_SIZE);
  const isAcc = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  for (const [key, value] of entries) {
    let index: number;
    try {
      index = macroIndexOf(parseMacroArch(key));
    } catch {
      throw dataError(file, `key ${quoteInput(key, { max: 30 })} is not an 8-digit macro architecture`);
    }
    if (key !== key.trim()) throw dataError(file, `key ${quoteInput(key, { max: 30 })} has surrounding whitespace`);
    if (seen[index]) throw dataError(file, `repeats architecture ${key}`);
    seen[index] = 1;
    const v = value as { test_acc?: unknown; mean_acc?: unknown; params?: unknown; flops?: unknown } | null;
    const acc = v?.test_acc;
    if (!Array.isArray(acc) || acc.length !== 3 || !acc.every(isAcc)) {
      throw dataError(file, `${key}: test_acc must be three accuracies in 0..100`);
    }
    if (!isAcc(v!.mean_acc)) throw dataError(file, `${key}: mean_acc must be an accuracy in 0..100`);
    if (!isCount(v!.params) || !isCount(v!.flops)) throw dataError(file, `${key}: params and flops must be non-negative integers`);
    runs.set(acc as number[], 3 * index);
    mean[index] = ((acc[0] as number) + (acc[1] as number) + (acc[2] as number)) / 3;
    meanAcc[index] = v!.mean_acc;
    params[index] = v!.params;
    flops[index] = v!.flops;
  }
  return {
    path: file,
    size: MACRO_SIZE,
    archString(index) {
      checkIndex(index);
      let s = '';
      for (let p = 0, i = index; p < 8; p++, i = Math.floor(i / 3)) s = String(i % 3) + s;
      return s;
    },
    testAccuracyRuns(index) {
      checkIndex(index);
      return [runs[3 * index], runs[3 * index + 1], runs[3 * index + 2]];
    },
    testAccuracy(dataset, index) {
      checkIndex(index);
      return dataset === 'cifar10' ? mean[index] : null;
    },
    testAccuracies(dataset) {
      return dataset === 'cifar10' ? mean : null;
    },
    params(dataset, index) {
      checkIndex(index);
      return dataset === 'cifar10' ? params[index] : null;
    },
    flops(index) {
      checkIndex(index);
      return flops[index];
    },
    meanAcc(index) {
      checkIndex(index);
      return meanAcc[index];
    },
  };
}

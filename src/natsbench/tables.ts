/**
 * Typed, lazily loaded access to the NATS-Bench tables of a data directory (and, through
 * ./macroTable.ts, NAS-Bench-Macro's `<dataDir>/nas-bench-macro/nas-bench-macro_cifar10.json`)
 * (`<dataDir>/nats-bench/*.csv`, see ../shared/data/README.md):
 *
 *  - `nats-tss-test-accuracy-200ep.csv`: 15,625 rows in NATS-Bench index order; required
 *    columns ArchitectureString and the three `*TestAccuracy200Epochs`; UniqueString optional.
 *  - `nats-tss-params.csv` (optional file): Index + per-dataset `*Params` columns.
 *  - `nats-sss-test-accuracy-90ep.csv`: 32,768 rows; required Channels and the three
 *    `*TestAccuracy90Epochs`; per-dataset `*Params` and Index optional.
 *
 * Columns are found by header name; extra columns (validation accuracy, FLOPs, latency, …
 * written by `mfnas natsbench import`) are tolerated and readable with `numericColumn`.
 * A missing file gives a null table; a present but malformed file (wrong row count, missing
 * required column, non-numeric value, bad architecture string) throws a DataError naming the
 * path and the problem. Each file is parsed once per process (re-read if its size or mtime
 * changes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { DATA_DIR_ENV, requireDataDir, resolveDataDir } from '../datasets/dataDir.js';
import type { DatasetName } from '../datasets/registry.js';
import { parseDecimal } from '../util/decimal.js';
import { readRegularFileSync } from '../util/regularFile.js';
import { DataError, InputError, MfnasError, quoteInput } from '../util/errors.js';
import { formatTssCell, parseTssCell, TSS_SIZE } from '../spaces/tss/cell.js';
import { formatSssChannels, parseSssChannels, sssFromIndex, SSS_SIZE } from '../spaces/sss/channels.js';
import type { BenchmarkTables, BenchTable, SpaceName } from '../spaces/types.js';
import { clearMacroTableCache, loadMacroTable, macroTablePath, type MacroTable } from './macroTable.js';

export const NATS_BENCH_DIR = 'nats-bench';
export const TSS_ACCURACY_FILE = 'nats-tss-test-accuracy-200ep.csv';
export const TSS_PARAMS_FILE = 'nats-tss-params.csv';
export const SSS_ACCURACY_FILE = 'nats-sss-test-accuracy-90ep.csv';

export const TSS_ARCH_COLUMN = 'ArchitectureString';
export const TSS_UNIQUE_COLUMN = 'UniqueString';
export const SSS_CHANNELS_COLUMN = 'Channels';
export const INDEX_COLUMN = 'Index';

/** Header names of the per-dataset columns. */
export const TSS_ACCURACY_COLUMNS: Readonly<Record<DatasetName, string>> = {
  cifar10: 'CIFAR10TestAccuracy200Epochs',
  cifar100: 'CIFAR100TestAccuracy200Epochs',
  'ImageNet16-120': 'ImageNetTestAccuracy200Epochs',
};
export const SSS_ACCURACY_COLUMNS: Readonly<Record<DatasetName, string>> = {
  cifar10: 'CIFAR10TestAccuracy90Epochs',
  cifar100: 'CIFAR100TestAccuracy90Epochs',
  'ImageNet16-120': 'ImageNetTestAccuracy90Epochs',
};
/** Same names in nats-tss-params.csv and nats-sss-test-accuracy-90ep.csv. */
export const PARAMS_COLUMNS: Readonly<Record<DatasetName, string>> = {
  cifar10: 'CIFAR10Params',
  cifar100: 'CIFAR100Params',
  'ImageNet16-120': 'ImageNetParams',
};

const DATASETS: readonly DatasetName[] = ['cifar10', 'cifar100', 'ImageNet16-120'];

export interface TssTable {
  /** Path of nats-tss-test-accuracy-200ep.csv. */
  readonly path: string;
  /** Path of nats-tss-params.csv, or null if that file is absent. */
  readonly paramsPath: string | null;
  /** 15,625. */
  readonly size: number;
  /** Header of the accuracy file. */
  readonly columns: readonly string[];
  /** Cell string of a NATS-Bench index. */
  archString(index: number): string;
  /** NATS-Bench index of a cell string (exact `formatTssCell` form), undefined if unknown. */
  indexOfArch(arch: string): number | undefined;
  /** The table's UniqueString, or null if the file has no such column. */
  uniqueString(index: number): string | null;
  /** Test accuracy (%) after 200 epochs, mean over seeds. */
  /** Test accuracy in %; null when the table has no value for it (a partial import). */
  testAccuracy(dataset: DatasetName, index: number): number | null;
  /** All test accuracies of a dataset, by index (do not modify). */
  testAccuracies(dataset: DatasetName): Float64Array;
  /** Parameter count, or null when nats-tss-params.csv (or its column) is absent. */
  params(dataset: DatasetName, index: number): number | null;
  /** Any numeric column of the accuracy file by header name (empty cells → NaN); null if absent. */
  numericColumn(name: string): Float64Array | null;
}

export interface SssTable {
  readonly path: string;
  /** 32,768. */
  readonly size: number;
  readonly columns: readonly string[];
  /** Channel string of an index, as written in the table. */
  channels(index: number): string;
  /** Test accuracy (%) after 90 epochs. */
  /** Test accuracy in %; null when the table has no value for it (a partial import). */
  testAccuracy(dataset: DatasetName, index: number): number | null;
  testAccuracies(dataset: DatasetName): Float64Array;
  /** Parameter count, or null when the column is absent. */
  params(dataset: DatasetName, index: number): number | null;
  numericColumn(name: string): Float64Array | null;
}

/** The NATS-Bench tables of a data folder; `tableOf` is how the spaces find theirs. */
export interface NatsBenchTables extends BenchmarkTables {
  readonly dataDir: string;
  /** Directory holding the CSV files (`<dataDir>/nats-bench`). */
  readonly natsDir: string;
  /** Loaded on first access; null if the file is absent. Throws DataError if malformed. */
  readonly tss: TssTable | null;
  readonly sss: SssTable | null;
  /** NAS-Bench-Macro's table (`<dataDir>/nas-bench-macro/nas-bench-macro_cifar10.json`, ./macroTable.ts); null if absent. */
  readonly macro: MacroTable | null;
}

/** Lazily opens the NATS-Bench tables under `<dataDir>/nats-bench/`. */
export function openNatsBenchTables(dataDir: string): NatsBenchTables {
  const natsDir = path.join(path.resolve(dataDir), NATS_BENCH_DIR);
  return {
    dataDir: path.resolve(dataDir),
    natsDir,
    get tss() {
      return loadTssTable(path.join(natsDir, TSS_ACCURACY_FILE), path.join(natsDir, TSS_PARAMS_FILE));
    },
    get sss() {
      return loadSssTable(path.join(natsDir, SSS_ACCURACY_FILE));
    },
    get macro() {
      return loadMacroTable(macroTablePath(dataDir));
    },
    tableOf(space: SpaceName): BenchTable | null {
      // NATS-Bench's two spaces and NAS-Bench-Macro's (read by ./macroTable.ts); other spaces bring their own.
      return space === 'tss' ? this.tss : space === 'sss' ? this.sss : space === 'macro' ? this.macro : null;
    },
  };
}

/**
 * The NATS-Bench tables under the resolved data dir, or null when no data dir is found. A directory
 * named explicitly (--data-dir or MFNAS_DATA_DIR) must exist: a typo is an error, not "no table".
 */
export function openDefaultNatsBenchTables(dataDir?: string | null): NatsBenchTables | null {
  const explicit = !!dataDir || !!process.env[DATA_DIR_ENV]?.trim();
  const dir = explicit ? requireDataDir({ dataDir }) : resolveDataDir({ dataDir });
  return dir ? openNatsBenchTables(dir) : null;
}

// ---------------------------------------------------------------------------------------
// CSV reading

interface Csv {
  readonly path: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

interface Stamp {
  size: number;
  mtimeMs: number;
}

function stampOf(file: string): Stamp | null {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
  } catch {
    return null;
  }
}

function sameStamp(a: Stamp | null, b: Stamp | null): boolean {
  return a === b || (a !== null && b !== null && a.size === b.size && a.mtimeMs === b.mtimeMs);
}

function dataError(file: string, problem: string): DataError {
  return new DataError(`${file}: ${problem}. Re-create it with \`mfnas natsbench import\` or use another --data-dir`);
}

function readCsv(file: string): Csv {
  let text: string;
  try {
    text = readRegularFileSync(file, { what: 'the benchmark table', hint: 'give a CSV file' }).toString('utf8');
  } catch (e) {
    throw dataError(file, `cannot be read (${(e as Error).message.split(':')[0]})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let records: string[][];
  if (!text.includes('"')) {
    // Fast path for plain CSV (no quoting): about 20x faster than the general parser.
    const lines = text.split('\n');
    while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
    records = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l).split(','));
  } else {
    try {
      records = parseCsv(text, { relax_column_count: true, skip_empty_lines: true }) as string[][];
    } catch (e) {
      throw dataError(file, `is not valid CSV (${(e as Error).message})`);
    }
  }
  if (records.length === 0) throw dataError(file, 'is empty (no header line)');
  const header = records[0].map((h) => h.trim());
  const rows = records.slice(1);
  for (let r = 0; r < rows.length; r++) {
    if (rows[r].length !== header.length) {
      throw dataError(
        file,
        `line ${r + 2} has ${rows[r].length} field(s) but the header has ${header.length} (file truncated or corrupted?)`,
      );
    }
  }
  return { path: file, header, rows };
}

function columnIndex(csv: Csv, name: string, required: true): number;
function columnIndex(csv: Csv, name: string, required: false): number | null;
function columnIndex(csv: Csv, name: string, required: boolean): number | null {
  const i = csv.header.indexOf(name);
  if (i >= 0) return i;
  if (required) {
    throw dataError(csv.path, `required column '${name}' is missing (header: ${csv.header.join(',')})`);
  }
  return null;
}

/** Bounds of a column's values, by header name: accuracies are percentages, counts non-negative. */
function rangeOf(name: string): { min: number; max: number } | null {
  if (/Accuracy/.test(name)) return { min: 0, max: 100 };
  if (/(Params|FLOPs|Latency|TrainTime)$/.test(name)) return { min: 0, max: Infinity };
  return null;
}

/** Numeric column; empty cells (data absent for that architecture) become NaN. */
function numeric(csv: Csv, col: number): Float64Array {
  const out = new Float64Array(csv.rows.length);
  const name = csv.header[col];
  const range = rangeOf(name);
  for (let r = 0; r < csv.rows.length; r++) {
    const raw = csv.rows[r][col].trim();
    if (raw === '') {
      out[r] = NaN;
      continue;
    }
    const v = parseDecimal(raw);
    if (!Number.isFinite(v)) {
      throw dataError(csv.path, `line ${r + 2}, column '${name}' has ${quoteInput(raw, { max: 30 })}, which is not a decimal number`);
    }
    if (range && (v < range.min || v > range.max)) {
      const bounds = range.max === Infinity ? `>= ${range.min}` : `in ${range.min}..${range.max}`;
      throw dataError(csv.path, `line ${r + 2}, column '${name}' has ${raw}, which is not ${bounds}`);
    }
    out[r] = v;
  }
  return out;
}

function expectRows(csv: Csv, expected: number): void {
  if (csv.rows.length !== expected) {
    throw dataError(
      csv.path,
      `has ${csv.rows.length.toLocaleString('en-US')} data row(s), expected ${expected.toLocaleString('en-US')} (one per architecture; file truncated?)`,
    );
  }
}

function checkIndexColumn(csv: Csv): void {
  const col = columnIndex(csv, INDEX_COLUMN, false);
  if (col === null) return;
  for (let r = 0; r < csv.rows.length; r++) {
    if (csv.rows[r][col].trim() !== String(r)) {
      throw dataError(
        csv.path,
        `line ${r + 2} has Index ${quoteInput(csv.rows[r][col], { max: 30 })}, expected ${r} (rows must be in NATS-Bench index order)`,
      );
    }
  }
}

function checkIndex(index: number, size: number, space: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new InputError(`index ${index} is out of range 0..${size - 1} for ${space}`);
  }
}

/** Lazily parsed numeric columns of a CSV (each parsed at most once). */
function columnCache(csv: Csv) {
  const cache = new Map<string, Float64Array | null>();
  return (name: string): Float64Array | null => {
    let v = cache.get(name);
    if (v === undefined) {
      const col = columnIndex(csv, name, false);
      // Required columns must be present, but an empty cell is allowed everywhere: it is an
      // architecture missing from a partial `mfnas natsbench import` (NaN; accessors return null).
      v = col === null ? null : numeric(csv, col);
      cache.set(name, v);
    }
    return v;
  };
}

// ---------------------------------------------------------------------------------------
// TSS

const tssCache = new Map<string, { acc: Stamp; params: Stamp | null; table: TssTable }>();
const sssCache = new Map<string, { stamp: Stamp; table: SssTable }>();

/** Forget all parsed tables (e.g. after `mfnas natsbench import` rewrote them). */
export function clearNatsBenchTablesCache(): void {
  tssCache.clear();
  sssCache.clear();
  clearMacroTableCache();
}

/**
 * Load the TSS tables; null if `accuracyPath` does not exist. `paramsPath` may be absent
 * (then `params` returns null).
 */
export function loadTssTable(accuracyPath: string, paramsPath?: string | null): TssTable | null {
  const acc = stampOf(accuracyPath);
  if (acc === null) return null;
  const pStamp = paramsPath ? stampOf(paramsPath) : null;
  const key = `${accuracyPath}\u0000${paramsPath ?? ''}`;
  const hit = tssCache.get(key);
  if (hit && sameStamp(hit.acc, acc) && sameStamp(hit.params, pStamp)) return hit.table;
  const table = buildTssTable(accuracyPath, pStamp ? paramsPath! : null);
  tssCache.set(key, { acc, params: pStamp, table });
  return table;
}

function buildTssTable(accuracyPath: string, paramsPath: string | null): TssTable {
  const csv = readCsv(accuracyPath);
  const archCol = columnIndex(csv, TSS_ARCH_COLUMN, true);
  const required = new Set(DATASETS.map((d) => TSS_ACCURACY_COLUMNS[d]));
  for (const name of required) columnIndex(csv, name, true);
  expectRows(csv, TSS_SIZE);
  checkIndexColumn(csv);

  const archs: string[] = new Array(TSS_SIZE);
  const byArch = new Map<string, number>();
  for (let r = 0; r < TSS_SIZE; r++) {
    const raw = csv.rows[r][archCol].trim();
    let arch: string;
    try {
      arch = formatTssCell(parseTssCell(raw));
    } catch (e) {
      if (e instanceof MfnasError) throw dataError(accuracyPath, `line ${r + 2}: ${e.message}`);
      throw e;
    }
    if (byArch.has(arch)) {
      throw dataError(accuracyPath, `line ${r + 2} repeats architecture ${arch} (already at index ${byArch.get(arch)})`);
    }
    archs[r] = arch;
    byArch.set(arch, r);
  }
  const uniqueCol = columnIndex(csv, TSS_UNIQUE_COLUMN, false);
  if (uniqueCol !== null) {
    // Equal UniqueStrings mean equal functions: an empty one would merge unrelated cells.
    const r = csv.rows.findIndex((row) => row[uniqueCol].trim() === '');
    if (r >= 0) throw dataError(accuracyPath, `line ${r + 2} has an empty ${TSS_UNIQUE_COLUMN}`);
  }
  const column = columnCache(csv);
  const accuracy = {} as Record<DatasetName, Float64Array>;
  for (const d of DATASETS) accuracy[d] = column(TSS_ACCURACY_COLUMNS[d])!;

  let params: Record<DatasetName, Float64Array | null> | null = null;
  if (paramsPath !== null) {
    const p = readCsv(paramsPath);
    columnIndex(p, INDEX_COLUMN, true);
    expectRows(p, TSS_SIZE);
    checkIndexColumn(p);
    const pColumn = columnCache(p);
    params = {} as Record<DatasetName, Float64Array | null>;
    for (const d of DATASETS) params[d] = pColumn(PARAMS_COLUMNS[d]);
  }

  return {
    path: accuracyPath,
    paramsPath,
    size: TSS_SIZE,
    columns: csv.header,
    archString(index) {
      checkIndex(index, TSS_SIZE, 'tss');
      return archs[index];
    },
    indexOfArch(arch) {
      return byArch.get(arch.trim());
    },
    uniqueString(index) {
      checkIndex(index, TSS_SIZE, 'tss');
      return uniqueCol === null ? null : csv.rows[index][uniqueCol];
    },
    testAccuracy(dataset, index) {
      checkIndex(index, TSS_SIZE, 'tss');
      const v = accuracy[dataset][index];
      return Number.isNaN(v) ? null : v;
    },
    testAccuracies(dataset) {
      return accuracy[dataset];
    },
    params(dataset, index) {
      checkIndex(index, TSS_SIZE, 'tss');
      const col = params?.[dataset];
      if (!col) return null;
      const v = col[index];
      return Number.isNaN(v) ? null : v;
    },
    numericColumn: column,
  };
}

// ---------------------------------------------------------------------------------------
// SSS

/** Load the SSS table; null if the file does not exist. */
export function loadSssTable(file: string): SssTable | null {
  const stamp = stampOf(file);
  if (stamp === null) return null;
  const hit = sssCache.get(file);
  if (hit && sameStamp(hit.stamp, stamp)) return hit.table;
  const table = buildSssTable(file);
  sssCache.set(file, { stamp, table });
  return table;
}

function buildSssTable(file: string): SssTable {
  const csv = readCsv(file);
  const chCol = columnIndex(csv, SSS_CHANNELS_COLUMN, true);
  const required = new Set(DATASETS.map((d) => SSS_ACCURACY_COLUMNS[d]));
  for (const name of required) columnIndex(csv, name, true);
  expectRows(csv, SSS_SIZE);
  checkIndexColumn(csv);
  const channels: string[] = new Array(SSS_SIZE);
  for (let r = 0; r < SSS_SIZE; r++) {
    const raw = csv.rows[r][chCol].trim();
    const expected = formatSssChannels(sssFromIndex(r));
    let got: string;
    try {
      got = formatSssChannels(parseSssChannels(raw));
    } catch (e) {
      if (e instanceof MfnasError) throw dataError(file, `line ${r + 2}: ${e.message}`);
      throw e;
    }
    if (got !== expected) {
      throw dataError(file, `line ${r + 2} has Channels ${quoteInput(raw, { max: 30 })}, but index ${r} is ${expected} (rows must be in index order)`);
    }
    channels[r] = got;
  }
  const column = columnCache(csv);
  const accuracy = {} as Record<DatasetName, Float64Array>;
  for (const d of DATASETS) accuracy[d] = column(SSS_ACCURACY_COLUMNS[d])!;
  for (const d of DATASETS) column(PARAMS_COLUMNS[d]); // validate now, not on first use
  return {
    path: file,
    size: SSS_SIZE,
    columns: csv.header,
    channels(index) {
      checkIndex(index, SSS_SIZE, 'sss');
      return channels[index];
    },
    testAccuracy(dataset, index) {
      checkIndex(index, SSS_SIZE, 'sss');
      const v = accuracy[dataset][index];
      return Number.isNaN(v) ? null : v;
    },
    testAccuracies(dataset) {
      return accuracy[dataset];
    },
    params(dataset, index) {
      checkIndex(index, SSS_SIZE, 'sss');
      const col = column(PARAMS_COLUMNS[dataset]);
      if (!col) return null;
      const v = col[index];
      return Number.isNaN(v) ? null : v;
    },
    numericColumn: column,
  };
}

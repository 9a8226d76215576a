/**
 * `mfnas natsbench import`: convert the official NATS-Bench "simple" files
 * (`NATS-tss-v1_0-3ffb9-simple/`, `NATS-sss-v1_0-50262-simple/`, or their .tar archives) into the
 * CSV tables the rest of the system reads (src/natsbench/tables.ts), in `<to>/nats-bench/`:
 *
 *   tss: nats-tss-test-accuracy-200ep.csv
 *          CIFAR10TestAccuracy200Epochs, CIFAR100TestAccuracy200Epochs, ImageNetTestAccuracy200Epochs,
 *          ArchitectureString, UniqueString, then CIFAR10ValidAccuracy200Epochs, CIFAR100…, ImageNet…
 *        nats-tss-params.csv
 *          Index, CIFAR10Params, CIFAR100Params, ImageNetParams, then *FLOPs, *Latency, *TrainTime
 *   sss: nats-sss-test-accuracy-90ep.csv
 *          Index, Channels, *TestAccuracy90Epochs, *Params, then *ValidAccuracy90Epochs, *FLOPs,
 *          *Latency, *TrainTime
 *
 * (the first columns are exactly those of the tables in ../shared/data/nats-bench/; the extra
 * ones are written only when some architecture has a value). Units: accuracies in %, Params a
 * count, FLOPs in millions (as NATS-Bench reports them), Latency and TrainTime in seconds
 * (TrainTime = one full training run). How each number is derived: see record.ts.
 *
 * UniqueString (TSS) is not in the official files; it is derived from the cell string with
 * `canonicalTss`, which reproduces NAS-Bench-201's `to_unique_str` (the table's definition).
 *
 * Missing architectures. The reader requires one row per architecture in index order, so the
 * tables always have all rows (15,625 / 32,768). An architecture whose record file is absent
 * from the input gets its row with the architecture string (from meta.pickle.pbz2) and its
 * Index / Channels / UniqueString, but EMPTY cells for every measured value — nothing is
 * invented. Their indexes are returned (and printed by the CLI); `strict` refuses to write an
 * incomplete table instead.
 *
 * All-or-nothing: the output folder is checked first, every input is read and checked before
 * anything is written, and the tables are then written together (src/util/atomicWrite.ts).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatasetName } from '../../datasets/registry.js';
import { extractTar, looksLikeTar } from '../../fetch/extract.js';
import { canonicalTss } from '../../spaces/tss/canonical.js';
import { parseTssCell } from '../../spaces/tss/cell.js';
import type { SpaceName } from '../../spaces/types.js';
import { checkOutputDir, writeFilesAtomic } from '../../util/atomicWrite.js';
import { toCsv } from '../../util/csv.js';
import { DataError, InputError, quoteInput, quotePath } from '../../util/errors.js';
import { readRegularFile } from '../../util/regularFile.js';
import { WorkerPool, WorkerTaskError } from '../../util/workerPool.js';
import {
  clearNatsBenchTablesCache, INDEX_COLUMN, NATS_BENCH_DIR, PARAMS_COLUMNS, SSS_ACCURACY_COLUMNS, SSS_ACCURACY_FILE,
  SSS_CHANNELS_COLUMN, TSS_ACCURACY_COLUMNS, TSS_ACCURACY_FILE, TSS_ARCH_COLUMN, TSS_PARAMS_FILE, TSS_UNIQUE_COLUMN,
} from '../tables.js';
import {
  NATS_DATASETS, readMeta, summarizeRecordFile, TABLE_EPOCHS, type ArchSummary, type DatasetMetrics,
} from './record.js';
import type { WorkerTask } from './importThread.js';

export const META_FILE = 'meta.pickle.pbz2';
const RECORD_FILE = /^(\d{6})\.pickle\.pbz2$/;
/** Official folder names; a folder named like the other space is refused. */
export const OFFICIAL_FOLDERS: Readonly<Record<SpaceName, string>> = {
  tss: 'NATS-tss-v1_0-3ffb9-simple',
  sss: 'NATS-sss-v1_0-50262-simple',
};

export interface ImportNatsOptions {
  space: SpaceName;
  /** The "-simple" folder, a folder containing it (e.g. $TORCH_HOME), or its .tar archive. */
  from: string;
  /** Data directory; the tables go to `<to>/nats-bench/`. */
  to: string;
  /** Worker threads decoding records (compiled build only; default min(8, cores)). 1 = in-process. */
  concurrency?: number;
  /** Refuse to write tables with missing architectures (default false: write empty cells). */
  strict?: boolean;
  /** Records decoded so far, out of the records present. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportNatsResult {
  space: SpaceName;
  /** The folder the records were read from (inside a temporary directory for a .tar). */
  source: string;
  /** Training length whose results the tables hold (200 TSS, 90 SSS). */
  epochs: number;
  /** Architectures in the benchmark (15,625 / 32,768). */
  total: number;
  /** Architectures imported (record present). */
  imported: number;
  /** Indexes without a record file (rows written with empty cells). */
  missing: number[];
  /** The CSV files written. */
  tables: string[];
  /** Header of each table written, by path. */
  columns: Record<string, string[]>;
}

/** The tables written for each space (checked before the import starts). */
const TABLE_FILES: Readonly<Record<SpaceName, readonly string[]>> = {
  tss: [TSS_ACCURACY_FILE, TSS_PARAMS_FILE],
  sss: [SSS_ACCURACY_FILE],
};

const PREFIX: Readonly<Record<DatasetName, string>> = { cifar10: 'CIFAR10', cifar100: 'CIFAR100', 'ImageNet16-120': 'ImageNet' };

function otherSpace(space: SpaceName): SpaceName {
  return space === 'tss' ? 'sss' : 'tss';
}

function spaceOfFolderName(name: string): SpaceName | null {
  const m = /^NATS-(tss|sss)-/i.exec(name);
  return m ? (m[1].toLowerCase() as SpaceName) : null;
}

/** Find the folder holding meta.pickle.pbz2 for `space` at `root` or up to two levels below (`shownAs`: --from, quoted). */
async function locateFolder(root: string, space: SpaceName, shownAs: string): Promise<string> {
  const candidates: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (fs.existsSync(path.join(dir, META_FILE))) candidates.push(dir);
    if (depth === 0) return;
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new InputError(`--from ${shownAs}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), depth - 1);
  };
  await walk(root, 2);
  const ofSpace = candidates.filter((c) => spaceOfFolderName(path.basename(c)) !== otherSpace(space));
  if (ofSpace.length === 0 && candidates.length > 0) {
    throw new InputError(`--from ${shownAs} holds the ${otherSpace(space)} benchmark (${quoteInput(path.basename(candidates[0]))}); use --space ${otherSpace(space)}`);
  }
  if (ofSpace.length === 0) {
    throw new DataError(
      `--from ${shownAs}: no ${META_FILE} found; pass the official ${OFFICIAL_FOLDERS[space]} folder (or ${OFFICIAL_FOLDERS[space]}.tar)`,
    );
  }
  if (ofSpace.length > 1) {
    const named = ofSpace.filter((c) => spaceOfFolderName(path.basename(c)) === space);
    if (named.length === 1) return named[0];
    throw new InputError(`--from ${shownAs} contains ${ofSpace.length} benchmark folders (${ofSpace.slice(0, 2).map(quotePath).join(', ')}, …); pass one of them`);
  }
  return ofSpace[0];
}

/** A task's error as thrown in the worker: user errors keep their class (exit code 2, one line). */
function fromWorker(e: unknown): unknown {
  if (!(e instanceof WorkerTaskError)) return e;
  if (e.name === 'DataError') return new DataError(e.message);
  if (e.name === 'InputError') return new InputError(e.message);
  const bug = new Error(e.message);
  if (e.workerStack) bug.stack = e.workerStack;
  return bug;
}

/**
 * The worker script next to this module in the compiled build. Null when running from the
 * TypeScript sources (tests, tsx): the pool could start .ts workers, but each would first compile
 * the decoder and its imports, which costs more than the small imports run that way.
 */
function workerScript(): URL | null {
  if (!import.meta.url.endsWith('.js')) return null;
  const url = new URL('./importThread.js', import.meta.url);
  return fs.existsSync(fileURLToPath(url)) ? url : null;
}

export function defaultConcurrency(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

interface Task {
  index: number;
  file: string;
}

/** Summarise the records, in worker threads when possible; results in task order. */
async function summarizeRecords(
  tasks: readonly Task[],
  space: SpaceName,
  concurrency: number,
  onProgress?: (done: number, total: number) => void,
): Promise<ArchSummary[]> {
  const script = workerScript();
  const n = Math.min(concurrency, tasks.length);
  if (script === null || n <= 1) {
    const out: ArchSummary[] = [];
    for (let i = 0; i < tasks.length; i++) {
      out.push(summarizeRecordFile(tasks[i].file, space, tasks[i].index));
      onProgress?.(i + 1, tasks.length);
      if (i % 16 === 15) await new Promise<void>((r) => setImmediate(r));
    }
    return out;
  }
  const pool = new WorkerPool<WorkerTask, ArchSummary>({ script, size: n });
  let done = 0;
  let failed = false;
  try {
    return await pool.map(
      tasks.map((t) => ({ file: t.file, index: t.index, space })),
      () => {
        if (!failed) onProgress?.(++done, tasks.length);
      },
    );
  } catch (e) {
    // The first failure ends the import: the records still decoding are abandoned by close().
    failed = true;
    throw fromWorker(e);
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------------------------------
// CSV

interface Column {
  name: string;
  /** Written even if every cell is empty. */
  always: boolean;
  /** null = an empty cell. */
  cell: (index: number) => string | number | null;
}

function buildCsv(columns: readonly Column[], rows: number): { text: string; header: string[] } {
  const kept = columns.filter((c) => {
    if (c.always) return true;
    for (let i = 0; i < rows; i++) if (c.cell(i) !== null) return true;
    return false;
  });
  const header = kept.map((c) => c.name);
  const body = Array.from({ length: rows }, (_, i) => kept.map((c) => c.cell(i)));
  return { text: toCsv([header, ...body]), header };
}

function metricColumns(
  byIndex: readonly (ArchSummary | undefined)[],
  key: keyof DatasetMetrics,
  name: (d: DatasetName) => string,
  always: boolean,
): Column[] {
  return NATS_DATASETS.map((d) => ({ name: name(d), always, cell: (i: number) => byIndex[i]?.metrics[d][key] ?? null }));
}

function tssTables(archs: readonly string[], byIndex: readonly (ArchSummary | undefined)[]): { file: string; columns: Column[] }[] {
  const unique = archs.map((a) => canonicalTss(parseTssCell(a)));
  const valid = (d: DatasetName) => TSS_ACCURACY_COLUMNS[d].replace('Test', 'Valid');
  return [
    {
      file: TSS_ACCURACY_FILE,
      columns: [
        ...metricColumns(byIndex, 'test', (d) => TSS_ACCURACY_COLUMNS[d], true),
        { name: TSS_ARCH_COLUMN, always: true, cell: (i) => archs[i] },
        { name: TSS_UNIQUE_COLUMN, always: true, cell: (i) => unique[i] },
        ...metricColumns(byIndex, 'valid', valid, false),
      ],
    },
    {
      file: TSS_PARAMS_FILE,
      columns: [
        { name: INDEX_COLUMN, always: true, cell: (i) => i },
        ...metricColumns(byIndex, 'params', (d) => PARAMS_COLUMNS[d], true),
        ...metricColumns(byIndex, 'flops', (d) => `${PREFIX[d]}FLOPs`, false),
        ...metricColumns(byIndex, 'latency', (d) => `${PREFIX[d]}Latency`, false),
        ...metricColumns(byIndex, 'trainTime', (d) => `${PREFIX[d]}TrainTime`, false),
      ],
    },
  ];
}

function sssTables(archs: readonly string[], byIndex: readonly (ArchSummary | undefined)[]): { file: string; columns: Column[] }[] {
  const valid = (d: DatasetName) => SSS_ACCURACY_COLUMNS[d].replace('Test', 'Valid');
  return [
    {
      file: SSS_ACCURACY_FILE,
      columns: [
        { name: INDEX_COLUMN, always: true, cell: (i) => i },
        { name: SSS_CHANNELS_COLUMN, always: true, cell: (i) => archs[i] },
        ...metricColumns(byIndex, 'test', (d) => SSS_ACCURACY_COLUMNS[d], true),
        ...metricColumns(byIndex, 'params', (d) => PARAMS_COLUMNS[d], true),
        ...metricColumns(byIndex, 'valid', valid, false),
        ...metricColumns(byIndex, 'flops', (d) => `${PREFIX[d]}FLOPs`, false),
        ...metricColumns(byIndex, 'latency', (d) => `${PREFIX[d]}Latency`, false),
        ...metricColumns(byIndex, 'trainTime', (d) => `${PREFIX[d]}TrainTime`, false),
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------

/** Import the official NATS-Bench "simple" files of `space` (see the module comment). */
export async function importNatsBench(options: ImportNatsOptions): Promise<ImportNatsResult> {
  const { space } = options;
  if (space !== 'tss' && space !== 'sss') throw new InputError(`unknown space '${String(space)}': use tss or sss`);
  const from = path.resolve(options.from);
  const shown = quotePath(options.from);
  const to = path.resolve(options.to);
  const outDir = path.join(to, NATS_BENCH_DIR);
  let st: fs.Stats;
  try {
    st = await fsp.stat(from);
  } catch {
    throw new InputError(`--from ${shown}: no such file or folder; pass the ${OFFICIAL_FOLDERS[space]} folder or its .tar`);
  }
  const named = spaceOfFolderName(path.basename(from));
  if (named !== null && named !== space) {
    throw new InputError(`--from ${shown} is the ${named} benchmark; use --space ${named}`);
  }
  checkOutputDir(to, '--to');
  checkOutputDir(outDir, '--to', TABLE_FILES[space]);

  let stage: string | null = null;
  let createdTo: string | undefined;
  let ok = false;
  try {
    let folder: string;
    if (st.isDirectory()) {
      folder = await locateFolder(from, space, shown);
    } else if (looksLikeTar(from)) {
      createdTo = await fsp.mkdir(to, { recursive: true });
      stage = await fsp.mkdtemp(path.join(to, '.mfnas-import-'));
      await extractTar(from, stage, { filter: (p) => /\.pickle\.pbz2$/.test(p) });
      folder = await locateFolder(stage, space, shown);
    } else if (/\.pickle\.pbz2$/.test(from)) {
      throw new InputError(
        `--from ${shown} is a single benchmark file; pass the "simple" release instead: the ${OFFICIAL_FOLDERS[space]} folder or its .tar`,
      );
    } else {
      throw new InputError(`--from ${shown}: not a folder or a .tar archive; pass the ${OFFICIAL_FOLDERS[space]} folder or its .tar`);
    }

    const metaPath = path.join(folder, META_FILE);
    const archs = readMeta(await readRegularFile(metaPath, { what: 'the benchmark list', hint: `re-extract the official ${OFFICIAL_FOLDERS[space]} folder` }), metaPath, space);
    const total = archs.length;

    const tasks: Task[] = [];
    for (const name of (await fsp.readdir(folder)).sort()) {
      const m = RECORD_FILE.exec(name);
      if (!m) continue;
      const index = Number(m[1]);
      if (index >= total) {
        throw new DataError(`${path.join(folder, name)}: index ${index} is beyond the ${total} architectures of ${space}; is this the ${otherSpace(space)} benchmark?`);
      }
      tasks.push({ index, file: path.join(folder, name) });
    }
    if (tasks.length === 0) {
      throw new DataError(`${folder}: no architecture records (NNNNNN.pickle.pbz2) next to ${META_FILE}; the folder is incomplete — re-extract the official archive`);
    }
    const present = new Set(tasks.map((t) => t.index));
    const missing: number[] = [];
    for (let i = 0; i < total; i++) if (!present.has(i)) missing.push(i);
    if (options.strict && missing.length > 0) {
      throw new DataError(
        `${folder}: ${missing.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} architecture records are missing ` +
          `(first: ${missing.slice(0, 2).map((i) => `${String(i).padStart(6, '0')}.pickle.pbz2`).join(', ')}); nothing was written. ` +
          'Re-extract the complete archive, or drop --strict to write empty cells',
      );
    }

    const summaries = await summarizeRecords(tasks, space, options.concurrency ?? defaultConcurrency(), options.onProgress);
    const byIndex: (ArchSummary | undefined)[] = new Array(total);
    for (const s of summaries) {
      if (s.arch !== archs[s.index]) {
        throw new DataError(
          `${path.join(folder, `${String(s.index).padStart(6, '0')}.pickle.pbz2`)}: architecture ${quoteInput(s.arch)} differs from meta_archs[${s.index}] ` +
            `${quoteInput(archs[s.index])}; the record and ${META_FILE} come from different releases — re-extract the official archive`,
        );
      }
      byIndex[s.index] = s;
    }

    const specs = space === 'tss' ? tssTables(archs, byIndex) : sssTables(archs, byIndex);
    const built = specs.map((s) => ({ path: path.join(outDir, s.file), ...buildCsv(s.columns, total) }));
    writeFilesAtomic(built.map((b) => ({ path: b.path, data: b.text })));
    clearNatsBenchTablesCache();
    ok = true;
    return {
      space,
      source: folder,
      epochs: TABLE_EPOCHS[space],
      total,
      imported: tasks.length,
      missing,
      tables: built.map((b) => b.path),
      columns: Object.fromEntries(built.map((b) => [b.path, b.header])),
    };
  } finally {
    if (stage !== null) await fsp.rm(stage, { recursive: true, force: true }).catch(() => undefined);
    // A failed import from a .tar leaves no empty folders behind either.
    if (!ok && createdTo !== undefined) await fsp.rm(createdTo, { recursive: true, force: true }).catch(() => undefined);
  }
}

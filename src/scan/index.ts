/**
 * The whole-space scan: every architecture of a space scored with the chosen proxies, one
 * evaluation per class of functionally identical architectures (TSS: 6,466 classes for 15,625
 * cells), in the order of the benchmark index. Class members share their scores. Scores go
 * through the session's cache as they arrive, so an interrupted scan resumes where it stopped;
 * with a queue URL the evaluations run on `mfnas worker`s (src/queue).
 */
import { builtinName, datasetLabel, type Dataset, type DatasetName } from '../datasets/registry.js';
import { resolveDataset } from '../datasets/resolve.js';
import type { ProxyScores } from '../proxies/scoreNetwork.js';
import { DEFAULT_PROXIES, parseProxyList, type ProxyName } from '../proxies/registry.js';
import type { ScoredArchitecture } from '../proxies/scorer.js';
import { openScoringSession } from '../scoring/session.js';
import type { QueueStats } from '../queue/queueEvaluator.js';
import { openDefaultNatsBenchTables } from '../natsbench/tables.js';
import { parseSpaceName, spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import type { ScoreCache } from '../storage/scoreCache.js';
import { kendallTau, spearman } from '../stats/correlation.js';
import { checkOutputFile, writeFileAtomic } from '../util/atomicWrite.js';
import { toCsv } from '../util/csv.js';
import { seedOf } from '../util/bounds.js';
import { DataError, InputError, MfnasError, quoteInput } from '../util/errors.js';

/** The proxies a scan scores unless told otherwise: the MFNAS fidelities, ZiCo and parameters. */
export const SCAN_DEFAULT_PROXIES: readonly ProxyName[] = [...DEFAULT_PROXIES, 'zico', 'params'];

export interface ScanOptions {
  /** 'tss' (default) or 'sss'. */
  readonly space?: SpaceName | string;
  /** 'cifar10' (default), 'cifar100', 'ImageNet16-120', an image folder's path or an `openDataset` value. */
  readonly dataset?: DatasetName | string | Dataset;
  /** Proxy names, or 'all' (default intgrad_param, intgrad_mean, zico, params). */
  readonly proxies?: readonly ProxyName[] | string;
  /** Images per proxy batch (default 128; ImageNet16-120's sample here needs 53). */
  readonly batch?: number;
  /** Number of proxy batches (default 2). */
  readonly batches?: number;
  /** Seed of the proxy batches and of the weights (default 0). */
  readonly seed?: number;
  readonly dataSeed?: number;
  readonly initSeed?: number;
  /** Benchmark indices [start, end) to scan (default the whole space). */
  readonly range?: readonly [number, number];
  /** Data folder (default MFNAS_DATA_DIR, else ../shared/data). */
  readonly dataDir?: string;
  /** Image folders: resize to imageSize x imageSize (default 32). */
  readonly imageSize?: number;
  /** Image folders: skip bad files instead of failing. */
  readonly skipBad?: boolean;
  /** Score cache: a path, an open `ScoreCache` or false (default MFNAS_CACHE, else ~/.cache/mfnas/scores.sqlite). */
  readonly cache?: string | false | ScoreCache;
  /** Local worker threads (default one per core); ignored with `queue`. */
  readonly workers?: number;
  /** A Redis URL: evaluate on `mfnas worker`s through BullMQ (docs/distributed.md). */
  readonly queue?: string;
  /** Write `index,arch,<proxies...>` for every architecture here (atomically, at the end). */
  readonly out?: string;
  /** Called as classes are scored (cached ones first, at once). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ScanRow {
  readonly index: number;
  readonly arch: string;
  readonly canonical: string;
  readonly scores: ProxyScores;
  /** Benchmark test accuracy (%), null without a table or for an image folder. */
  readonly accuracy: number | null;
}

export interface ScanResult {
  readonly space: SpaceName;
  readonly dataset: string;
  readonly range: readonly [number, number];
  readonly architectures: number;
  readonly classes: number;
  /** Classes evaluated by this run (the others came from the cache). */
  readonly evaluated: number;
  readonly cached: number;
  readonly seconds: number;
  /** Seconds of proxy computation per evaluated class (null when all came from the cache). */
  readonly secondsPerClass: number | null;
  readonly engine: string;
  /** Kendall τ-b and Spearman ρ of each proxy with the benchmark accuracy over all architectures, or null. */
  readonly correlation: Partial<Record<ProxyName, { kendall: number; spearman: number }>> | null;
  readonly out: string | null;
  /** What the queue did, with a queue. */
  readonly queue: QueueStats | null;
  readonly rows: readonly ScanRow[];
}

/** `A:B` → [A, B): benchmark indices A ≤ i < B. */
export function parseRange(text: string, size: number): [number, number] {
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(text);
  const start = m && m[1] !== '' ? Number(m[1]) : 0;
  const end = m && m[2] !== '' ? Number(m[2]) : size;
  if (!m || start >= end || end > size) {
    throw new InputError(`--range ${quoteInput(text)} is not a range of indices: give START:END with 0 <= START < END <= ${size} (END excluded)`);
  }
  return [start, end];
}

/**
 * The number of architectures a scan of `space` runs over: it lists them by benchmark index,
 * so a space without one cannot be scanned (InputError).
 */
export function scannableSize(space: SpaceName): number {
  const size = spaceByName(space).size;
  if (size === null) {
    throw new InputError(`scan lists every architecture of a space by its index, and the ${space} space has none: ` +
      'study it with correlate --sample N or search it');
  }
  return size;
}

/** Scores every architecture of a space (or of `range`); see the module comment. */
export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const t0 = performance.now();
  const space = parseSpaceName(String(options.space ?? 'tss'));
  const given = options.proxies;
  const proxies = given === undefined ? [...SCAN_DEFAULT_PROXIES] : parseProxyList(typeof given === 'string' ? given : given.join(','));
  const seed = seedOf(options.seed, 'seed', 0);
  const benchmark = openDefaultNatsBenchTables(options.dataDir);
  const size = scannableSize(space);
  const definition: SpaceDefinition<unknown> = spaceByName(space).withBenchmark(benchmark);
  if (!definition.indexed) {
    throw new DataError(`a ${space.toUpperCase()} scan lists architectures in NATS-Bench index order, which needs the ${space.toUpperCase()} table: ` +
      'use --data-dir / MFNAS_DATA_DIR, or create it with `mfnas natsbench import`');
  }
  const range = options.range ?? [0, size];
  if (!(Number.isSafeInteger(range[0]) && Number.isSafeInteger(range[1]) && range[0] >= 0 && range[0] < range[1] && range[1] <= size)) {
    throw new InputError(`range ${quoteInput(range.join(':'))} is not within 0..${size} (start included, end excluded)`);
  }
  if (options.out !== undefined) checkOutputFile(options.out, '--out');
  const dataset = await resolveDataset(options.dataset ?? 'cifar10', { imageSize: options.imageSize, skipBad: options.skipBad });

  // Every architecture of the range, and the first member of each class (scored for all).
  const archs: { index: number; arch: unknown; canonical: string }[] = [];
  const firstOfClass = new Map<string, unknown>();
  for (let index = range[0]; index < range[1]; index++) {
    const arch = definition.fromIndex(index);
    const canonical = definition.canonical(arch);
    archs.push({ index, arch, canonical });
    if (!firstOfClass.has(canonical)) firstOfClass.set(canonical, arch);
  }
  const members = [...firstOfClass.values()];

  const session = await openScoringSession({
    space, dataset, dataDir: options.dataDir, batch: options.batch, batches: options.batches,
    dataSeed: seedOf(options.dataSeed, 'dataSeed', seed), initSeed: seedOf(options.initSeed, 'initSeed', seed),
    cache: options.cache, workers: options.workers, queue: options.queue,
  });
  const byClass = new Map<string, ScoredArchitecture>();
  let queueStats: QueueStats | null = null;
  try {
    // Settings the proxies cannot work with are refused before the first network is scored.
    session.scorer.checkProxies(proxies);
    await scoreClasses(session.scorer, members, proxies, Math.max(1, session.evaluator.concurrency), byClass, options.onProgress);
    const stats = (session.evaluator as { stats?: QueueStats }).stats;
    queueStats = stats ? { ...stats, workers: { ...stats.workers } } : null;
  } finally {
    await session.close();
  }

  const builtin = builtinName(dataset);
  const table = definition.table(benchmark);
  const rows: ScanRow[] = archs.map(({ index, arch, canonical }) => ({
    index, arch: definition.format(arch), canonical, scores: byClass.get(canonical)!.scores,
    accuracy: builtin && table ? table.testAccuracy(builtin, index) : null,
  }));
  const correlation = correlations(rows, proxies);
  if (options.out !== undefined) writeScanCsv(options.out, rows, proxies);
  const evaluated = session.scorer.evaluatedCount;
  return {
    space, dataset: datasetLabel(dataset), range: [range[0], range[1]], architectures: rows.length, classes: members.length,
    evaluated, cached: members.length - evaluated, seconds: (performance.now() - t0) / 1000,
    secondsPerClass: evaluated > 0 ? session.scorer.proxySeconds / evaluated : null,
    engine: session.evaluator.engine, correlation, out: options.out ?? null, queue: queueStats, rows,
  };
}

/**
 * Scores the class members `concurrency` at a time. A job that failed on every attempt does not
 * stop the others (they are all cached for the rerun) and is reported at the end; any other
 * error (a refusal: other data, another engine) stops the scan at once.
 */
async function scoreClasses(
  scorer: import('../proxies/scorer.js').Scorer, members: readonly unknown[], proxies: readonly ProxyName[], concurrency: number,
  byClass: Map<string, ScoredArchitecture>, onProgress?: (done: number, total: number) => void,
): Promise<void> {
  let next = 0, done = 0;
  const failures: Error[] = [];
  let fatal: unknown = null;
  onProgress?.(0, members.length);
  const lane = async () => {
    while (next < members.length && fatal === null) {
      const arch = members[next++];
      try {
        const r = await scorer.score(arch, proxies);
        byClass.set(r.canonical, r);
      } catch (e) {
        if ((e as Error)?.name === 'QueueJobError') failures.push(e as Error);
        else if (fatal === null) fatal = e;
      }
      done++;
      onProgress?.(done, members.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, members.length) }, lane));
  if (fatal !== null) throw fatal;
  if (failures.length > 0) {
    throw new MfnasError(`${failures.length} of ${members.length} classes could not be scored (a rerun retries them; ` +
      `the others are cached): ${failures[0].message}`);
  }
}

function correlations(rows: readonly ScanRow[], proxies: readonly ProxyName[]): ScanResult['correlation'] {
  if (rows.length < 2 || rows.some((r) => r.accuracy === null)) return null;
  const acc = rows.map((r) => r.accuracy!);
  const out: NonNullable<ScanResult['correlation']> = {};
  for (const p of proxies) {
    // NaN and -Infinity (a network that computes nothing) rank lowest, as in `correlate`.
    const s = rows.map((r) => { const v = r.scores[p]; return v === undefined || Number.isNaN(v) ? -Infinity : v; });
    out[p] = { kendall: kendallTau(s, acc), spearman: spearman(s, acc) };
  }
  return out;
}

/**
 * `index,arch,<proxies...>`, one row per architecture in index order, written atomically. Scores
 * are written as JavaScript prints them (`String`), which reads back to the same bits; TSS cell
 * strings are quoted, as in `correlate`'s rows.
 */
export function writeScanCsv(path: string, rows: readonly ScanRow[], proxies: readonly ProxyName[]): void {
  const table = [['index', 'arch', ...proxies], ...rows.map((r) => [r.index, r.arch, ...proxies.map((p) => r.scores[p])])];
  writeFileAtomic(path, toCsv(table, { quoteAlso: /\|/ }));
}

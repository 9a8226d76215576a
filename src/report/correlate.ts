/**
 * A proxy-quality study: score a set of benchmark architectures with several proxies and report
 * each proxy's rank correlation with the benchmark test accuracy.
 */
import { readFileSync, existsSync } from 'node:fs';
import type { Benchmark } from '../natsbench/tables.js';
import type { DatasetName } from '../datasets/registry.js';
import type { ProxyName } from '../proxies/registry.js';
import type { Scorer, ScoredArchitecture } from '../proxies/scorer.js';
import { kendallTau, spearman } from '../stats/correlation.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { toCsv } from '../util/csv.js';
import { InputError, DataError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface CorrelationRow {
  index: number;
  arch: string;
  accuracy: number;
  scores: Partial<Record<ProxyName, number>>;
}

export interface CorrelationResult {
  n: number;
  proxies: Partial<Record<ProxyName, { kendall: number; spearman: number }>>;
  seconds: number;
  /** Seconds of proxy computation per architecture actually evaluated (cache misses). */
  secondsPerArchitecture: number | null;
  evaluated: number;
  rows: CorrelationRow[];
}

/** `n` distinct benchmark indices drawn with a seeded generator. */
export function sampleIndices(space: SpaceName, n: number, seed: number, size: number): number[] {
  if (!Number.isInteger(n) || n < 2 || n > size) throw new InputError(`--sample must be an integer from 2 to ${size} for ${space}, got ${n}`);
  return new Rng(seed).derive(`sample-${space}`).sampleIndices(size, n);
}

/** Indices from text: comma/whitespace separated integers. */
export function parseIndexList(text: string, size: number, source: string): number[] {
  const items = text.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) throw new InputError(`no indices in ${source}`);
  return items.map((t) => {
    const v = Number(t);
    if (!Number.isInteger(v) || v < 0 || v >= size) throw new InputError(`index '${t}' in ${source} is not an integer in 0..${size - 1}`);
    return v;
  });
}

export function readIndexFile(path: string, size: number): number[] {
  if (!existsSync(path)) throw new DataError(`indices file not found: ${path}`);
  return parseIndexList(readFileSync(path, 'utf8'), size, path);
}

/** Indices run over the whole space: a benchmark table has one row per architecture. */
export function spaceSize(space: SpaceName, _benchmark: Benchmark): number {
  return spaceByName(space).size;
}

/** The architecture at a benchmark index, as its space's typed value (the scorer takes it as is). */
export function archAt(space: SpaceName, benchmark: Benchmark, index: number): unknown {
  const definition: SpaceDefinition<unknown> = spaceByName(space).withBenchmark(benchmark);
  return definition.fromIndex(index);
}

export function accuracyAt(space: SpaceName, benchmark: Benchmark, dataset: DatasetName, index: number): number {
  const v = spaceByName(space).table(benchmark)!.testAccuracy(dataset, index);
  if (v === null) {
    throw new DataError(`the ${space.toUpperCase()} table in ${benchmark.natsDir} has no ${dataset} accuracy for index ${index} ` +
      '(a partial import): choose indices the table covers');
  }
  return v;
}

/** Throws a clear error when the table a study needs is missing. */
export function requireTable(space: SpaceName, benchmark: Benchmark | null): Benchmark {
  const table = spaceByName(space).table(benchmark);
  if (!benchmark || !table) {
    const where = benchmark ? benchmark.natsDir : 'no data directory found';
    throw new DataError(`the NATS-Bench ${space.toUpperCase()} table is needed for accuracies (looked in ${where}): ` +
      'use --data-dir / MFNAS_DATA_DIR, or create it with `mfnas natsbench import`');
  }
  return benchmark;
}

export async function correlate(opts: {
  scorer: Scorer; benchmark: Benchmark; indices: readonly number[]; proxies: readonly ProxyName[];
  onScored?: (r: ScoredArchitecture, done: number, total: number) => void;
}): Promise<CorrelationResult> {
  const { scorer, benchmark, indices, proxies } = opts;
  const { space, dataset } = scorer.ctx;
  const t0 = performance.now();
  const archs = indices.map((i) => archAt(space, benchmark, i));
  const before = { n: scorer.evaluatedCount, s: scorer.proxySeconds };
  const scored = await scorer.scoreAll(archs, proxies);
  const rows: CorrelationRow[] = indices.map((index, i) => ({
    index, arch: scored[i].arch, accuracy: accuracyAt(space, benchmark, dataset, index), scores: scored[i].scores,
  }));
  const acc = rows.map((r) => r.accuracy);
  const result: CorrelationResult['proxies'] = {};
  for (const p of proxies) {
    // -Infinity (e.g. a log of zero for a network that computes nothing) ranks lowest; NaN too.
    const s = rows.map((r) => { const v = r.scores[p]; return v === undefined || Number.isNaN(v) ? -Infinity : v; });
    result[p] = { kendall: kendallTau(s, acc), spearman: spearman(s, acc) };
  }
  const evaluated = scorer.evaluatedCount - before.n;
  return {
    n: rows.length, proxies: result, seconds: (performance.now() - t0) / 1000,
    secondsPerArchitecture: evaluated > 0 ? (scorer.proxySeconds - before.s) / evaluated : null,
    evaluated, rows,
  };
}

/**
 * One row per architecture: index, arch, accuracy, one column per proxy (empty when a proxy has
 * no score). Written atomically. TSS cell strings stay quoted, as this file has always had them,
 * so that files written before and after compare equal.
 */
export function writeCorrelationCsv(path: string, rows: readonly CorrelationRow[], proxies: readonly ProxyName[]): void {
  const table = [['index', 'arch', 'accuracy', ...proxies], ...rows.map((r) => [r.index, r.arch, r.accuracy, ...proxies.map((p) => r.scores[p])])];
  writeFileAtomic(path, toCsv(table, { quoteAlso: /\|/ }));
}

/**
 * A proxy-quality study: score a set of benchmark architectures with several proxies and report
 * each proxy's rank correlation with the benchmark test accuracy. Set proxies (presets such as
 * az_nas, `ensemble(...)`) are computed from their components over the whole sample.
 *
 * A space without an index (hence without a benchmark table) is studied on architectures drawn
 * with its own sampler: they are scored, and there is no accuracy to correlate with.
 */
import { readRegularFileSync } from '../util/regularFile.js';
import type { NatsBenchTables } from '../natsbench/tables.js';
import { builtinName, datasetLabel, type DatasetName } from '../datasets/registry.js';
import type { ProxyName, SetProxyInfo } from '../proxies/registry.js';
import type { Scorer, ScoredArchitecture } from '../proxies/scorer.js';
import { kendallTau, spearman } from '../stats/correlation.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { toCsv } from '../util/csv.js';
import { InputError, DataError, quotePath } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface CorrelationRow {
  /** Benchmark index; null for a space without one. */
  index: number | null;
  arch: string;
  /** Benchmark test accuracy; null for a space without a benchmark. */
  accuracy: number | null;
  /** Per-network proxies by name, then set proxies (their value over the sample) by name. */
  scores: Partial<Record<string, number>>;
}

export interface CorrelationResult {
  n: number;
  /** Every proxy and set proxy studied, by name (none without accuracies). */
  proxies: Partial<Record<string, { kendall: number; spearman: number }>>;
  seconds: number;
  /** Seconds of proxy computation per architecture actually evaluated (cache misses). */
  secondsPerArchitecture: number | null;
  evaluated: number;
  rows: CorrelationRow[];
}

/** `n` distinct benchmark indices drawn with a seeded generator. */
export function sampleIndices(space: SpaceName, n: number, seed: number, size: number | null): number[] {
  if (size === null) throw new InputError(`the ${space} space has no benchmark indices: draw its architectures with its sampler (sampleArchitectures)`);
  if (!Number.isInteger(n) || n < 2 || n > size) throw new InputError(`--sample must be an integer from 2 to ${size} for ${space}, got ${n}`);
  return new Rng(seed).derive(`sample-${space}`).sampleIndices(size, n);
}

/**
 * `n` architectures of a space without an index, drawn by its sampler with a seeded generator:
 * distinct classes (canonical forms). Throws an InputError when the space yields fewer.
 */
export function sampleArchitectures(space: SpaceDefinition<unknown>, n: number, seed: number): unknown[] {
  if (!Number.isInteger(n) || n < 2) throw new InputError(`--sample must be an integer of at least 2, got ${n}`);
  const rng = new Rng(seed).derive(`sample-archs-${space.name}`);
  const chosen = new Map<string, unknown>();
  const draws = 200 * n + 10_000;
  for (let t = 0; t < draws && chosen.size < n; t++) {
    const arch = space.sample(rng);
    const key = space.canonical(arch);
    if (!chosen.has(key)) chosen.set(key, arch);
  }
  if (chosen.size < n) {
    throw new InputError(`--sample ${n}: only ${chosen.size} different ${space.name} architectures turned up in ${draws} draws: lower --sample`);
  }
  return [...chosen.values()];
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
  const text = readRegularFileSync(path, { what: '--indices-file', hint: 'give a text file of indices' }).toString('utf8');
  return parseIndexList(text, size, path);
}

/** Indices run over the whole space: a benchmark table has one row per architecture. */
export function spaceSize(space: SpaceName, _benchmark: NatsBenchTables): number {
  const size = spaceByName(space).size;
  if (size === null) throw new InputError(`the ${space} space has no benchmark indices: choose its architectures with --sample N`);
  return size;
}

/** The architecture at a benchmark index, as its space's typed value (the scorer takes it as is). */
export function archAt(space: SpaceName, benchmark: NatsBenchTables, index: number): unknown {
  const definition: SpaceDefinition<unknown> = spaceByName(space).withBenchmark(benchmark);
  return definition.fromIndex(index);
}

export function accuracyAt(space: SpaceName, benchmark: NatsBenchTables, dataset: DatasetName, index: number): number {
  const v = spaceByName(space).table(benchmark)!.testAccuracy(dataset, index);
  if (v === null) {
    throw new DataError(`the ${space.toUpperCase()} table in ${benchmark.natsDir} has no ${dataset} accuracy for index ${index} ` +
      '(a partial import): choose indices the table covers');
  }
  return v;
}

/** Throws a clear error when the table a study needs is missing. */
export function requireTable(space: SpaceName, benchmark: NatsBenchTables | null): NatsBenchTables {
  const table = spaceByName(space).table(benchmark);
  if (!benchmark || !table) {
    const where = benchmark ? benchmark.natsDir : 'no data directory found';
    throw new DataError(`the NATS-Bench ${space.toUpperCase()} table is needed for accuracies (looked in ${where}): ` +
      'use --data-dir / MFNAS_DATA_DIR, or create it with `mfnas natsbench import`');
  }
  return benchmark;
}

/**
 * Scores the architectures at `indices` of the benchmark (with their accuracies and the
 * correlations), or, for a space without a benchmark, the architectures `archs` (scores only).
 */
export async function correlate(opts: {
  scorer: Scorer; proxies: readonly ProxyName[];
} & ({ benchmark: NatsBenchTables; indices: readonly number[]; archs?: undefined } | { archs: readonly unknown[]; benchmark?: null; indices?: undefined }) & {
  /** Set proxies to aggregate over the sample (their components must be among `proxies`). */
  sets?: readonly SetProxyInfo[];
  onScored?: (r: ScoredArchitecture, done: number, total: number) => void;
}): Promise<CorrelationResult> {
  const { scorer, proxies, sets = [] } = opts;
  for (const set of sets) {
    const missing = set.components.filter((c) => !proxies.includes(c));
    if (missing.length > 0) throw new Error(`correlate: ${set.name} needs ${missing.join(', ')} scored`);
  }
  const { space } = scorer.ctx;
  const dataset = builtinName(scorer.ctx.dataset);
  const t0 = performance.now();
  const before = { n: scorer.evaluatedCount, s: scorer.proxySeconds };
  if (opts.archs !== undefined) {
    const scored = await scorer.scoreAll(opts.archs, proxies);
    const rows: CorrelationRow[] = scored.map((r) => ({ index: null, arch: r.arch, accuracy: null, scores: { ...r.scores } }));
    addSetScores(rows, sets);
    const evaluated = scorer.evaluatedCount - before.n;
    return {
      n: rows.length, proxies: {}, seconds: (performance.now() - t0) / 1000,
      secondsPerArchitecture: evaluated > 0 ? (scorer.proxySeconds - before.s) / evaluated : null, evaluated, rows,
    };
  }
  const { benchmark, indices } = opts;
  if (dataset === null) {
    throw new InputError(`correlate needs benchmark accuracies, which ${quotePath(datasetLabel(scorer.ctx.dataset))} has none of: ` +
      'use cifar10, cifar100 or ImageNet16-120');
  }
  const archs = indices.map((i) => archAt(space, benchmark, i));
  const scored = await scorer.scoreAll(archs, proxies);
  const rows: CorrelationRow[] = indices.map((index, i) => ({
    index, arch: scored[i].arch, accuracy: accuracyAt(space, benchmark, dataset, index), scores: { ...scored[i].scores },
  }));
  addSetScores(rows, sets);
  const acc = rows.map((r) => r.accuracy!);
  const result: CorrelationResult['proxies'] = {};
  for (const p of [...proxies, ...sets.map((s) => s.name)]) {
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
 * Adds each set proxy's value, computed over all `rows` as one set, to every row's scores
 * under the set proxy's name. A repeated index counts once per occurrence, as in τ and ρ.
 */
export function addSetScores(rows: CorrelationRow[], sets: readonly SetProxyInfo[]): void {
  for (const set of sets) {
    const values = set.aggregate(rows.map((r) => r.scores));
    rows.forEach((r, i) => { r.scores[set.name] = values[i]; });
  }
}

/**
 * One row per architecture: index, arch, accuracy, one column per proxy (empty when a proxy has
 * no score). Written atomically. TSS cell strings stay quoted, as this file has always had them,
 * so that files written before and after compare equal.
 */
export function writeCorrelationCsv(path: string, rows: readonly CorrelationRow[], proxies: readonly string[]): void {
  writeFileAtomic(path, correlationCsv(rows, proxies));
}

/** The text `writeCorrelationCsv` writes. */
export function correlationCsv(rows: readonly CorrelationRow[], proxies: readonly string[]): string {
  const table = [['index', 'arch', 'accuracy', ...proxies], ...rows.map((r) => [r.index, r.arch, r.accuracy, ...proxies.map((p) => r.scores[p])])];
  return toCsv(table, { quoteAlso: /\|/ });
}

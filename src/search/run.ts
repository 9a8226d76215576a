/**
 * `mfnas search` as a library call: build the search problem from a Scorer and limits, run the
 * chosen algorithm for each seed, and assemble the result (and, with an output folder, the
 * history CSVs, result.json and the HTML report).
 */
import { createRequire } from 'node:module';
import type { NatsBenchTables } from '../natsbench/tables.js';
import { builtinName, datasetLabel, isFolderDataset, type DatasetRef, type FolderDataset } from '../datasets/registry.js';
import { countFlops, countParams } from '../networks/index.js';
import { MFNAS_FIDELITIES, parseScoreSpec, scoreComponents, scoreName, scoreValues, type ProxyName, type ScoreSpec } from '../proxies/registry.js';
import type { Scorer } from '../proxies/scorer.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import { InputError, quoteInput } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { runRandomSearch, runRea } from './baselines.js';
import { MFNAS_DEFAULTS, runMfnas } from './mfnas.js';
import { paretoFront } from './pareto.js';
import type { Candidate, Limits, Scores, SearchOutcome, SearchProblem, StepRecord } from './problem.js';
import { combinedRanks } from './rank.js';

export type Algorithm = 'mfnas' | 'rea' | 'random';
export const ALGORITHMS: readonly Algorithm[] = ['mfnas', 'rea', 'random'];

/** A cost `--objectives` trades the search score against. */
export type CostObjective = 'flops' | 'params';
export const COST_OBJECTIVES: readonly CostObjective[] = ['flops', 'params'];

/**
 * `--objectives proxy,flops` or `proxy,params` (either order): the cost the search score is
 * traded against. Throws an InputError naming the accepted values otherwise.
 */
export function parseObjectives(text: string): CostObjective {
  const items = text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  const costs = items.filter((t): t is CostObjective => (COST_OBJECTIVES as readonly string[]).includes(t));
  if (items.length !== 2 || !items.includes('proxy') || costs.length !== 1) {
    throw new InputError(`--objectives ${quoteInput(text)} is not supported: use proxy,flops or proxy,params`);
  }
  return costs[0];
}

/** The version of the mfnas package (recorded in result.json). */
export const MFNAS_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The settings of `runSearch`, every one given: the library's `SearchOptions` (src/api) and the CLI's flags resolve to these. */
export interface SearchRunOptions {
  readonly algorithm: Algorithm;
  readonly population: number;
  readonly tournament: number;
  readonly steps: number;
  readonly mutations: number;
  /** Random search: number of architectures sampled. */
  readonly samples: number;
  /** Baselines: the proxy they rank by (a proxy, a preset or `ensemble(...)`, as text). */
  readonly proxy: string;
  /**
   * MFNAS: what its rank combines, fidelity 1 first (each a proxy, a preset or
   * `ensemble(...)`, as text). Default the paper's intgrad_param, intgrad_mean.
   */
  readonly fidelities: readonly string[];
  /**
   * MFNAS, multi-fidelity in cost: the evolution scores every candidate on this cheaper proxy
   * input (fewer or smaller images; `runSearch`'s `scorer` must be on it), and the `confirm`
   * best of the history are scored again on the full input (`confirmScorer`), where the answer
   * is chosen. Absent: the paper's search.
   */
  readonly screen?: ScreenSettings;
  readonly limits: Limits;
  readonly seed: number;
  readonly runs: number;
  /** Minutes per run; the run stops cleanly between steps and reports its best so far. */
  readonly timeBudget?: number;
  /**
   * Trade the search score against this cost: each run also returns the Pareto set of its
   * history (`RunResult.pareto`). The search itself is unchanged.
   */
  readonly objective?: CostObjective;
}

/** A screened search's cheap proxy input and how many of its best are confirmed. */
export interface ScreenSettings {
  readonly batches: number;
  readonly batch: number;
  /** Side of the proxy images (null: the dataset's own). */
  readonly resolution: number | null;
  readonly confirm: number;
}

/** Candidates a screened search confirms on the full input unless told (`--confirm`). */
export const DEFAULT_CONFIRM = 10;

/**
 * `--screen BATCHESxSIZE[@PIXELS]` (e.g. `2x32`, `2x64@16`): the cheap proxy input of a
 * screened search. Throws an InputError naming the form otherwise.
 */
export function parseScreenInput(text: string, confirm = DEFAULT_CONFIRM): ScreenSettings {
  const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*(?:@\s*(\d+))?\s*$/i.exec(text);
  const ok = m && Number(m[1]) >= 1 && Number(m[2]) >= 1 && (m[3] === undefined || Number(m[3]) >= 1);
  if (!ok) throw new InputError(`--screen ${quoteInput(text)} is not a proxy input: use BATCHESxSIZE[@PIXELS], e.g. 2x32 or 2x64@16`);
  if (!Number.isInteger(confirm) || confirm < 1) throw new InputError(`--confirm must be a positive integer, got ${quoteInput(String(confirm))}`);
  return { batches: Number(m![1]), batch: Number(m![2]), resolution: m![3] === undefined ? null : Number(m![3]), confirm };
}

/** The `--screen` text of a screen input, `2x32` or `2x64@16` (what `parseScreenInput` reads). */
export function screenInputText(s: Omit<ScreenSettings, 'confirm'>): string {
  return `${s.batches}x${s.batch}${s.resolution !== null ? `@${s.resolution}` : ''}`;
}

/** The proxy input of a screen as scoring-session options (`batch`, `batches`, `resolution`). */
export function screenInputOptions(s: ScreenSettings): { batch: number; batches: number; resolution?: number } {
  return { batch: s.batch, batches: s.batches, ...(s.resolution !== null ? { resolution: s.resolution } : {}) };
}

/** `2×32` or `2×64 @ 16 px`. */
export function screenLabel(s: Omit<ScreenSettings, 'confirm'>): string {
  return `${s.batches} × ${s.batch}${s.resolution !== null ? ` @ ${s.resolution} px` : ''}`;
}

export const SEARCH_DEFAULTS: Omit<SearchRunOptions, 'limits'> = {
  algorithm: 'mfnas', ...MFNAS_DEFAULTS, samples: 400, proxy: 'intgrad_param', fidelities: MFNAS_FIDELITIES, seed: 0, runs: 1,
};

/** Parses `--fidelities`-style texts (each one score), refusing repeats. Throws InputError. */
export function parseFidelities(items: readonly string[]): ScoreSpec[] {
  if (items.length === 0) throw new InputError('--fidelities needs at least one proxy: e.g. --fidelities intgrad_param,synflow');
  const specs = items.map(parseScoreSpec);
  const names = specs.map(scoreName);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new InputError(`--fidelities names ${twice} twice: give different fidelities`);
  return specs;
}

export interface ArchSummary {
  index: number | null;
  arch: string;
  accuracy: number | null;
  params: number;
  flops: number;
  scores: Scores;
}

/** An architecture with the search's own score of it (see `searchScores`). */
export interface RankedArch extends ArchSummary {
  score: number;
}

export interface RunResult {
  seed: number;
  best: ArchSummary;
  /** With `objective`: the Pareto set of the run's history, search score against that cost, cheapest first. */
  pareto?: RankedArch[];
  evaluated: number;
  /** A screened run: the best of its history rescored on the full input (the answer is one of them). */
  confirmed?: ArchSummary[];
  seconds: number;
  proxySeconds: number;
  stoppedEarly: boolean;
}

/** Five-number summary of the population's proxy at one step (null without a population). */
export interface Quantiles { min: number; q1: number; median: number; q3: number; max: number }

export type StepDetail = StepRecord & { answerIndex: number | null; answerAccuracy: number | null; population: Quantiles | null };

export interface RunDetail {
  readonly result: RunResult;
  readonly steps: ReadonlyArray<StepDetail>;
  /** Every architecture scored, in the order the search met them, with the search's score of it. */
  readonly scored: ReadonlyArray<RankedArch & { generation: number }>;
}

/**
 * Everything that fixes a search's outcome, as `mfnas search --rerun result.json` reads it
 * back. Worker count and cache are absent: they change speed, never scores.
 */
export interface SearchSettings {
  space: SpaceName;
  /** A NATS-Bench name or an image folder's absolute path. */
  dataset: string;
  algorithm: Algorithm;
  population: number;
  tournament: number;
  steps: number;
  mutations: number;
  samples: number;
  proxy: string;
  /** MFNAS's fidelities, fidelity 1 first (absent from result.json files of earlier versions: the paper's). */
  fidelities: string[];
  /** A screened MFNAS search's cheap input (`batch`/`batches` are then the full, confirming input); null: none. */
  screen: ScreenSettings | null;
  objectives: string | null;
  maxFlops: number | null;
  maxParams: number | null;
  seed: number;
  runs: number;
  timeBudget: number | null;
  batch: number;
  batches: number;
  dataSeed: number;
  initSeed: number;
  /** Image folders: the side the images were resized to. */
  imageSize: number | null;
  /** Image folders: whether bad files were skipped. */
  skipBad: boolean;
}

/** Where and with what the run happened, to tell whether a rerun can give the same bits. */
export interface SearchEnvironment {
  mfnas: string;
  /** The engine down to the versions that fix its arithmetic (e.g. native:2:tfjs-4.22.0:onednn-2.6.3). */
  engine: string;
  node: string;
  platform: string;
  /** SHA-256 prefix of the proxy batches' bytes (what the networks saw). */
  dataFingerprint: string;
}

/** The space's best benchmark accuracy on the dataset (the report's reference line). */
export interface SpaceBest { accuracy: number; index: number; arch: string }

/**
 * The search's own score of each member of a set: MFNAS's combined rank of its fidelities
 * within the set (MFNAS.md §4), a baseline's proxy value (a set proxy's over the set). Higher
 * is better.
 */
export function searchScores(algorithm: Algorithm, proxy: string, set: readonly Scores[], fidelities: readonly string[] = MFNAS_FIDELITIES): number[] {
  if (algorithm === 'mfnas') return combinedRanks(set, fidelities.map(parseScoreSpec));
  return scoreValues(parseScoreSpec(proxy), set);
}

/** What the search score is called in tables and charts. */
export function searchScoreName(algorithm: Algorithm, proxy: string): string {
  return algorithm === 'mfnas' ? 'MFNAS rank' : proxy;
}

export function quantiles(values: readonly number[]): Quantiles | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  // Linear interpolation between order statistics (numpy's default).
  const at = (q: number) => {
    const h = (v.length - 1) * q, lo = Math.floor(h);
    return lo + 1 < v.length ? v[lo] + (h - lo) * (v[lo + 1] - v[lo]) : v[lo];
  };
  return { min: v[0], q1: at(0.25), median: at(0.5), q3: at(0.75), max: v[v.length - 1] };
}

/** What a search on an image folder records of it (the networks' input depends on all of it). */
export interface FolderSummary {
  dir: string;
  fingerprint: string;
  imageSize: number;
  classNames: string[];
  /** Normalisation of the network input, from the training images (0..255 units). */
  mean: [number, number, number];
  std: [number, number, number];
  train: number;
  test: number | null;
  skipped: number;
}

export function folderSummary(d: FolderDataset): FolderSummary {
  return {
    dir: d.dir, fingerprint: d.fingerprint, imageSize: d.imageSize, classNames: [...d.classNames],
    mean: [...d.mean], std: [...d.std], train: d.counts.train, test: d.counts.test, skipped: d.skipped,
  };
}

export interface SearchResult {
  space: SpaceName;
  /** A NATS-Bench name, or an image folder's absolute path (then `folder` describes it). */
  dataset: string;
  /** Only for an image folder, which has no benchmark table: accuracies are null. */
  folder?: FolderSummary;
  algorithm: Algorithm;
  settings: SearchSettings;
  environment: SearchEnvironment;
  /** The best benchmark accuracy in the space (null without a table or on an image folder). */
  spaceBest: SpaceBest | null;
  runs: RunResult[];
  summary: { accuracyMean: number | null; accuracyStd: number | null; secondsMean: number };
}


/** Architectures the limits pre-check samples in a space it cannot list before it refuses the limits. */
export const LIMIT_TRIES = 10_000;

/**
 * Refuses limits no architecture meets, before any scoring, with one line naming the smallest
 * architecture seen. It samples first, on its own random stream (the search's draws are
 * untouched): the limits themselves hold in the search, which never proposes a candidate over
 * them (it resamples and re-mutates). When sampling finds nothing and the space can be listed,
 * the whole list is checked, so only limits that nothing meets are refused.
 */
function checkLimitsSatisfiable<A>(space: SpaceDefinition<A>, limits: Limits, dataset: DatasetRef, seed: number): void {
  if (limits.maxFlops === undefined && limits.maxParams === undefined) return;
  let minFlops = Infinity, minParams = Infinity;
  const fits = (a: A): boolean => {
    const spec = space.networkSpec(a, dataset);
    const f = countFlops(spec), p = countParams(spec);
    minFlops = Math.min(minFlops, f); minParams = Math.min(minParams, p);
    return (limits.maxFlops === undefined || f <= limits.maxFlops) && (limits.maxParams === undefined || p <= limits.maxParams);
  };
  const rng = new Rng(seed).derive('limits');
  // A space that can be listed is listed to the end anyway: a short look by sampling suffices.
  const tries = space.enumerate ? LIMIT_TRIES / 10 : LIMIT_TRIES;
  for (let t = 0; t < tries; t++) if (fits(space.sample(rng))) return;
  if (space.enumerate) for (const a of space.enumerate()) if (fits(a)) return;
  const given = [limits.maxFlops !== undefined ? `--max-flops ${limits.maxFlops}` : '', limits.maxParams !== undefined ? `--max-params ${limits.maxParams}` : '']
    .filter(Boolean).join(', ');
  const looked = space.enumerate ? `none of its ${space.size ?? 'listed'} architectures is within ${given}` : `none within ${given} found in ${LIMIT_TRIES} tries`;
  throw new InputError(`no ${space.name} architecture satisfies the limits on ${datasetLabel(dataset)}: ${looked} ` +
    `(the smallest ${space.enumerate ? '' : 'seen '}has ${minFlops.toFixed(2)} M FLOPs and ${minParams} parameters): raise the limit`);
}

export interface SearchRunHooks {
  onStep?(seed: number, record: StepRecord, answerAccuracy: number | null): void;
}

/** Runs the search `runs` times (seeds seed, seed+1, …). */
export async function runSearch(opts: {
  /** Scores the search's candidates (with `options.screen`: on the cheap input). */
  scorer: Scorer; benchmark: NatsBenchTables | null; options: SearchRunOptions; hooks?: SearchRunHooks;
  /** With `options.screen`: scores on the full input, for the confirmations. */
  confirmScorer?: Scorer;
}): Promise<{ result: SearchResult; details: RunDetail[] }> {
  const { scorer, benchmark, options } = opts;
  const { space: spaceName, dataset } = scorer.ctx;
  const space: SpaceDefinition<unknown> = spaceByName(spaceName).withBenchmark(benchmark);
  const table = space.table(benchmark);
  // Without the TSS table a TSS cell has no index, hence no accuracy either.
  const indexOf = (a: unknown): number | null => (space.indexed ? space.indexOf(a) : null);
  // An image folder has no benchmark accuracies: they stay null, as without a table.
  const builtin = builtinName(dataset);
  const accuracyAt = (index: number | null): number | null =>
    (table && builtin !== null && index !== null ? table.testAccuracy(builtin, index) : null);
  checkLimitsSatisfiable(space, options.limits, dataset, options.seed);

  const fidelities = parseFidelities(options.fidelities);
  const proxySpec = parseScoreSpec(options.proxy);
  // Per-network scores only: set proxies are computed from them over the sets compared.
  const proxies: ProxyName[] = [...new Set((options.algorithm === 'mfnas' ? fidelities : [proxySpec]).flatMap(scoreComponents))];
  if (options.screen && options.algorithm !== 'mfnas') throw new InputError(`--screen is for --algorithm mfnas; ${options.algorithm} has none`);
  const confirmScorer = opts.confirmScorer;
  if ((options.screen !== undefined) !== (confirmScorer !== undefined)) throw new Error('internal: a screened search needs a confirming scorer, and only it');
  const costCache = new Map<string, { flops: number; params: number }>();
  const cost = (a: unknown) => {
    const key = space.format(a);
    let c = costCache.get(key);
    if (!c) { const spec = space.networkSpec(a, dataset); c = { flops: countFlops(spec), params: countParams(spec) }; costCache.set(key, c); }
    return c;
  };
  const problem: SearchProblem<unknown> = {
    space,
    feasible: (a) => {
      const c = cost(a);
      return (options.limits.maxFlops === undefined || c.flops <= options.limits.maxFlops) &&
        (options.limits.maxParams === undefined || c.params <= options.limits.maxParams);
    },
    scoreMany: async (archs) => (await scorer.scoreMany(archs, proxies)).map((r) => r.scores),
    ...(confirmScorer ? { confirmMany: async (archs: readonly unknown[]) => (await confirmScorer.scoreMany(archs, proxies)).map((r) => r.scores) } : {}),
  };
  const summarize = (c: Candidate<unknown>): ArchSummary => {
    const index = indexOf(c.arch);
    return { index, arch: c.key, accuracy: accuracyAt(index), ...cost(c.arch), scores: c.scores };
  };
  // The population's spread is shown in MFNAS's fidelity 1 (intgrad_param by default) or the baseline's proxy.
  const scoreProxy: ScoreSpec = options.algorithm === 'mfnas' ? fidelities[0] : proxySpec;

  const details: RunDetail[] = [];
  for (let r = 0; r < options.runs; r++) {
    const seed = options.seed + r;
    const t0 = performance.now();
    const proxyBefore = scorer.proxySeconds;
    const confirmBefore = confirmScorer?.proxySeconds ?? 0;
    const budgetMs = options.timeBudget !== undefined ? options.timeBudget * 60_000 : Infinity;
    const steps: StepDetail[] = [];
    const hooks = {
      shouldStop: () => performance.now() - t0 > budgetMs,
      onStep: (rec: StepRecord, population?: ReadonlyArray<{ readonly scores: Scores }>) => {
        const index = indexOf(space.parse(rec.answer));
        const acc = accuracyAt(index);
        const pop = population ? quantiles(scoreValues(scoreProxy, population.map((m) => m.scores))) : null;
        steps.push({ ...rec, answerIndex: index, answerAccuracy: acc, population: pop });
        opts.hooks?.onStep?.(seed, rec, acc);
      },
    };
    let outcome: SearchOutcome<unknown>;
    if (options.algorithm === 'mfnas') {
      outcome = await runMfnas(problem, {
        population: options.population, tournament: options.tournament, steps: options.steps, mutations: options.mutations, seed, fidelities,
        ...(options.screen ? { confirm: options.screen.confirm } : {}),
      }, hooks);
    } else if (options.algorithm === 'rea') {
      outcome = await runRea(problem, { population: options.population, tournament: options.tournament, steps: options.steps, proxy: proxySpec, seed }, hooks);
    } else {
      outcome = await runRandomSearch(problem, { samples: options.samples, proxy: proxySpec, seed }, hooks);
    }
    const all = [...outcome.history.values()];
    const ranks = searchScores(options.algorithm, scoreName(proxySpec), all.map((c) => c.scores), fidelities.map(scoreName));
    const scored = all.map((c, i) => ({ ...summarize(c), score: ranks[i], generation: c.generation }));
    const result: RunResult = {
      seed, best: summarize(outcome.answer),
      ...(options.objective ? { pareto: paretoSet(scored, options.objective) } : {}),
      evaluated: outcome.history.size,
      ...(outcome.confirmed ? { confirmed: outcome.confirmed.map(summarize) } : {}),
      seconds: (performance.now() - t0) / 1000, proxySeconds: scorer.proxySeconds - proxyBefore + (confirmScorer ? confirmScorer.proxySeconds - confirmBefore : 0),
      stoppedEarly: outcome.stoppedEarly,
    };
    details.push({ result, steps, scored });
  }
  const runs = details.map((d) => d.result);
  const accs = runs.map((r) => r.best.accuracy).filter((a): a is number => a !== null);
  const mean = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
  const std = mean !== null ? Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / accs.length) : null;
  // A screened search records its full input as batch/batches (the screen's is in `screen`).
  const ctx = (confirmScorer ?? scorer).ctx;
  const settings: SearchSettings = {
    space: spaceName, dataset: datasetLabel(dataset), algorithm: options.algorithm, population: options.population,
    tournament: options.tournament, steps: options.steps, mutations: options.mutations, samples: options.samples,
    proxy: scoreName(proxySpec), fidelities: fidelities.map(scoreName),
    screen: options.screen ?? null, objectives: options.objective ? `proxy,${options.objective}` : null,
    maxFlops: options.limits.maxFlops ?? null, maxParams: options.limits.maxParams ?? null,
    seed: options.seed, runs: options.runs, timeBudget: options.timeBudget ?? null,
    batch: ctx.settings.batchSize, batches: ctx.settings.batches, dataSeed: ctx.settings.dataSeed, initSeed: ctx.settings.initSeed,
    imageSize: isFolderDataset(dataset) ? dataset.imageSize : null, skipBad: isFolderDataset(dataset) && dataset.skipped > 0,
  };
  const environment: SearchEnvironment = {
    mfnas: MFNAS_VERSION, engine: scorer.engine, node: process.version, platform: `${process.platform}-${process.arch}`,
    dataFingerprint: ctx.dataFingerprint,
  };
  return {
    result: {
      space: spaceName, dataset: datasetLabel(dataset), ...(isFolderDataset(dataset) ? { folder: folderSummary(dataset) } : {}),
      algorithm: options.algorithm, settings, environment, spaceBest: bestInSpace(space, table, builtin), runs,
      summary: { accuracyMean: mean, accuracyStd: std, secondsMean: runs.reduce((s, r) => s + r.seconds, 0) / runs.length },
    },
    details,
  };
}

/** The Pareto set of scored architectures, search score against `cost`, cheapest first. */
export function paretoSet<T extends RankedArch>(scored: readonly T[], cost: CostObjective): T[] {
  return paretoFront(scored.map((c) => ({ cost: c[cost], value: c.score }))).map((i) => scored[i]);
}

function bestInSpace(space: SpaceDefinition<unknown>, table: ReturnType<SpaceDefinition<unknown>['table']>, dataset: ReturnType<typeof builtinName>): SpaceBest | null {
  if (!table || dataset === null || !space.indexed) return null;
  let best: { accuracy: number; index: number } | null = null;
  for (let i = 0; i < table.size; i++) {
    const a = table.testAccuracy(dataset, i);
    if (a !== null && Number.isFinite(a) && (best === null || a > best.accuracy)) best = { accuracy: a, index: i };
  }
  return best && { ...best, arch: space.format(space.fromIndex(best.index)) };
}

/**
 * `mfnas search` as a library call: build the search problem from a Scorer and limits, run the
 * chosen algorithm for each seed, and assemble the result (and, with an output folder, the
 * history CSVs, result.json and the HTML report).
 */
import type { Benchmark } from '../natsbench/tables.js';
import type { DatasetName } from '../datasets/registry.js';
import { countFlops, countParams } from '../networks/index.js';
import { MFNAS_FIDELITIES, type ProxyName } from '../proxies/registry.js';
import type { Scorer } from '../proxies/scorer.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import { InputError } from '../util/errors.js';
import { runRandomSearch, runRea } from './baselines.js';
import { MFNAS_DEFAULTS, runMfnas } from './mfnas.js';
import type { Candidate, Limits, Scores, SearchOutcome, SearchProblem, StepRecord } from './problem.js';

export type Algorithm = 'mfnas' | 'rea' | 'random';
export const ALGORITHMS: readonly Algorithm[] = ['mfnas', 'rea', 'random'];

export interface SearchOptions {
  readonly algorithm: Algorithm;
  readonly population: number;
  readonly tournament: number;
  readonly steps: number;
  readonly mutations: number;
  /** Random search: number of architectures sampled. */
  readonly samples: number;
  /** Baselines: the single proxy they rank by. */
  readonly proxy: ProxyName;
  readonly limits: Limits;
  readonly seed: number;
  readonly runs: number;
  /** Minutes per run; the run stops cleanly between steps and reports its best so far. */
  readonly timeBudget?: number;
}

export const SEARCH_DEFAULTS: Omit<SearchOptions, 'limits'> = {
  algorithm: 'mfnas', ...MFNAS_DEFAULTS, samples: 400, proxy: 'intgrad_param', seed: 0, runs: 1,
};

export interface ArchSummary {
  index: number | null;
  arch: string;
  accuracy: number | null;
  params: number;
  flops: number;
  scores: Scores;
}

export interface RunResult {
  seed: number;
  best: ArchSummary;
  evaluated: number;
  seconds: number;
  proxySeconds: number;
  stoppedEarly: boolean;
}

export interface RunDetail {
  readonly result: RunResult;
  readonly steps: ReadonlyArray<StepRecord & { answerIndex: number | null; answerAccuracy: number | null }>;
  readonly scored: ReadonlyArray<ArchSummary & { generation: number }>;
}

export interface SearchResult {
  space: SpaceName;
  dataset: DatasetName;
  algorithm: Algorithm;
  runs: RunResult[];
  summary: { accuracyMean: number | null; accuracyStd: number | null; secondsMean: number };
}

function checkLimitsSatisfiable<A>(space: SpaceDefinition<A>, limits: Limits, dataset: DatasetName): void {
  if (limits.maxFlops === undefined && limits.maxParams === undefined) return;
  let minFlops = Infinity, minParams = Infinity;
  for (const a of space.enumerate()) {
    const spec = space.networkSpec(a, dataset);
    const f = countFlops(spec), p = countParams(spec);
    if ((limits.maxFlops === undefined || f <= limits.maxFlops) && (limits.maxParams === undefined || p <= limits.maxParams)) return;
    minFlops = Math.min(minFlops, f); minParams = Math.min(minParams, p);
  }
  throw new InputError(`no ${space.name} architecture satisfies the limits on ${dataset} ` +
    `(--max-flops ${limits.maxFlops ?? 'none'}, --max-params ${limits.maxParams ?? 'none'}); ` +
    `the smallest has ${minFlops.toFixed(2)} M FLOPs and ${minParams} parameters`);
}

export interface SearchRunHooks {
  onStep?(seed: number, record: StepRecord, answerAccuracy: number | null): void;
}

/** Runs the search `runs` times (seeds seed, seed+1, …). */
export async function runSearch(opts: {
  scorer: Scorer; benchmark: Benchmark | null; options: SearchOptions; hooks?: SearchRunHooks;
}): Promise<{ result: SearchResult; details: RunDetail[] }> {
  const { scorer, benchmark, options } = opts;
  const { space: spaceName, dataset } = scorer.ctx;
  const space: SpaceDefinition<unknown> = spaceByName(spaceName).withBenchmark(benchmark);
  const table = space.table(benchmark);
  // Without the TSS table a TSS cell has no index, hence no accuracy either.
  const indexOf = (a: unknown): number | null => (space.indexed ? space.indexOf(a) : null);
  const accuracyAt = (index: number | null): number | null => (table && index !== null ? table.testAccuracy(dataset, index) : null);
  checkLimitsSatisfiable(space, options.limits, dataset);

  const proxies: ProxyName[] = options.algorithm === 'mfnas' ? [...MFNAS_FIDELITIES] : [options.proxy];
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
    scoreMany: async (archs) => (await Promise.all(archs.map((a) => scorer.score(a, proxies)))).map((r) => r.scores),
  };
  const summarize = (c: Candidate<unknown>): ArchSummary => {
    const index = indexOf(c.arch);
    return { index, arch: c.key, accuracy: accuracyAt(index), ...cost(c.arch), scores: c.scores };
  };

  const details: RunDetail[] = [];
  for (let r = 0; r < options.runs; r++) {
    const seed = options.seed + r;
    const t0 = performance.now();
    const proxyBefore = scorer.proxySeconds;
    const budgetMs = options.timeBudget !== undefined ? options.timeBudget * 60_000 : Infinity;
    const steps: Array<StepRecord & { answerIndex: number | null; answerAccuracy: number | null }> = [];
    const hooks = {
      shouldStop: () => performance.now() - t0 > budgetMs,
      onStep: (rec: StepRecord) => {
        const index = indexOf(space.parse(rec.answer));
        const acc = accuracyAt(index);
        steps.push({ ...rec, answerIndex: index, answerAccuracy: acc });
        opts.hooks?.onStep?.(seed, rec, acc);
      },
    };
    let outcome: SearchOutcome<unknown>;
    if (options.algorithm === 'mfnas') {
      outcome = await runMfnas(problem, { population: options.population, tournament: options.tournament, steps: options.steps, mutations: options.mutations, seed }, hooks);
    } else if (options.algorithm === 'rea') {
      outcome = await runRea(problem, { population: options.population, tournament: options.tournament, steps: options.steps, proxy: options.proxy, seed }, hooks);
    } else {
      outcome = await runRandomSearch(problem, { samples: options.samples, proxy: options.proxy, seed }, hooks);
    }
    const result: RunResult = {
      seed, best: summarize(outcome.answer), evaluated: outcome.history.size,
      seconds: (performance.now() - t0) / 1000, proxySeconds: scorer.proxySeconds - proxyBefore,
      stoppedEarly: outcome.stoppedEarly,
    };
    const scored = [...outcome.history.values()].map((c) => ({ ...summarize(c), generation: c.generation }));
    details.push({ result, steps, scored });
  }
  const runs = details.map((d) => d.result);
  const accs = runs.map((r) => r.best.accuracy).filter((a): a is number => a !== null);
  const mean = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
  const std = mean !== null ? Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / accs.length) : null;
  return {
    result: {
      space: spaceName, dataset, algorithm: options.algorithm, runs,
      summary: { accuracyMean: mean, accuracyStd: std, secondsMean: runs.reduce((s, r) => s + r.seconds, 0) / runs.length },
    },
    details,
  };
}

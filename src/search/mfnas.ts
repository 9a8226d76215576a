/**
 * Multi-fidelity evolutionary search (MFNAS.md §4): tournament selection of two parents by the
 * combined rank of both intgrad fidelities, mutations + uniform crossover, ageing, and
 * truncation to the N best; the answer is the best-by-intgrad_param of the history's top 3.
 * `fidelities` replaces the two intgrad fidelities by any proxies or set proxies (the first
 * then chooses the answer among the top 3).
 */
import { InputError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { Candidate, SearchHooks, SearchOutcome, SearchProblem, StepRecord } from './problem.js';
import { MFNAS_FIDELITIES, type ScoreSpec } from '../proxies/registry.js';
import { combinedRanks, fidelityValues, topByRank } from './rank.js';

export interface MfnasParams {
  readonly population: number;
  readonly tournament: number;
  readonly steps: number;
  readonly mutations: number;
  readonly seed: number;
  /** What the rank combines, fidelity 1 first (default the paper's intgrad_param, intgrad_mean). */
  readonly fidelities?: readonly ScoreSpec[];
  /**
   * Multi-fidelity in cost: `problem.scoreMany` scores on a cheap proxy input and, when the
   * evolution ends, the `confirm` best of the history by that rank are scored again on the full
   * input (`problem.confirmMany`); the answer is chosen among those by the paper's rule.
   * Absent: the paper's search, every candidate on the full input.
   */
  readonly confirm?: number;
}

export const MFNAS_DEFAULTS: Omit<MfnasParams, 'seed' | 'fidelities' | 'confirm'> = { population: 100, tournament: 25, steps: 100, mutations: 4 };

/** Random feasible, distinct architectures (throws when the space cannot provide them). */
export async function initialPopulation<A>(problem: SearchProblem<A>, rng: Rng, size: number): Promise<Candidate<A>[]> {
  const space = problem.space;
  const chosen = new Map<string, A>();
  let attempts = 0;
  const maxAttempts = 200 * size + 10_000;
  while (chosen.size < size) {
    if (++attempts > maxAttempts) {
      throw new InputError(`could only find ${chosen.size} distinct architectures within the limits for a population of ${size}: ` +
        'relax --max-flops / --max-params or lower --population');
    }
    const a = space.sample(rng);
    const key = space.format(a);
    if (!chosen.has(key) && problem.feasible(a)) chosen.set(key, a);
  }
  const archs = [...chosen.values()];
  const scores = await problem.scoreMany(archs);
  return archs.map((arch, i) => ({ arch, key: space.format(arch), scores: scores[i], generation: 0 }));
}

/**
 * The answer: the 3 best of the history by combined rank, then the best of those by fidelity 1
 * alone (intgrad_param by default; a set proxy's value over the whole history).
 */
export function mfnasAnswer<A>(history: ReadonlyMap<string, Candidate<A>>, fidelities: readonly ScoreSpec[] = MFNAS_FIDELITIES): Candidate<A> {
  const all = [...history.values()];
  const sets = all.map((c) => c.scores);
  const ranks = combinedRanks(sets, fidelities);
  const first = fidelityValues(sets, fidelities[0]);
  const top = topByRank(ranks, 3);
  return all[top.reduce((best, i) => (first[i] > first[best] ? i : best))];
}

/** Remove the member with the oldest generation (first in population order); none if all equal. */
export function removeOldest<A>(population: Candidate<A>[]): Candidate<A> | null {
  if (population.length === 0) return null;
  const oldest = Math.min(...population.map((c) => c.generation));
  if (population.every((c) => c.generation === oldest)) return null;
  const i = population.findIndex((c) => c.generation === oldest);
  return population.splice(i, 1)[0];
}

export async function runMfnas<A>(problem: SearchProblem<A>, params: MfnasParams, hooks: SearchHooks = {}): Promise<SearchOutcome<A>> {
  const { population: N, tournament, steps, mutations, seed } = params;
  const fidelities = params.fidelities ?? MFNAS_FIDELITIES;
  if (fidelities.length === 0) throw new InputError('MFNAS needs at least one fidelity');
  const rank = (set: ReadonlyArray<Candidate<A>>) => combinedRanks(set.map((c) => c.scores), fidelities);
  const space = problem.space;
  const rng = new Rng(seed).derive('mfnas');
  const t0 = performance.now();
  const history = new Map<string, Candidate<A>>();
  const records: StepRecord[] = [];
  const record = (step: number) => {
    const bestScore = Math.max(...rank([...history.values()]));
    const r: StepRecord = { step, evaluated: history.size, answer: mfnasAnswer(history, fidelities).key, bestScore, seconds: (performance.now() - t0) / 1000 };
    records.push(r);
    // Declared below; record() is first called once it is filled.
    hooks.onStep?.(r, population);
  };

  const population = await initialPopulation(problem, rng, N);
  for (const c of population) history.set(c.key, c);
  record(0);

  let stoppedEarly = false;
  for (let step = 1; step <= steps; step++) {
    if (hooks.shouldStop?.()) { stoppedEarly = true; break; }
    let stalls = 0;
    while (population.length <= N) {
      const sample = rng.sampleIndices(population.length, Math.min(tournament, population.length)).map((i) => population[i]);
      const [p1, p2] = topByRank(rank(sample), 2).map((i) => sample[i]);
      const children: A[] = [];
      for (const parent of [p1, p2]) {
        if (!parent) continue;
        for (let m = 0; m < mutations; m++) children.push(space.mutate(parent.arch, rng));
      }
      if (p1 && p2) children.push(space.crossover(p1.arch, p2.arch, rng));
      const before = population.length;
      await addChildren(problem, children, step, population, history);
      // A population that cannot grow (tiny feasible set) must not loop forever.
      stalls = population.length === before ? stalls + 1 : 0;
      if (stalls > 1000) throw new InputError('the search cannot find new architectures within the limits: relax --max-flops / --max-params');
    }
    removeOldest(population);
    const ranks = rank(population);
    const keep = new Set(topByRank(ranks, N));
    const survivors = population.filter((_, i) => keep.has(i));
    population.length = 0;
    population.push(...survivors);
    record(step);
  }
  if (params.confirm === undefined) return { answer: mfnasAnswer(history, fidelities), history, steps: records, stoppedEarly };
  const confirmed = await confirmBest(problem, history, fidelities, params.confirm);
  return { answer: mfnasAnswer(confirmed, fidelities), history, steps: records, stoppedEarly, confirmed: [...confirmed.values()] };
}

/**
 * The `count` best of the history by the (cheap) combined rank, scored again on the full input:
 * candidates carrying their full-input scores, keyed as in the history.
 */
export async function confirmBest<A>(
  problem: SearchProblem<A>, history: ReadonlyMap<string, Candidate<A>>, fidelities: readonly ScoreSpec[], count: number,
): Promise<Map<string, Candidate<A>>> {
  if (!problem.confirmMany) throw new Error('a search confirming its best needs problem.confirmMany');
  if (!Number.isInteger(count) || count < 1) throw new InputError(`--confirm must be a positive integer, got ${count}`);
  const all = [...history.values()];
  const best = topByRank(combinedRanks(all.map((c) => c.scores), fidelities), count).map((i) => all[i]);
  const scores = await problem.confirmMany(best.map((c) => c.arch));
  return new Map(best.map((c, i) => [c.key, { ...c, scores: scores[i] }]));
}

/**
 * Stamp children with the step, reuse history scores, score the new ones concurrently, and add
 * those not already in the population. Infeasible children are dropped.
 */
export async function addChildren<A>(
  problem: SearchProblem<A>, children: readonly A[], step: number,
  population: Candidate<A>[], history: Map<string, Candidate<A>>,
): Promise<void> {
  const space = problem.space;
  const fresh: Array<{ arch: A; key: string }> = [];
  const seenFresh = new Set<string>();
  for (const arch of children) {
    const key = space.format(arch);
    if (!problem.feasible(arch)) continue;
    const known = history.get(key);
    if (known) { known.generation = step; continue; }
    if (!seenFresh.has(key)) { seenFresh.add(key); fresh.push({ arch, key }); }
  }
  const scores = await problem.scoreMany(fresh.map((f) => f.arch));
  fresh.forEach((f, i) => history.set(f.key, { arch: f.arch, key: f.key, scores: scores[i], generation: step }));
  const inPopulation = new Set(population.map((c) => c.key));
  for (const arch of children) {
    const key = space.format(arch);
    const c = history.get(key);
    if (!c || inPopulation.has(key)) continue;
    population.push(c);
    inPopulation.add(key);
  }
}

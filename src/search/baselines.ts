/**
 * Baselines on the same machinery: random search (best of K random architectures by one proxy)
 * and REA with a single proxy (regularised/ageing evolution, Real et al. AAAI 2019, as used
 * training-free by FreeREA, Cavagnero et al. 2023): tournament of n, the best as parent, one
 * mutation, the child replaces the oldest member.
 *
 * The proxy may be a set proxy (a preset or `ensemble(...)`): its value for a candidate is then
 * computed over the whole history so far, and recomputed whenever the history grows.
 */
import { scoreValues, type ScoreSpec } from '../proxies/registry.js';
import { Rng } from '../util/rng.js';
import type { Candidate, SearchHooks, SearchOutcome, SearchProblem, StepRecord } from './problem.js';
import { initialPopulation } from './mfnas.js';

/** A candidate's fitness (missing or NaN = −∞). */
type Fitness<A> = (c: Candidate<A>) => number;

/**
 * The fitness of every candidate: a per-network proxy's score, or a set proxy's value over
 * `history` (each call computes it afresh for the history as it is now).
 */
function fitnessOver<A>(proxy: ScoreSpec, history: ReadonlyMap<string, Candidate<A>>): Fitness<A> {
  if (typeof proxy === 'string') return (c) => { const v = c.scores[proxy]; return v === undefined || Number.isNaN(v) ? -Infinity : v; };
  const all = [...history.values()];
  const values = scoreValues(proxy, all.map((c) => c.scores));
  const byKey = new Map(all.map((c, i) => [c.key, Number.isNaN(values[i]) ? -Infinity : values[i]]));
  return (c) => byKey.get(c.key) ?? -Infinity;
}

function bestBy<A>(items: Iterable<Candidate<A>>, fitness: Fitness<A>): Candidate<A> {
  let best: Candidate<A> | null = null;
  for (const c of items) if (!best || fitness(c) > fitness(best)) best = c;
  if (!best) throw new Error('no candidates');
  return best;
}

function stepRecord<A>(step: number, history: ReadonlyMap<string, Candidate<A>>, proxy: ScoreSpec, t0: number): StepRecord {
  const fitness = fitnessOver(proxy, history);
  const best = bestBy(history.values(), fitness);
  const bestScore = typeof proxy === 'string' ? best.scores[proxy] ?? NaN : fitness(best);
  return { step, evaluated: history.size, answer: best.key, bestScore, seconds: (performance.now() - t0) / 1000 };
}

export async function runRandomSearch<A>(
  problem: SearchProblem<A>, params: { samples: number; proxy: ScoreSpec; seed: number; chunk?: number }, hooks: SearchHooks = {},
): Promise<SearchOutcome<A>> {
  const rng = new Rng(params.seed).derive('random');
  const t0 = performance.now();
  const history = new Map<string, Candidate<A>>();
  const steps: StepRecord[] = [];
  const chunk = params.chunk ?? 10;
  const all = await sampleDistinct(problem, rng, params.samples);
  let stoppedEarly = false;
  for (let i = 0, step = 0; i < all.length; i += chunk, step++) {
    if (hooks.shouldStop?.()) { stoppedEarly = true; break; }
    const part = all.slice(i, i + chunk);
    const scores = await problem.scoreMany(part);
    part.forEach((arch, j) => {
      const key = problem.space.format(arch);
      history.set(key, { arch, key, scores: scores[j], generation: step });
    });
    steps.push(stepRecord(step, history, params.proxy, t0));
    // Random search has no population: what it has sampled so far stands in for one.
    hooks.onStep?.(steps[steps.length - 1], [...history.values()]);
  }
  return { answer: bestBy(history.values(), fitnessOver(params.proxy, history)), history, steps, stoppedEarly };
}

async function sampleDistinct<A>(problem: SearchProblem<A>, rng: Rng, k: number): Promise<A[]> {
  const out = new Map<string, A>();
  let attempts = 0;
  while (out.size < k && attempts++ < 200 * k + 10_000) {
    const a = problem.space.sample(rng);
    const key = problem.space.format(a);
    if (!out.has(key) && problem.feasible(a)) out.set(key, a);
  }
  return [...out.values()];
}

export async function runRea<A>(
  problem: SearchProblem<A>,
  params: { population: number; tournament: number; steps: number; proxy: ScoreSpec; seed: number },
  hooks: SearchHooks = {},
): Promise<SearchOutcome<A>> {
  const rng = new Rng(params.seed).derive('rea');
  const t0 = performance.now();
  const history = new Map<string, Candidate<A>>();
  const steps: StepRecord[] = [];
  const population = await initialPopulation(problem, rng, params.population);
  for (const c of population) history.set(c.key, c);
  const record = (step: number) => {
    steps.push(stepRecord(step, history, params.proxy, t0));
    hooks.onStep?.(steps[steps.length - 1], population);
  };
  record(0);
  let stoppedEarly = false;
  for (let step = 1; step <= params.steps; step++) {
    if (hooks.shouldStop?.()) { stoppedEarly = true; break; }
    const sample = rng.sampleIndices(population.length, Math.min(params.tournament, population.length)).map((i) => population[i]);
    const parent = bestBy(sample, fitnessOver(params.proxy, history));
    let child: A | null = null;
    for (let tries = 0; tries < 100 && !child; tries++) {
      const c = problem.space.mutate(parent.arch, rng);
      if (problem.feasible(c)) child = c;
    }
    if (child) {
      const key = problem.space.format(child);
      let cand = history.get(key);
      if (cand) cand.generation = step;
      else {
        const [scores] = await problem.scoreMany([child]);
        cand = { arch: child, key, scores, generation: step };
        history.set(key, cand);
      }
      population.push({ ...cand });
      population.shift(); // ageing: the oldest leaves
    }
    record(step);
  }
  return { answer: bestBy(history.values(), fitnessOver(params.proxy, history)), history, steps, stoppedEarly };
}

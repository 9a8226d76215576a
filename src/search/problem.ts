/**
 * What a search algorithm sees: a search space, a feasibility test (FLOPs / parameter limits)
 * and a batch scorer. Algorithms never touch networks, data or the cache directly.
 */
import type { SearchSpace } from '../spaces/types.js';
import type { ProxyName } from '../proxies/registry.js';

export type Scores = Partial<Record<ProxyName, number>>;

export interface SearchProblem<A> {
  readonly space: SearchSpace<A>;
  /** Within the FLOPs / parameter limits. */
  feasible(arch: A): boolean;
  /** Scores with the proxies the algorithm asked for, concurrently where possible. */
  scoreMany(archs: readonly A[]): Promise<Scores[]>;
  /** The same proxies on the full proxy input, when `scoreMany` uses a cheaper one (MFNAS `confirm`). */
  confirmMany?(archs: readonly A[]): Promise<Scores[]>;
}

export interface Limits {
  /** Millions of FLOPs (NATS-Bench counting). */
  readonly maxFlops?: number;
  readonly maxParams?: number;
}

/** One architecture the search has scored. */
export interface Candidate<A> {
  readonly arch: A;
  readonly key: string;
  scores: Scores;
  /** Step at which it was last produced (0 = initial population). */
  generation: number;
}

/** Record of one step, for convergence plots and the history CSV. */
export interface StepRecord {
  readonly step: number;
  /** Distinct architectures scored so far. */
  readonly evaluated: number;
  /** The answer the search would give now (string form). */
  readonly answer: string;
  /** MFNAS: the best combined rank over the history; baselines: the best proxy score. */
  readonly bestScore: number;
  readonly seconds: number;
}

export interface SearchOutcome<A> {
  readonly answer: Candidate<A>;
  readonly history: ReadonlyMap<string, Candidate<A>>;
  readonly steps: readonly StepRecord[];
  /** True when the time budget ended the search early. */
  readonly stoppedEarly: boolean;
  /** MFNAS `confirm`: the candidates rescored on the full input, with those scores (the answer is one of them). */
  readonly confirmed?: ReadonlyArray<Candidate<A>>;
}

export interface SearchHooks {
  /**
   * Called after each step (and after initialisation, step 0), with the population the step
   * left (none for random search, which has no population).
   */
  onStep?(record: StepRecord, population?: ReadonlyArray<{ readonly scores: Scores }>): void;
  /** Stop before the next step when this returns true (time budget). */
  shouldStop?(): boolean;
}

/**
 * The scoring service used by `score`, `correlate` and the searches: architecture in, proxy
 * scores out, with
 *  - one evaluation per class of functionally identical cells (TSS cells are replaced by their
 *    class representative, so every member gets the very same score);
 *  - the persistent cache: cached proxies are not recomputed, and each new result is committed
 *    as soon as it arrives. Scores are known by proxy name and definition version (builtin and
 *    registered proxies alike), in the cache and in this process's memo, so a proxy whose
 *    version changed is computed afresh;
 *  - parallel evaluation through an `Evaluator` (in-process or a worker pool).
 */
import type { ScoreCache } from '../storage/scoreCache.js';
import { spaceByName, type SpaceDefinition } from '../spaces/index.js';
import { buildNetworkSpec } from '../spaces/network.js';
import { datasetKey } from '../datasets/registry.js';
import { contextKey, type ProxyContext } from './context.js';
import { evaluateProxies, type ProxyScores } from './scoreNetwork.js';
import { InputError } from '../util/errors.js';
import { activeBackend, engineKey } from '../engine/backend.js';
import { proxyInfo, type ProxyName } from './registry.js';

export interface Evaluation {
  readonly scores: ProxyScores;
  readonly seconds: number;
  /** `engineKey` of the engine that computed the scores. */
  readonly engine: string;
}

/** What an evaluation is submitted with, beyond the architecture. */
export interface EvaluationHint {
  /**
   * Evaluations submitted together with this one (itself included) and awaited together, as a
   * search step's fresh children are: a pool with more cores than that gives each its share.
   */
  readonly together: number;
}

/** Runs proxies on one architecture (given in canonical-representative string form). */
export interface Evaluator {
  evaluate(arch: string, proxies: readonly ProxyName[], hint?: EvaluationHint): Promise<Evaluation>;
  /** How many evaluations can usefully run at once. */
  readonly concurrency: number;
  /** Told the size of a job before it starts (a pool then splits its cores to fit). */
  plan?(jobs: number): void;
  /** `engineKey` of the engine every evaluation runs on (part of the score-cache key). */
  readonly engine: string;
  close(): Promise<void>;
}

/** Evaluates on the calling thread (the engine must be initialised). */
export class InProcessEvaluator implements Evaluator {
  readonly concurrency = 1;
  readonly engine: string;
  constructor(private readonly ctx: ProxyContext) {
    this.engine = engineKey(activeBackend());
  }
  async evaluate(arch: string, proxies: readonly ProxyName[]): Promise<Evaluation> {
    const t0 = performance.now();
    const spec = buildNetworkSpec(this.ctx.space, arch, this.ctx.dataset);
    const scores = evaluateProxies(spec, this.ctx.batches, proxies, { initSeed: this.ctx.settings.initSeed });
    return { scores, seconds: (performance.now() - t0) / 1000, engine: this.engine };
  }
  async close(): Promise<void> {}
}

export interface ScoredArchitecture {
  /** The architecture as asked for (normalised string form). */
  readonly arch: string;
  /** The class representative actually evaluated. */
  readonly evaluated: string;
  readonly canonical: string;
  readonly scores: ProxyScores;
  /** Seconds spent computing (0 when everything came from the cache). */
  readonly seconds: number;
  readonly cached: boolean;
}

export interface ScorerOptions {
  readonly cache?: ScoreCache | null;
  readonly onResult?: (r: ScoredArchitecture, done: number, total: number) => void;
}

export class Scorer {
  /** Distinct canonical classes evaluated (computed, not read from the cache) by this scorer. */
  evaluatedCount = 0;
  /** Seconds spent in proxy evaluation (sum over evaluations). */
  proxySeconds = 0;
  private readonly inflight = new Map<string, Promise<Evaluation>>();
  /**
   * Scores computed or read in this process (also without a cache), by canonical key, then by
   * `name@version`: a registered proxy replaced by a new version is not answered from here.
   */
  private readonly memo = new Map<string, Map<string, number>>();

  constructor(
    readonly ctx: ProxyContext,
    private readonly evaluator: Evaluator,
    private readonly options: ScorerOptions = {},
  ) {}

  /** The engine key scores are computed (and cached) under, e.g. `native:2:tfjs-4.22.0:onednn-2.6.3`. */
  get engine(): string {
    return this.evaluator.engine;
  }

  /**
   * Normalised arch string, class representative and canonical key of an architecture of the
   * context's space, given as its typed value or (parsed here, once) as its string form.
   */
  resolve<A>(arch: A | string): { arch: string; evaluated: string; canonical: string } {
    const space: SpaceDefinition<unknown> = spaceByName(this.ctx.space);
    let a: unknown = arch;
    if (typeof arch === 'string') a = space.parse(arch);
    else space.validate(arch);
    return { arch: space.format(a), evaluated: space.format(space.representative(a)), canonical: space.canonical(a) };
  }

  async score<A>(arch: A | string, proxies: readonly ProxyName[]): Promise<ScoredArchitecture> {
    return this.complete(this.lookup(arch, proxies), proxies);
  }

  /**
   * Scores a set awaited together (a search step's children): the evaluations it starts are
   * submitted with their count, so that a pool can give each one more threads when there are
   * fewer of them than cores. Results in input order; scores never depend on the split.
   */
  async scoreMany<A>(archs: readonly (A | string)[], proxies: readonly ProxyName[]): Promise<ScoredArchitecture[]> {
    const found = archs.map((a) => this.lookup(a, proxies));
    const fresh = new Set(found.filter((f) => f.missing.length > 0 && !this.inflight.has(f.flightKey)).map((f) => f.flightKey));
    const hint = { together: Math.max(1, fresh.size) };
    return Promise.all(found.map((f) => this.complete(f, proxies, hint)));
  }

  /** The cache (and this process's memo) for one architecture: what is known and what is missing. */
  private lookup<A>(arch: A | string, proxies: readonly ProxyName[]) {
    this.checkProxies(proxies);
    const r = this.resolve(arch);
    // A folder is keyed by its content fingerprint, so a changed folder never reuses old scores.
    const key = { space: this.ctx.space, dataset: datasetKey(this.ctx.dataset), canonical: r.canonical, input: contextKey(this.ctx), engine: this.evaluator.engine };
    // Name and version of each proxy as registered now: the cache and the memo answer only these.
    const versions = proxies.map((p) => ({ name: p, version: proxyInfo(p).version }));
    const cached: Record<string, number> = { ...(this.options.cache?.get(key, versions) ?? {}) };
    const memo = this.memo.get(r.canonical);
    for (const v of versions) {
      const value = memo?.get(`${v.name}@${v.version}`);
      if (value !== undefined) cached[v.name] = value;
    }
    const missing = proxies.filter((p) => !Object.hasOwn(cached, p));
    const flightKey = `${r.canonical}|${versions.filter((v) => missing.includes(v.name)).map((v) => `${v.name}@${v.version}`).join(',')}`;
    return { r, key, versions, cached, missing, flightKey };
  }

  /** Evaluates what `lookup` found missing (once per class in flight), caches it, returns the requested scores. */
  private async complete(
    { r, key, versions, cached, missing, flightKey }: ReturnType<Scorer['lookup']>, proxies: readonly ProxyName[], hint?: EvaluationHint,
  ): Promise<ScoredArchitecture> {
    if (missing.length === 0) {
      return { ...r, scores: pick(cached, proxies), seconds: 0, cached: true };
    }
    // Two requests for the same class at once share one evaluation.
    let pending = this.inflight.get(flightKey);
    const owner = !pending;
    if (!pending) {
      pending = this.evaluator.evaluate(r.evaluated, missing, hint);
      this.inflight.set(flightKey, pending);
    }
    try {
      const ev = await pending;
      if (owner) {
        if (ev.engine !== key.engine) {
          throw new Error(`internal: an evaluation ran on ${ev.engine}, the run's engine is ${key.engine}`);
        }
        this.evaluatedCount++;
        this.proxySeconds += ev.seconds;
        this.options.cache?.put(key, ev.scores as Record<string, number>, versions, ev.seconds);
        const memo = this.memo.get(r.canonical) ?? new Map<string, number>();
        for (const v of versions) if (Object.hasOwn(ev.scores, v.name)) memo.set(`${v.name}@${v.version}`, ev.scores[v.name]!);
        this.memo.set(r.canonical, memo);
      }
      return { ...r, scores: pick({ ...cached, ...ev.scores }, proxies), seconds: owner ? ev.seconds : 0, cached: false };
    } finally {
      if (owner) this.inflight.delete(flightKey);
    }
  }

  /** Refuses, before any work, proxies the run's batch settings cannot support. */
  checkProxies(proxies: readonly ProxyName[]): void {
    for (const p of proxies) {
      const need = proxyInfo(p).minBatches; // an unknown name is an InputError here
      if (this.ctx.settings.batches < need) {
        throw new InputError(`${p} needs at least ${need} proxy batches (it divides by the spread over batches), ` +
          `got --batches ${this.ctx.settings.batches}: use --batches ${need} or more, or leave ${p} out`);
      }
    }
  }

  /** Scores many architectures, keeping the evaluator busy; results in input order. */
  async scoreAll<A>(archs: readonly (A | string)[], proxies: readonly ProxyName[]): Promise<ScoredArchitecture[]> {
    this.evaluator.plan?.(archs.length);
    const out = new Array<ScoredArchitecture>(archs.length);
    let next = 0, done = 0;
    const worker = async () => {
      while (next < archs.length) {
        const i = next++;
        out[i] = await this.score(archs[i], proxies);
        done++;
        this.options.onResult?.(out[i], done, archs.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.evaluator.concurrency, archs.length)) }, worker));
    return out;
  }
}

function pick(scores: Record<string, number>, proxies: readonly ProxyName[]): ProxyScores {
  const out: ProxyScores = {};
  for (const p of proxies) out[p] = scores[p];
  return out;
}

/**
 * Proxy evaluation on a worker pool: different architectures run in parallel, one per worker,
 * each worker's native kernels using `threads` OpenMP threads.
 *
 * How the cores are split (workers × threads) depends on the job: many architectures keep one
 * single-threaded worker per core busy, which is the fastest; a few, or a few uneven ones (one
 * all-convolution cell can take as long as five light ones), leave workers idle and pay for
 * starting them, so they run on fewer workers with more threads each. The split never changes a
 * result: the native kernels give the same bits at any thread count (addon/README.md), and each
 * architecture is evaluated by one worker alone.
 */
import os from 'node:os';
import { WorkerPool } from '../util/workerPool.js';
import { engineKey, resolveBackend, type ActiveBackend } from '../engine/backend.js';
import type { Batch } from '../datasets/batches.js';
import type { ProxyContext } from './context.js';
import type { ProxyName } from './registry.js';
import type { Evaluation, EvaluationHint, Evaluator } from './scorer.js';
import type { ProxyTask } from './poolThread.js';

// Under vitest/tsx this module is TypeScript and so is its worker; compiled, both are .js.
const WORKER_SCRIPT = new URL(import.meta.url.endsWith('.ts') ? './poolThread.ts' : './poolThread.js', import.meta.url);

/** One worker per core: the default size of a pool and of a queue worker's concurrency. */
export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** What each worker receives: the run's proxy context and the one engine all workers use. */
export interface ProxyWorkerData extends ProxyContext {
  readonly backend: ActiveBackend;
  /** Native kernel threads until a task says otherwise. */
  readonly threads: number;
}

/** Workers × native threads per worker. */
export interface PoolPlan {
  readonly workers: number;
  readonly threads: number;
}

/**
 * Architectures per worker below which another worker does not pay for itself: its start-up
 * (~1 s) and the idle tail of an uneven split cost more than the parallelism gains over running
 * the same jobs on fewer workers with more threads each (measured on 2 cores: 6 TSS cells take
 * 8.2 s on 2 workers × 1 thread, 5.0 s on 1 × 2; 40 cells are fastest on 2 × 1).
 */
export const JOBS_PER_WORKER = 4;

/**
 * The split of `cores` for `jobs` architectures: ⌊jobs / JOBS_PER_WORKER⌋ workers (1 to cores),
 * the cores shared out as threads. Without native kernels (plain wasm is single-threaded) one
 * worker per job, up to one per core. Depends on the counts only, never on timing.
 */
export function planPool(jobs: number, cores: number, nativeThreads: boolean): PoolPlan {
  const c = Math.max(1, Math.floor(cores));
  const j = Math.max(1, Math.floor(jobs));
  if (!nativeThreads) return { workers: Math.min(c, j), threads: 1 };
  const workers = Math.min(c, Math.max(1, Math.floor(j / JOBS_PER_WORKER)));
  return { workers, threads: Math.max(1, Math.floor(c / workers)) };
}

/**
 * Threads for each of `together` tasks submitted as a group to a pool split as `plan`: the
 * plan's threads, or the cores shared among the group when it is smaller than the pool.
 */
export function groupThreads(plan: PoolPlan, cores: number, together: number): number {
  const running = Math.max(1, Math.min(Math.floor(together), plan.workers));
  return Math.max(plan.threads, Math.floor(cores / running));
}

/** `MFNAS_THREADS` when set to a positive integer, else null. */
export function envThreads(): number | null {
  const env = Number(process.env.MFNAS_THREADS);
  return Number.isInteger(env) && env > 0 ? env : null;
}

/**
 * The batches on shared memory: every worker reads the same bytes instead of receiving its own
 * structured-clone copy (SharedArrayBuffers cross to workers by reference).
 */
function sharedBatches(batches: readonly Batch[]): Batch[] {
  const share = <T extends Float32Array | Int32Array>(a: T): T => {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const copy = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
    copy.set(a as never);
    return copy;
  };
  return batches.map((b) => ({ ...b, x: share(b.x), labels: share(b.labels), indices: share(b.indices) }));
}

export interface PoolEvaluatorOptions {
  /** Fixed number of workers; absent: chosen by `plan` (or one per core at the first evaluation). */
  readonly workers?: number;
  /** Native threads per worker (default MFNAS_THREADS, else the cores shared out). */
  readonly threads?: number;
  /** Cores to use (default os.availableParallelism()). */
  readonly cores?: number;
}

export class PoolEvaluator implements Evaluator {
  private current: PoolPlan | null;

  private constructor(
    private readonly pool: WorkerPool<ProxyTask, Evaluation>,
    readonly engine: string,
    private readonly cores: number,
    private readonly native: boolean,
    fixed: PoolPlan | null,
    private readonly pinnedThreads: boolean,
  ) {
    this.current = fixed;
  }

  /** Workers in use (before a plan: one per core, as the first evaluation would choose). */
  get concurrency(): number {
    return (this.current ?? this.defaultPlan()).workers;
  }

  /** The split in use, or null until `plan` or the first evaluation fixes it. */
  get split(): PoolPlan | null {
    return this.current;
  }

  /** `opts` as a number: that many workers (fixed). */
  static async start(ctx: ProxyContext, options: PoolEvaluatorOptions | number = {}): Promise<PoolEvaluator> {
    const opts: PoolEvaluatorOptions = typeof options === 'number' ? { workers: options } : options;
    const backend = await resolveBackend();
    const native = backend === 'native';
    const cores = Math.max(1, Math.floor(opts.cores ?? os.availableParallelism()));
    const threadsFor = (workers: number) => opts.threads ?? envThreads() ?? Math.max(1, Math.floor(cores / workers));
    const fixed = opts.workers !== undefined ? { workers: Math.max(1, Math.floor(opts.workers)), threads: 1 } : null;
    const plan = fixed && { ...fixed, threads: native ? threadsFor(fixed.workers) : 1 };
    const data: ProxyWorkerData = {
      space: ctx.space, dataset: ctx.dataset, settings: ctx.settings, batches: sharedBatches(ctx.batches),
      dataFingerprint: ctx.dataFingerprint, backend, threads: plan?.threads ?? (native ? threadsFor(1) : 1),
    };
    const pool = new WorkerPool<ProxyTask, Evaluation>({ script: WORKER_SCRIPT, size: plan?.workers ?? cores, workerData: data });
    // Every plan uses at least one worker: start it now, so that its start-up overlaps the
    // caller's (a fixed pool starts all of them).
    pool.warm(plan?.workers ?? 1);
    return new PoolEvaluator(pool, engineKey(backend), cores, native, plan, opts.threads !== undefined || envThreads() !== null);
  }

  /**
   * Chooses workers × threads for a job of `jobs` architectures (see planPool). Only the first
   * call before any evaluation decides; a fixed pool ignores it.
   */
  plan(jobs: number): void {
    if (this.current) return;
    this.fix(planPool(jobs, this.cores, this.native));
  }

  evaluate(arch: string, proxies: readonly ProxyName[], hint?: EvaluationHint): Promise<Evaluation> {
    if (!this.current) this.fix(this.defaultPlan());
    return this.pool.run({ arch, proxies, threads: this.threadsFor(hint) });
  }

  /**
   * Threads for one task: the plan's, or — when it comes in a group smaller than the pool (a
   * search step's one or two fresh children on a pool of one worker per core) — the group's
   * share of the cores, so that cores the group leaves idle work on it. Decided from counts
   * only, never timing; kernels give the same bits at any thread count. MFNAS_THREADS or a
   * fixed `threads` pins the count.
   */
  private threadsFor(hint: EvaluationHint | undefined): number {
    const plan = this.current!;
    if (!hint || !this.native || this.pinnedThreads) return plan.threads;
    return groupThreads(plan, this.cores, hint.together);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private defaultPlan(): PoolPlan {
    const threads = envThreads();
    return threads && this.native ? { workers: Math.max(1, Math.floor(this.cores / threads)), threads } : { workers: this.cores, threads: 1 };
  }

  private fix(plan: PoolPlan): void {
    const threads = this.native ? (envThreads() ?? plan.threads) : 1;
    this.current = { workers: plan.workers, threads };
    this.pool.resize(plan.workers);
  }
}

/** Proxy evaluation on a worker pool: different architectures run in parallel, one per worker. */
import { WorkerPool } from '../util/workerPool.js';
import { engineKey, resolveBackend, type ActiveBackend } from '../engine/backend.js';
import type { ProxyContext } from './context.js';
import type { ProxyName } from './registry.js';
import type { Evaluation, Evaluator } from './scorer.js';
import type { ProxyTask } from './worker.js';

// Under vitest/tsx this module is TypeScript and so is its worker; compiled, both are .js.
const WORKER_SCRIPT = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

/** What each worker receives: the run's proxy context and the one engine all workers use. */
export interface ProxyWorkerData extends ProxyContext {
  readonly backend: ActiveBackend;
}

export class PoolEvaluator implements Evaluator {
  private constructor(private readonly pool: WorkerPool<ProxyTask, Evaluation>, readonly engine: string) {}

  get concurrency(): number {
    return this.pool.size;
  }

  static async start(ctx: ProxyContext, workers: number): Promise<PoolEvaluator> {
    const backend = await resolveBackend();
    // Only plain data crosses to the workers (the batches are copied once per worker).
    const data: ProxyWorkerData = {
      space: ctx.space, dataset: ctx.dataset, settings: ctx.settings, batches: ctx.batches,
      dataFingerprint: ctx.dataFingerprint, backend,
    };
    const pool = new WorkerPool<ProxyTask, Evaluation>({ script: WORKER_SCRIPT, size: workers, workerData: data });
    return new PoolEvaluator(pool, engineKey(backend));
  }

  evaluate(arch: string, proxies: readonly ProxyName[]): Promise<Evaluation> {
    return this.pool.run({ arch, proxies });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Choosing where proxy evaluations run: on the calling thread, or on a pool of worker threads
 * (one TensorFlow.js instance each) that evaluate different architectures in parallel, split
 * into workers × native threads by the size of the job (./poolEvaluator.ts, planPool); or, given
 * a queue URL, on `mfnas worker`s anywhere (src/queue).
 */
import os from 'node:os';
import { initEngine, resolveBackend } from '../engine/backend.js';
import { loadNativeKernels } from '../engine/native/binding.js';
import type { ProxyContext } from './context.js';
import { InProcessEvaluator, type Evaluator } from './scorer.js';
import { envThreads, planPool, PoolEvaluator } from './poolEvaluator.js';

export { planPool, JOBS_PER_WORKER, type PoolPlan } from './poolEvaluator.js';

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export async function createEvaluator(ctx: ProxyContext, opts: { workers?: number; queue?: string; jobs?: number } = {}): Promise<Evaluator> {
  if (opts.queue) {
    // Loaded only when asked for, so runs without a queue never load BullMQ.
    const { QueueEvaluator } = await import('../queue/evaluator.js');
    return QueueEvaluator.start(ctx, opts.queue);
  }
  const cores = defaultWorkers();
  // A job known to be small enough for one worker (planPool) runs on this thread instead: the
  // same evaluations with the same threads, without a worker's start-up (a second copy of
  // tfjs and the engine, ~0.5 s of a 6-cell job's ~5 s).
  const oneWorker = opts.workers === undefined && opts.jobs !== undefined &&
    planPool(opts.jobs, cores, (await resolveBackend()) === 'native').workers === 1;
  if ((opts.workers ?? cores) <= 1 || oneWorker) {
    // One evaluation at a time on this thread: give its kernels every core.
    const info = await initEngine();
    if (info.backend === 'native') loadNativeKernels()?.setThreads(envThreads() ?? cores);
    return new InProcessEvaluator(ctx);
  }
  // No --workers: the pool picks workers × threads from the job (Evaluator.plan) or, when not
  // told, one single-threaded worker per core.
  return PoolEvaluator.start(ctx, { workers: opts.workers, cores });
}

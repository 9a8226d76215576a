/**
 * Choosing where proxy evaluations run: on the calling thread, or on a pool of worker threads
 * (one TensorFlow.js instance each) that evaluate different architectures in parallel, split
 * into workers × native threads by the size of the job (./poolEvaluator.ts, planPool); or, given
 * a queue URL, on `mfnas worker`s anywhere (src/queue).
 */
import os from 'node:os';
import { initEngine } from '../engine/backend.js';
import { loadNativeKernels } from '../engine/native/binding.js';
import type { ProxyContext } from './context.js';
import { InProcessEvaluator, type Evaluator } from './scorer.js';
import { envThreads, PoolEvaluator } from './poolEvaluator.js';

export { planPool, JOBS_PER_WORKER, type PoolPlan } from './poolEvaluator.js';

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export async function createEvaluator(ctx: ProxyContext, opts: { workers?: number; queue?: string } = {}): Promise<Evaluator> {
  if (opts.queue) {
    // Loaded only when asked for, so runs without a queue never load BullMQ.
    const { QueueEvaluator } = await import('../queue/evaluator.js');
    return QueueEvaluator.start(ctx, opts.queue);
  }
  const cores = defaultWorkers();
  if ((opts.workers ?? cores) <= 1) {
    // One evaluation at a time on this thread: give its kernels every core.
    const info = await initEngine();
    if (info.backend === 'native') loadNativeKernels()?.setThreads(envThreads() ?? cores);
    return new InProcessEvaluator(ctx);
  }
  // No --workers: the pool picks workers × threads from the job (Evaluator.plan) or, when not
  // told, one single-threaded worker per core.
  return PoolEvaluator.start(ctx, { workers: opts.workers, cores });
}

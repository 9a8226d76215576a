/**
 * Choosing where proxy evaluations run: on the calling thread, or on a pool of worker threads
 * (one TensorFlow.js instance each; default one per core) that evaluate different
 * architectures in parallel.
 */
import os from 'node:os';
import { initEngine } from '../engine/backend.js';
import type { ProxyContext } from './context.js';
import { InProcessEvaluator, type Evaluator } from './scorer.js';
import { PoolEvaluator } from './poolEvaluator.js';

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export async function createEvaluator(ctx: ProxyContext, opts: { workers?: number } = {}): Promise<Evaluator> {
  const workers = opts.workers ?? defaultWorkers();
  if (workers <= 1) {
    await initEngine();
    return new InProcessEvaluator(ctx);
  }
  return PoolEvaluator.start(ctx, workers);
}

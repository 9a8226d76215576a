/**
 * Worker-thread entry for proxy evaluation: its own TensorFlow.js instance, the run's proxy
 * context (batches, seeds) from workerData, one architecture per task. The engine starts as soon
 * as the worker does (a warm pool has it ready before the first task arrives).
 */
import { workerData } from 'node:worker_threads';
import { initEngine } from '../engine/backend.js';
import { loadNativeKernels } from '../engine/addon/binding.js';
import { serveWorker } from '../util/workerPool.js';
import type { ProxyWorkerData } from './poolEvaluator.js';
import type { ProxyName } from './registry.js';
import { InProcessEvaluator, type Evaluation } from './scorer.js';

export interface ProxyTask {
  readonly arch: string;
  /**
   * Builtin proxies only: this thread never ran the script that registered a user's proxy, so it
   * does not know one (an unknown name is refused); the caller computes those (src/scoring/chooseEvaluator.ts).
   */
  readonly proxies: readonly ProxyName[];
  /** Native kernel threads for this task (the pool's split); results do not depend on it. */
  readonly threads?: number;
}

const ctx = workerData as ProxyWorkerData;
const ready = initEngine({ backend: ctx.backend, threads: ctx.threads }).then(() => new InProcessEvaluator(ctx));

serveWorker<ProxyTask, Evaluation>(async (task) => {
  const evaluator = await ready;
  if (task.threads && ctx.backend === 'native') loadNativeKernels()?.setThreads(task.threads);
  return evaluator.evaluate(task.arch, task.proxies);
});

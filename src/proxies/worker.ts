/**
 * Worker-thread entry for proxy evaluation: its own TensorFlow.js instance, the run's proxy
 * context (batches, seeds) from workerData, one architecture per task.
 */
import { workerData } from 'node:worker_threads';
import { initEngine } from '../engine/backend.js';
import { serveWorker } from '../util/workerPool.js';
import type { ProxyWorkerData } from './poolEvaluator.js';
import type { ProxyName } from './registry.js';
import { InProcessEvaluator, type Evaluation } from './scorer.js';

export interface ProxyTask {
  readonly arch: string;
  readonly proxies: readonly ProxyName[];
}

const ctx = workerData as ProxyWorkerData;
const ready = initEngine({ backend: ctx.backend }).then(() => new InProcessEvaluator(ctx));

serveWorker<ProxyTask, Evaluation>(async (task) => (await ready).evaluate(task.arch, task.proxies));

/**
 * Choosing where proxy evaluations run: on the calling thread, or on a pool of worker threads
 * (one TensorFlow.js instance each) that evaluate different architectures in parallel, split
 * into workers × native threads by the size of the job (src/proxies/poolEvaluator.ts, planPool); or, given
 * a queue URL, on `mfnas worker`s anywhere (src/queue).
 *
 * Proxies a script registered (`registerProxy`) exist only in the process that ran the script:
 * worker threads and queue workers start from mfnas's own modules and know the builtins alone.
 * So the pool and the queue get the builtins, and the registered proxies of each network are
 * computed on the calling thread (`CallingThreadForRegistered`). The other design — a
 * registration naming a module every worker imports — would spread them over the cores too, but
 * asks every user proxy to live in an importable module with no side effects, and a queue worker
 * would run code sent by whoever submits jobs; computing them here is always correct and costs
 * a second gradient pass only for a registered proxy that reads one, and its share of the cores
 * (it runs while the pool works).
 */
import { activeBackend, engineKey, initEngine, resolveBackend } from '../engine/backend.js';
import { loadNativeKernels } from '../engine/addon/binding.js';
import { isBuiltinSpace } from '../spaces/index.js';
import { InputError, quoteInput } from '../util/errors.js';
import type { ProxyContext } from '../proxies/context.js';
import { isBuiltinProxy, type ProxyName } from '../proxies/registry.js';
import { InProcessEvaluator, type Evaluation, type EvaluationHint, type Evaluator } from '../proxies/scorer.js';
import { defaultWorkers, envThreads, planPool, PoolEvaluator } from '../proxies/poolEvaluator.js';

export async function createEvaluator(ctx: ProxyContext, opts: { workers?: number; queue?: string; jobs?: number } = {}): Promise<Evaluator> {
  // A space a script registered exists only in this thread (as its proxies do): its networks
  // cannot be built by a worker thread or a queue worker, so they are all evaluated here.
  const registeredSpace = !isBuiltinSpace(ctx.space);
  if (registeredSpace && opts.queue) {
    throw new InputError(`the space ${quoteInput(ctx.space)} was registered by this script, and queue workers know only mfnas's own spaces: score it without --queue`);
  }
  if (opts.queue) {
    // Loaded only when asked for, so runs without a queue never load BullMQ.
    const { QueueEvaluator } = await import('../queue/queueEvaluator.js');
    return new CallingThreadForRegistered(ctx, await QueueEvaluator.start(ctx, opts.queue));
  }
  const cores = defaultWorkers();
  // A job known to be small enough for one worker (planPool) runs on this thread instead: the
  // same evaluations with the same threads, without a worker's start-up (a second copy of
  // tfjs and the engine, ~0.5 s of a 6-cell job's ~5 s).
  const oneWorker = opts.workers === undefined && opts.jobs !== undefined &&
    planPool(opts.jobs, cores, (await resolveBackend()) === 'native').workers === 1;
  if ((opts.workers ?? cores) <= 1 || oneWorker || registeredSpace) {
    // One evaluation at a time on this thread: give its kernels every core.
    const info = await initEngine();
    if (info.backend === 'native') loadNativeKernels()?.setThreads(envThreads() ?? cores);
    return new InProcessEvaluator(ctx);
  }
  // No --workers: the pool picks workers × threads from the job (Evaluator.plan) or, when not
  // told, one single-threaded worker per core.
  return new CallingThreadForRegistered(ctx, await PoolEvaluator.start(ctx, { workers: opts.workers, cores }));
}

/**
 * Sends the builtin proxies of each evaluation to `builtins` (a worker pool or the queue, which
 * know no others) and computes the registered ones on the calling thread, while the builtins'
 * evaluation is under way; one evaluation's scores merged, in registry order. Scores do not
 * depend on where they were computed: the calling thread runs the same engine (checked: its
 * `engineKey` must equal the pool's), the same context and the same seeded initialisation.
 */
export class CallingThreadForRegistered implements Evaluator {
  private local: InProcessEvaluator | null = null;

  constructor(private readonly ctx: ProxyContext, private readonly builtins: Evaluator) {}

  get concurrency(): number {
    return this.builtins.concurrency;
  }

  get engine(): string {
    return this.builtins.engine;
  }

  plan(jobs: number): void {
    this.builtins.plan?.(jobs);
  }

  /** The wrapped evaluator's own counters, if it keeps any (the queue's job statistics, which scan reports). */
  get stats(): unknown {
    return (this.builtins as { stats?: unknown }).stats;
  }

  async evaluate(arch: string, proxies: readonly ProxyName[], hint?: EvaluationHint): Promise<Evaluation> {
    const shared = proxies.filter(isBuiltinProxy);
    const registered = proxies.filter((p) => !isBuiltinProxy(p));
    if (registered.length === 0) return this.builtins.evaluate(arch, proxies, hint);
    // Started first, so that the pool works while this thread computes the registered proxies.
    const pending = shared.length > 0 ? this.builtins.evaluate(arch, shared, hint) : null;
    try {
      const here = await (await this.callingThread()).evaluate(arch, registered);
      const there = pending ? await pending : null;
      // Builtins come first in the registry, so this is registry order, as evaluateProxies gives.
      return { scores: { ...there?.scores, ...here.scores }, seconds: (there?.seconds ?? 0) + here.seconds, engine: this.engine };
    } catch (e) {
      pending?.catch(() => undefined); // reported once, by the first failure
      throw e;
    }
  }

  close(): Promise<void> {
    return this.builtins.close();
  }

  /** The calling thread's evaluator, its engine started on first use (the pool's backend). */
  private async callingThread(): Promise<InProcessEvaluator> {
    if (this.local) return this.local;
    await initEngine({ backend: await resolveBackend() });
    const engine = engineKey(activeBackend());
    if (engine !== this.engine) {
      throw new Error(`internal: registered proxies would run on ${engine} on this thread, the run's engine is ${this.engine}`);
    }
    return (this.local = new InProcessEvaluator(this.ctx));
  }
}

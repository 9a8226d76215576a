/**
 * An `Evaluator` that sends each evaluation to the BullMQ queue and waits for a worker's result
 * (`mfnas worker`, on any machine). The `Scorer` above it is unchanged: it dedups classes,
 * consults the cache and stores each result as soon as `evaluate` resolves, so results land in
 * the submitter's cache as they arrive.
 *
 * Nothing lost, nothing counted twice:
 *  - each pending job is settled once (the first of the completion event and the periodic check
 *    wins; later news of the same job is ignored and counted in `duplicateResults`);
 *  - results arrive by QueueEvents, and every `pollMs` the pending jobs are also read back, so a
 *    result whose event was missed (Redis restarted, connection lost) is still found;
 *  - a pending job that has vanished (a Redis restarted without persistence lost it) is queued
 *    again under the same id;
 *  - a job already finished when submitted (an earlier run's, or a killed submitter's) gives its
 *    result at once; one that had failed is retried.
 *
 * The run's engine is the submitter's (`MFNAS_ENGINE` chooses it as for a local run): it is in
 * the job, a worker on another engine refuses the job, and a result from another engine or other
 * data is refused here too. Adopting the workers' engine instead would leave the cache key
 * unknown until the first result and let a run mix engines; refusing keeps every cached score
 * the one a local run on this engine computes.
 */
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { engineKey, resolveBackend } from '../engine/backend.js';
import { builtinName, datasetKey, isFolderDataset } from '../datasets/registry.js';
import type { ProxyContext } from '../proxies/context.js';
import type { ProxyName } from '../proxies/registry.js';
import type { Evaluation, Evaluator } from '../proxies/scorer.js';
import type { ProxyScores } from '../proxies/scoreNetwork.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition } from '../spaces/types.js';
import { DataError, MfnasError } from '../util/errors.js';
import { checkReachable, ConnectionWatch, describeError, openRedis, parseQueueUrl, redact, type QueueConnection } from './connection.js';
import {
  decodeResult, jobId, jobKey, jobProxies, JOB_SCHEMA, QUEUE_NAME, REFUSED,
  type JobDataset, type ScoreJobData, type ScoreJobResult,
} from './jobs.js';

/** A job that failed on every attempt (the worker's error is in the message). */
export class QueueJobError extends MfnasError {
  constructor(message: string) {
    super(message);
    this.name = 'QueueJobError';
  }
}

const WEEK_SECONDS = 7 * 24 * 3600;

/** Retries with exponential backoff (2, 4 s); finished jobs are kept a week for reruns. */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: WEEK_SECONDS },
  removeOnFail: { age: WEEK_SECONDS },
};

export interface QueueEvaluatorOptions {
  /** Jobs in flight at once (default 256): enough to keep many workers busy. */
  readonly window?: number;
  /** How often pending jobs are read back from Redis (default 2000 ms). */
  readonly pollMs?: number;
  /** Where notices go (default stderr, `mfnas: queue: …`). */
  readonly log?: (line: string) => void;
}

/** What the queue did for one session. */
export interface QueueStats {
  /** The queue, password redacted. */
  readonly queue: string;
  /** Jobs added by this process (duplicates of existing jobs included: BullMQ ignores those). */
  submitted: number;
  /** Pending jobs found missing in Redis and queued again. */
  resubmitted: number;
  /** Failed jobs of an earlier run retried when asked again. */
  retried: number;
  /** Results accepted (each pending job settles once). */
  accepted: number;
  /** The most results accepted for one key (1 when nothing was counted twice). */
  maxAcceptedPerKey: number;
  /** News of jobs already settled (a second event, a poll after the event), ignored. */
  duplicateResults: number;
  /** Results per worker machine: `host (cpu)` → count. */
  workers: Record<string, number>;
}

interface Pending {
  readonly id: string;
  readonly data: ScoreJobData;
  readonly promise: Promise<Evaluation>;
  resolve(e: Evaluation): void;
  reject(e: Error): void;
  /** The job is in Redis (its add resolved), so the periodic check may read it. */
  submitted: boolean;
}

function jobDataset(ctx: ProxyContext): JobDataset {
  const d = ctx.dataset;
  if (isFolderDataset(d)) return { kind: 'folder', dir: d.dir, imageSize: d.imageSize, skipBad: d.skipped > 0, fingerprint: d.fingerprint };
  return { kind: 'builtin', name: builtinName(d)! };
}

export class QueueEvaluator implements Evaluator {
  readonly concurrency: number;
  readonly stats: QueueStats;
  private readonly pending = new Map<string, Pending>();
  private readonly acceptedPerKey = new Map<string, number>();
  private readonly space: SpaceDefinition<unknown>;
  private readonly dataset: JobDataset;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;

  private constructor(
    private readonly ctx: ProxyContext,
    readonly engine: string,
    private readonly conn: QueueConnection,
    private readonly clients: readonly Redis[],
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly log: (line: string) => void,
    options: QueueEvaluatorOptions,
  ) {
    this.concurrency = options.window ?? 256;
    this.stats = { queue: conn.redacted, submitted: 0, resubmitted: 0, retried: 0, accepted: 0, maxAcceptedPerKey: 0, duplicateResults: 0, workers: {} };
    this.space = spaceByName(ctx.space);
    this.dataset = jobDataset(ctx);
    events.on('completed', ({ jobId: id, returnvalue }) => {
      const p = this.pending.get(id);
      if (p) this.accept(p, returnvalue as unknown as ScoreJobResult);
    });
    events.on('failed', ({ jobId: id, failedReason }) => {
      const p = this.pending.get(id);
      if (p) this.failed(p, failedReason);
    });
    this.timer = setInterval(() => void this.poll(), options.pollMs ?? 2000);
    this.timer.unref();
  }

  /** Connects to the queue at `url` (checked before anything is queued) for the run of `ctx`. */
  static async start(ctx: ProxyContext, url: string, options: QueueEvaluatorOptions = {}): Promise<QueueEvaluator> {
    const conn = parseQueueUrl(url);
    const log = options.log ?? ((line: string) => process.stderr.write(`mfnas: ${line}\n`));
    const engine = engineKey(await resolveBackend());
    const main = openRedis(conn, 'mfnas-submit');
    const blocking = openRedis(conn, 'mfnas-submit-events');
    const watch = new ConnectionWatch(conn, log, 'queue');
    try {
      await checkReachable(main, conn);
      watch.watch(main);
      blocking.on('error', () => undefined); // reported through `main`
      const queue = new Queue(QUEUE_NAME, { connection: main });
      const events = new QueueEvents(QUEUE_NAME, { connection: blocking });
      queue.on('error', () => undefined); // the connection's own errors are reported by `watch`
      events.on('error', () => undefined);
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      const evaluator = new QueueEvaluator(ctx, engine, conn, [main, blocking], queue, events, log, options);
      const workers = await queue.getWorkersCount().catch(() => null);
      if (workers === 0) log(`queue: no worker is connected to ${conn.redacted} yet; jobs wait until one starts (mfnas worker --queue URL)`);
      return evaluator;
    } catch (e) {
      main.disconnect();
      blocking.disconnect();
      if (e instanceof MfnasError) throw e;
      throw new DataError(`cannot use the queue at ${conn.redacted} (${describeError(e, conn)}): see docs/distributed.md`);
    }
  }

  evaluate(arch: string, proxies: readonly ProxyName[]): Promise<Evaluation> {
    if (this.closed) return Promise.reject(new Error('internal: the queue evaluator is closed'));
    const base = {
      space: this.ctx.space, dataset: this.dataset, datasetKey: datasetKey(this.ctx.dataset),
      settings: this.ctx.settings, dataFingerprint: this.ctx.dataFingerprint, engine: this.engine,
      arch, canonical: this.space.canonical(this.space.parse(arch)),
      proxies: jobProxies(proxies),
    };
    const key = jobKey(base);
    const id = jobId(key);
    const existing = this.pending.get(id);
    if (existing) return existing.promise;
    let resolve!: (e: Evaluation) => void, reject!: (e: Error) => void;
    const promise = new Promise<Evaluation>((res, rej) => { resolve = res; reject = rej; });
    const p: Pending = { id, data: { schema: JOB_SCHEMA, key, ...base }, promise, resolve, reject, submitted: false };
    this.pending.set(id, p);
    void this.submit(p);
    return promise;
  }

  /** Jobs still waiting for a result. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private async submit(p: Pending): Promise<void> {
    try {
      await this.queue.add('score', p.data, { ...JOB_OPTIONS, jobId: p.id });
      this.stats.submitted++;
      p.submitted = true;
      // An existing job keeps its state (BullMQ ignores the duplicate add): a finished one answers now.
      const job = await Job.fromId<ScoreJobData, ScoreJobResult>(this.queue, p.id);
      if (!this.pending.has(p.id) || !job?.finishedOn) return;
      if (job.failedReason && job.returnvalue == null) {
        // An earlier run's failure: that run reported it; this run tries again.
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        this.stats.retried++;
      } else {
        this.accept(p, job.returnvalue);
      }
    } catch (e) {
      if (!this.closed) this.settle(p, new DataError(`cannot queue ${p.data.arch} at ${this.conn.redacted}: ${describeError(e, this.conn)}`));
    }
  }

  /** Reads the pending jobs back: finds results whose event was missed and requeues lost jobs. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await Promise.all([...this.pending.values()].filter((p) => p.submitted).map(async (p) => {
        const job = await Job.fromId<ScoreJobData, ScoreJobResult>(this.queue, p.id);
        if (!this.pending.has(p.id) || this.closed) return;
        if (!job) {
          await this.queue.add('score', p.data, { ...JOB_OPTIONS, jobId: p.id });
          this.stats.resubmitted++;
        } else if (job.finishedOn) {
          if (job.failedReason && job.returnvalue == null) this.failed(p, job.failedReason);
          else this.accept(p, job.returnvalue);
        }
      }));
    } catch {
      // Redis away: the connection watch reports it, and the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  private accept(p: Pending, r: ScoreJobResult): void {
    if (this.pending.get(p.id) !== p) {
      this.stats.duplicateResults++;
      return;
    }
    let scores: Record<string, number>;
    try {
      if (r?.schema !== JOB_SCHEMA) throw new DataError(`a worker answered in result layout ${String(r?.schema)}, not ${JOB_SCHEMA}: run the same mfnas version everywhere`);
      if (r.engine !== this.engine) {
        throw new DataError(`a worker (${r.worker?.host}) computed ${p.data.arch} on engine ${r.engine}, this run's is ${this.engine}: ` +
          'run workers on the same engine (MFNAS_ENGINE, libdnnl-dev)');
      }
      if (r.dataFingerprint !== p.data.dataFingerprint) {
        throw new DataError(`a worker (${r.worker?.host}) scored other data (fingerprint ${r.dataFingerprint}, this run's ${p.data.dataFingerprint}): give it the same data`);
      }
      scores = decodeResult(p.data, r);
    } catch (e) {
      this.settle(p, e instanceof MfnasError ? e : new DataError(`a worker's result for ${p.data.arch} is unreadable: ${(e as Error).message}`));
      return;
    }
    const n = (this.acceptedPerKey.get(p.id) ?? 0) + 1;
    this.acceptedPerKey.set(p.id, n);
    this.stats.accepted++;
    this.stats.maxAcceptedPerKey = Math.max(this.stats.maxAcceptedPerKey, n);
    const who = `${r.worker?.host ?? '?'} (${r.worker?.cpu ?? '?'})`;
    this.stats.workers[who] = (this.stats.workers[who] ?? 0) + 1;
    this.settle(p, { scores: scores as ProxyScores, seconds: r.seconds, engine: r.engine });
  }

  private failed(p: Pending, reason: string): void {
    if (this.pending.get(p.id) !== p) {
      this.stats.duplicateResults++;
      return;
    }
    const text = redact(String(reason ?? 'unknown error'), this.conn).replace(/\s+/g, ' ');
    this.settle(p, text.startsWith(REFUSED)
      ? new DataError(text)
      // The worker's error first: the architecture string is long and a message line is cut at 200.
      : new QueueJobError(`failed on the queue after ${JOB_OPTIONS.attempts} attempts: ${text} (job ${p.id}, ${p.data.arch})`));
  }

  private settle(p: Pending, outcome: Evaluation | Error): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  /**
   * Stops listening and disconnects. Jobs still pending stay queued: the workers finish them and
   * a rerun collects their results.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const p of [...this.pending.values()]) this.settle(p, new Error('the run ended before this job finished (it stays queued)'));
    const quit = async () => {
      await this.events.close();
      await this.queue.close();
      await Promise.all(this.clients.map((c) => c.quit()));
    };
    // With Redis away, closing politely would wait for it: give up after 3 s.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([quit().catch(() => undefined), new Promise((r) => { timer = setTimeout(r, 3000); })]);
    clearTimeout(timer);
    for (const c of this.clients) c.disconnect();
  }
}

/**
 * The queue worker (`mfnas worker`): takes scoring jobs from BullMQ, rebuilds each job's proxy
 * input from this machine's data, refuses what it cannot reproduce exactly, and evaluates on a
 * pool of worker threads (so the main thread stays free to renew BullMQ's job locks however long
 * an evaluation takes).
 *
 * Refusals (another data fingerprint, engine, mfnas version, missing data) are BullMQ
 * `UnrecoverableError`s: the job fails at once with the reason, which the submitter reports;
 * a worker never returns a score for other data. Other errors are retried with backoff.
 * A killed worker's job is taken up by another worker once its lock has expired (stall check).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { engineKey, resolveBackend } from '../engine/backend.js';
import { resolveDataset } from '../datasets/resolve.js';
import { isFolderDataset, type DatasetRef } from '../datasets/registry.js';
import { createProxyContext, type ProxyContext } from '../proxies/context.js';
import { envThreads, PoolEvaluator } from '../proxies/poolEvaluator.js';
import { defaultWorkers } from '../proxies/evaluators.js';
import { settingsKey } from '../storage/scoreCache.js';
import { isMfnasError } from '../util/errors.js';
import { checkReachable, ConnectionWatch, describeError, openRedis, parseQueueUrl, redact } from './connection.js';
import {
  encodeScore, jobIncompatibility, JOB_SCHEMA, QUEUE_NAME, REFUSED, workerIdentity,
  type ScoreJobData, type ScoreJobResult,
} from './jobs.js';

export interface QueueWorkerOptions {
  /** The queue's Redis URL. */
  readonly queue: string;
  /** Jobs evaluated at once, each on its own thread (default one per core). */
  readonly concurrency?: number;
  /** Data folder of the builtin datasets (default MFNAS_DATA_DIR, else ../shared/data). */
  readonly dataDir?: string | null;
  /**
   * Seconds a job's lock lasts without renewal (default 30); a killed worker's job is taken up
   * again after one to two of these.
   */
  readonly lockSeconds?: number;
  /** A line per job started and finished (default: a summary line every 30 s). */
  readonly verbose?: boolean;
  /** Where lines go (default stderr, `mfnas worker: …`). */
  readonly log?: (line: string) => void;
  /** Aborting it makes the worker finish its current jobs and resolve. */
  readonly signal?: AbortSignal;
  /** Called once the worker takes jobs. */
  readonly onReady?: () => void;
}

export interface QueueWorkerSummary {
  readonly done: number;
  readonly failed: number;
  readonly refused: number;
  readonly seconds: number;
}

/** A proxy input rebuilt on this machine, or why it cannot be. */
interface Prepared {
  readonly ctx?: ProxyContext;
  readonly refusal?: string;
  pool?: Promise<PoolEvaluator>;
  lastUsed: number;
  inflight: number;
}

/** How many proxy inputs keep their thread pool (a run has one; two runs may interleave). */
const MAX_POOLS = 2;

/** Runs a worker until `signal` aborts (then lets the current jobs finish). */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const conn = parseQueueUrl(o.queue);
  const log = o.log ?? ((line: string) => process.stderr.write(`mfnas worker: ${line}\n`));
  const concurrency = o.concurrency ?? defaultWorkers();
  const lockMs = Math.round((o.lockSeconds ?? 30) * 1000);
  const engine = engineKey(await resolveBackend());
  const me = workerIdentity();
  const who = `${me.host}:${me.pid}`;
  const t0 = performance.now();
  const counts = { done: 0, failed: 0, refused: 0 };
  const prepared = new Map<string, Promise<Prepared>>();

  const client = openRedis(conn, 'mfnas-worker');
  await checkReachable(client, conn);
  const watch = new ConnectionWatch(conn, log, 'queue');
  watch.watch(client);

  async function prepare(d: ScoreJobData): Promise<Prepared> {
    const incompatible = jobIncompatibility(d);
    if (incompatible) return { refusal: incompatible, lastUsed: Date.now(), inflight: 0 };
    if (d.engine !== engine) {
      return {
        refusal: `its engine ${engine} differs from the run's ${d.engine}: give the worker the submitter's engine ` +
          '(MFNAS_ENGINE; libdnnl-dev for native) or set MFNAS_ENGINE on the submitter', lastUsed: Date.now(), inflight: 0,
      };
    }
    const key = `${d.space}|${JSON.stringify(d.dataset)}|${settingsKey(d.settings)}`;
    let entry = prepared.get(key);
    if (!entry) {
      entry = openInput(d);
      prepared.set(key, entry);
    }
    const p = await entry;
    if (p.refusal === undefined && p.ctx!.dataFingerprint !== d.dataFingerprint) {
      return {
        refusal: `data fingerprint ${p.ctx!.dataFingerprint} differs from the job's ${d.dataFingerprint} (${describeInput(d)}): ` +
          'give the worker the same data (--data-dir)', lastUsed: Date.now(), inflight: 0,
      };
    }
    return p;
  }

  async function openInput(d: ScoreJobData): Promise<Prepared> {
    let dataset: DatasetRef;
    try {
      if (d.dataset.kind === 'folder') {
        const folder = await resolveDataset(d.dataset.dir, { imageSize: d.dataset.imageSize, skipBad: d.dataset.skipBad });
        if (!isFolderDataset(folder) || folder.fingerprint !== d.dataset.fingerprint) {
          return { refusal: `the image folder ${d.dataset.dir} here has other content than the submitter's: copy the same folder to the same path`, lastUsed: Date.now(), inflight: 0 };
        }
        dataset = folder;
      } else {
        dataset = d.dataset.name;
      }
      const ctx = createProxyContext({
        space: d.space, dataset, dataDir: o.dataDir, batchSize: d.settings.batchSize, batches: d.settings.batches,
        dataSeed: d.settings.dataSeed, initSeed: d.settings.initSeed,
      });
      return { ctx, lastUsed: Date.now(), inflight: 0 };
    } catch (e) {
      if (!isMfnasError(e)) throw e;
      return { refusal: `it cannot read the job's data here (${e.message.slice(0, 120)})`, lastUsed: Date.now(), inflight: 0 };
    }
  }

  /** The pool of a proxy input; pools of inputs not used lately are closed (at most MAX_POOLS). */
  async function poolOf(p: Prepared): Promise<PoolEvaluator> {
    p.lastUsed = Date.now();
    if (!p.pool) {
      const idle = (await Promise.all([...prepared.values()])).filter((q) => q.pool && q !== p && q.inflight === 0)
        .sort((a, b) => a.lastUsed - b.lastUsed);
      const open = (await Promise.all([...prepared.values()])).filter((q) => q.pool).length;
      for (const q of idle.slice(0, Math.max(0, open + 1 - MAX_POOLS))) {
        const pool = q.pool!;
        q.pool = undefined;
        void pool.then((x) => x.close());
      }
      // One native thread per job unless MFNAS_THREADS says otherwise: a machine runs one slot
      // per core (or several workers), and more OpenMP threads than cores make every job slower.
      p.pool = PoolEvaluator.start(p.ctx!, { workers: concurrency, threads: envThreads() ?? 1 });
    }
    return p.pool;
  }

  const processor = async (job: Job<ScoreJobData, ScoreJobResult>): Promise<ScoreJobResult> => {
    const d = job.data;
    const p = await prepare(d);
    if (p.refusal !== undefined) {
      counts.refused++;
      const reason = `${REFUSED} ${who}: ${p.refusal}`;
      log(`job ${job.id} ${reason}`);
      throw new UnrecoverableError(reason);
    }
    if (o.verbose) log(`job ${job.id} started: ${d.arch}`);
    p.inflight++;
    try {
      const pool = await poolOf(p);
      const ev = await pool.evaluate(d.arch, d.proxies.map((x) => x.name));
      if (ev.engine !== d.engine) throw new UnrecoverableError(`${REFUSED} ${who}: it computed on ${ev.engine}, the run's engine is ${d.engine}`);
      const scores: Record<string, string> = {};
      for (const x of d.proxies) scores[x.name] = encodeScore((ev.scores as Record<string, number>)[x.name]);
      return { schema: JOB_SCHEMA, scores, seconds: ev.seconds, engine: ev.engine, dataFingerprint: p.ctx!.dataFingerprint, worker: me };
    } finally {
      p.inflight--;
      p.lastUsed = Date.now();
    }
  };

  const worker = new Worker<ScoreJobData, ScoreJobResult>(QUEUE_NAME, processor, {
    connection: client, concurrency, autorun: false,
    lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 2,
  });
  worker.on('completed', (job, r) => {
    counts.done++;
    if (o.verbose) log(`job ${job.id} done in ${r.seconds.toFixed(2)} s (${counts.done} done)`);
  });
  worker.on('failed', (job, err) => {
    if (!job || err instanceof UnrecoverableError || String(err?.message).startsWith(REFUSED)) return;
    counts.failed++;
    const attempts = job.opts.attempts ?? 1;
    log(`job ${job.id} failed (attempt ${job.attemptsMade} of ${attempts}${job.attemptsMade < attempts ? ', will retry' : ''}): ${describeError(err, conn)}`);
  });
  worker.on('error', (e) => {
    const text = describeError(e, conn);
    // Connection trouble is reported by the watch; anything else (e.g. a job Redis lost in a
    // restart could not be marked done) gets a line.
    const lost = /Missing (lock|key) for job (\S+?)\.? (moveTo\w+)/.exec(text);
    if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|ENOTFOUND|EHOSTUNREACH/i.test(text)) watch.error(e);
    else if (lost) log(`job ${lost[2]}: its result could not be stored (${lost[3]}): Redis no longer has the job (restarted, or its lock expired); it runs again`);
    else log(`warning: ${redact(text, conn)}`);
  });

  const summary = setInterval(() => {
    if (!o.verbose) log(`${counts.done} jobs done, ${counts.failed} failed, ${counts.refused} refused`);
  }, 30_000);
  summary.unref();

  const stopped = new Promise<void>((resolve) => {
    if (o.signal?.aborted) resolve();
    o.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  const running = worker.run();
  await worker.waitUntilReady();
  log(`ready: queue ${QUEUE_NAME} at ${conn.redacted}, concurrency ${concurrency}, engine ${engine}, cpu ${me.cpu}`);
  o.onReady?.();
  await Promise.race([stopped, running]);
  log(`stopping: finishing ${concurrency === 1 ? 'the current job' : 'the current jobs'}`);
  clearInterval(summary);
  await worker.close();
  await running.catch(() => undefined);
  for (const entry of prepared.values()) {
    const p = await entry;
    if (p.pool) await (await p.pool).close();
  }
  await client.quit().catch(() => client.disconnect());
  const seconds = (performance.now() - t0) / 1000;
  log(`stopped: ${counts.done} jobs done, ${counts.failed} failed, ${counts.refused} refused in ${seconds.toFixed(0)} s`);
  return { ...counts, seconds };
}

function describeInput(d: ScoreJobData): string {
  const name = d.dataset.kind === 'folder' ? d.dataset.dir : d.dataset.name;
  const s = d.settings;
  return `${name}, batch ${s.batchSize}x${s.batches}, seeds ${s.dataSeed}/${s.initSeed}`;
}

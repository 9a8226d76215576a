/**
 * The queue worker (`mfnas worker`): takes scoring jobs from BullMQ, rebuilds each job's proxy
 * input from this machine's data, refuses what it cannot reproduce exactly, and evaluates on a
 * pool of worker threads (so the main thread stays free to renew BullMQ's job locks however long
 * an evaluation takes).
 *
 * Anyone who can write to the Redis can queue a job, so a job is checked whole against the job
 * schema (`parseJob`) before any work, image folders are opened only under the worker's
 * `--image-root` folders, and what one job can cost is bounded (see JOB_LIMITS and
 * docs/distributed.md). A failed preparation is never kept: it cannot fail the jobs after it.
 *
 * Refusals (a job outside the schema, another data fingerprint, engine, mfnas version, missing
 * data) are BullMQ `UnrecoverableError`s: the job fails at once with the reason (one escaped
 * line), which the submitter reports; a worker never returns a score for other data. Other errors
 * are retried with backoff.
 * A killed worker's job is taken up by another worker once its lock has expired (stall check).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { engineKey, resolveBackend } from '../engine/backend.js';
import { openImageFolder, releaseImageFolder } from '../datasets/imageFolder/index.js';
import type { DatasetRef, FolderDataset } from '../datasets/registry.js';
import { createProxyContext, type ProxyContext } from '../proxies/context.js';
import { envThreads, PoolEvaluator } from '../proxies/poolEvaluator.js';
import { defaultWorkers } from '../proxies/poolEvaluator.js';
import { settingsKey } from '../storage/scoreCache.js';
import { clipAtWord, escapeUnprintable, InputError, isMfnasError, oneLine, quoteInput, quotePath } from '../util/errors.js';
import { checkReachable, ConnectionWatch, describeError, openRedis, parseQueueUrl, redact } from './connection.js';
import {
  encodeScore, JobRefusal, JOB_SCHEMA, maxFolderImages, parseJob, QUEUE_NAME, REFUSED, workerIdentity,
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
   * Folders under which jobs may name image-folder datasets (`--image-root`); none by default,
   * and then every image-folder job is refused without its folder being looked at.
   */
  readonly imageRoots?: readonly string[];
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

/** A proxy input rebuilt on this machine. */
interface Prepared {
  /** Its key in the `opened` map (an evicted input is no longer there). */
  readonly key: string;
  readonly ctx: ProxyContext;
  /** The decoded folder it was drawn from (held in memory until no input uses it), or null. */
  readonly folder: string | null;
  pool?: Promise<PoolEvaluator>;
  lastUsed: number;
  inflight: number;
}

/** How many proxy inputs keep their thread pool (a run has one; two runs may interleave). */
const MAX_POOLS = 2;
/**
 * How many proxy inputs (batches, and the decoded folder they came from) stay in memory: jobs of
 * other settings or folders evict the least recently used, so no sequence of jobs grows a worker
 * without bound.
 */
const MAX_INPUTS = 4;
/** Longest refusal reason kept (the submitter prints at most one line of 200 characters). */
const MAX_REASON = 400;

/** Runs a worker until `signal` aborts (then lets the current jobs finish). */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const conn = parseQueueUrl(o.queue);
  const log = o.log ?? ((line: string) => process.stderr.write(`mfnas worker: ${line}\n`));
  const concurrency = o.concurrency ?? defaultWorkers();
  const lockMs = Math.round((o.lockSeconds ?? 30) * 1000);
  const roots = await resolveImageRoots(o.imageRoots ?? []);
  const engine = engineKey(await resolveBackend());
  const me = workerIdentity();
  const who = `${me.host}:${me.pid}`;
  const t0 = performance.now();
  const counts = { done: 0, failed: 0, refused: 0 };
  /** Inputs opened successfully; a failed opening is never kept, so it cannot fail later jobs. */
  const opened = new Map<string, Prepared>();
  /** Openings under way, shared by the jobs that need the same input meanwhile. */
  const opening = new Map<string, Promise<Prepared>>();

  const client = openRedis(conn, 'mfnas-worker');
  await checkReachable(client, conn);
  const watch = new ConnectionWatch(conn, log, 'queue');
  watch.watch(client);

  /** The job's proxy input, opened or reused; throws a JobRefusal when it cannot be reproduced. */
  async function prepare(d: ScoreJobData): Promise<Prepared> {
    if (d.engine !== engine) {
      throw new JobRefusal(`its engine ${engine} differs from the run's ${quoteInput(d.engine, { max: 80 })}: give the worker the submitter's engine ` +
        '(MFNAS_ENGINE; libdnnl-dev for native) or set MFNAS_ENGINE on the submitter');
    }
    const key = `${d.space}|${JSON.stringify(d.dataset)}|${settingsKey(d.settings)}`;
    let p = opened.get(key);
    if (!p) {
      let pending = opening.get(key);
      if (!pending) {
        pending = openInput(key, d).then((q) => {
          opened.set(key, q);
          evictInputs();
          return q;
        }).finally(() => opening.delete(key));
        opening.set(key, pending);
      }
      p = await pending;
    }
    p.lastUsed = Date.now();
    if (p.ctx.dataFingerprint !== d.dataFingerprint) {
      throw new JobRefusal(`data fingerprint ${p.ctx.dataFingerprint} differs from the job's ${d.dataFingerprint} (${describeInput(d)}): ` +
        'give the worker the same data (--data-dir)');
    }
    return p;
  }

  async function openInput(key: string, d: ScoreJobData): Promise<Prepared> {
    const t = performance.now();
    let dataset: DatasetRef;
    let folder: FolderDataset | null = null;
    try {
      if (d.dataset.kind === 'folder') {
        const dir = await folderUnderRoots(d.dataset.dir, roots);
        folder = await openImageFolder(dir, {
          imageSize: d.dataset.imageSize, skipBad: d.dataset.skipBad, maxImages: maxFolderImages(d.dataset.imageSize),
          expectFingerprint: d.dataset.fingerprint,
        });
        if (folder.fingerprint !== d.dataset.fingerprint) {
          throw new JobRefusal(`the image folder ${quotePath(d.dataset.dir)} here has other content than the submitter's: copy the same folder to the same path`);
        }
        dataset = folder;
      } else {
        dataset = d.dataset.name;
      }
      const ctx = createProxyContext({
        space: d.space, dataset, dataDir: o.dataDir, batchSize: d.settings.batchSize, batches: d.settings.batches,
        dataSeed: d.settings.dataSeed, initSeed: d.settings.initSeed,
      });
      if (o.verbose) log(`proxy input ready in ${((performance.now() - t) / 1000).toFixed(2)} s: ${describeInput(d)}`);
      return { key, ctx, folder: folder?.fingerprint ?? null, lastUsed: Date.now(), inflight: 0 };
    } catch (e) {
      if (folder) releaseFolder(folder.fingerprint);
      if (e instanceof JobRefusal || !isMfnasError(e)) throw e;
      throw new JobRefusal(`it cannot read the job's data here (${clipAtWord(oneLine(e.message, Number.MAX_SAFE_INTEGER), 240)})`);
    }
  }

  /** Drops a decoded folder from memory unless an opened input still draws from it. */
  function releaseFolder(fingerprint: string): void {
    if (![...opened.values()].some((q) => q.folder === fingerprint)) releaseImageFolder(fingerprint);
  }

  /** Closes the least recently used idle inputs beyond MAX_INPUTS, with their pools and folders. */
  function evictInputs(): void {
    const idle = [...opened.entries()].filter(([, q]) => q.inflight === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [key, q] of idle.slice(0, Math.max(0, opened.size - MAX_INPUTS))) {
      opened.delete(key);
      retire(q);
    }
  }

  /**
   * Frees an input no longer in `opened`. One evicted while a job was about to use it is freed
   * when that job ends (see the processor), so no pool outlives the worker.
   */
  function retire(q: Prepared): void {
    closePool(q);
    if (q.folder) releaseFolder(q.folder);
  }

  function closePool(q: Prepared): void {
    const pool = q.pool;
    q.pool = undefined;
    void pool?.then((x) => x.close()).catch(() => undefined);
  }

  /** The pool of a proxy input; pools of inputs not used lately are closed (at most MAX_POOLS). */
  function poolOf(p: Prepared): Promise<PoolEvaluator> {
    p.lastUsed = Date.now();
    if (!p.pool) {
      const withPool = [...opened.values()].filter((q) => q.pool && q !== p);
      const idle = withPool.filter((q) => q.inflight === 0).sort((a, b) => a.lastUsed - b.lastUsed);
      for (const q of idle.slice(0, Math.max(0, withPool.length + 1 - MAX_POOLS))) closePool(q);
      // One native thread per job unless MFNAS_THREADS says otherwise: a machine runs one slot
      // per core (or several workers), and more OpenMP threads than cores make every job slower.
      const pool = PoolEvaluator.start(p.ctx, { workers: concurrency, threads: envThreads() ?? 1 });
      // A pool that failed to start is not kept: the next job starts another.
      pool.catch(() => { if (p.pool === pool) p.pool = undefined; });
      p.pool = pool;
    }
    return p.pool;
  }

  /** Throws the job's refusal as BullMQ's no-retry failure, one escaped line. */
  function refused(job: Job, reason: string): never {
    counts.refused++;
    const line = oneLine(`${REFUSED} ${who}: ${reason}`, MAX_REASON);
    log(`job ${escapeUnprintable(String(job.id))} ${line}`);
    throw new UnrecoverableError(line);
  }

  const processor = async (job: Job<ScoreJobData, ScoreJobResult>): Promise<ScoreJobResult> => {
    let d: ScoreJobData;
    let p: Prepared;
    try {
      d = parseJob(job.data);
      p = await prepare(d);
    } catch (e) {
      if (e instanceof JobRefusal) refused(job, e.message);
      throw e;
    }
    if (o.verbose) log(`job ${job.id} started: ${escapeUnprintable(d.arch)}`);
    p.inflight++;
    try {
      const pool = await poolOf(p);
      const ev = await pool.evaluate(d.arch, d.proxies.map((x) => x.name));
      if (ev.engine !== d.engine) refused(job, `it computed on ${ev.engine}, the run's engine is ${d.engine}`);
      const scores: Record<string, string> = {};
      for (const x of d.proxies) scores[x.name] = encodeScore((ev.scores as Record<string, number>)[x.name]);
      return { schema: JOB_SCHEMA, scores, seconds: ev.seconds, engine: ev.engine, dataFingerprint: p.ctx.dataFingerprint, worker: me };
    } finally {
      p.inflight--;
      p.lastUsed = Date.now();
      if (p.inflight === 0 && opened.get(p.key) !== p) retire(p);
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
    log(`job ${escapeUnprintable(String(job.id))} failed (attempt ${job.attemptsMade} of ${attempts}${job.attemptsMade < attempts ? ', will retry' : ''}): ` +
      `${oneLine(describeError(err, conn), MAX_REASON)}`);
  });
  worker.on('error', (e) => {
    const text = describeError(e, conn);
    // Connection trouble is reported by the watch; anything else (e.g. a job Redis lost in a
    // restart could not be marked done) gets a line.
    const lost = /Missing (lock|key) for job (\S+?)\.? (moveTo\w+)/.exec(text);
    if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|ENOTFOUND|EHOSTUNREACH/i.test(text)) watch.error(e);
    else if (lost) log(`job ${lost[2]}: its result could not be stored (${lost[3]}): Redis no longer has the job (restarted, or its lock expired); it runs again`);
    else log(`warning: ${oneLine(redact(text, conn), MAX_REASON)}`);
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
  log(`ready: queue ${QUEUE_NAME} at ${conn.redacted}, concurrency ${concurrency}, engine ${engine}, cpu ${me.cpu}` +
    (roots.length > 0 ? `, image roots ${roots.map(quotePath).join(', ')}` : ''));
  o.onReady?.();
  await Promise.race([stopped, running]);
  log(`stopping: finishing ${concurrency === 1 ? 'the current job' : 'the current jobs'}`);
  clearInterval(summary);
  await worker.close().catch((e) => log(`warning: ${oneLine(redact(describeError(e, conn), conn), MAX_REASON)}`));
  await running.catch(() => undefined);
  // Openings still under way belong to jobs worker.close() waited for; whatever they ended in,
  // only the inputs that opened hold pools to close.
  await Promise.allSettled([...opening.values()]);
  await Promise.allSettled([...opened.values()].map(async (p) => { if (p.pool) await (await p.pool).close(); }));
  await client.quit().catch(() => client.disconnect());
  const seconds = (performance.now() - t0) / 1000;
  log(`stopped: ${counts.done} jobs done, ${counts.failed} failed, ${counts.refused} refused in ${seconds.toFixed(0)} s`);
  return { ...counts, seconds };
}

/**
 * The `--image-root` folders with symlinks resolved (so containment is decided on real paths);
 * an InputError for one that is not an existing folder.
 */
async function resolveImageRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    let real: string;
    try {
      real = await fs.promises.realpath(root);
    } catch (e) {
      throw new InputError(`--image-root ${quotePath(root)} cannot be used (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}): give an existing folder`);
    }
    if (!(await fs.promises.stat(real)).isDirectory()) throw new InputError(`--image-root ${quotePath(root)} is not a folder: give a folder`);
    out.push(real);
  }
  return out;
}

/**
 * The real path of a job's image folder, refused (without reading it) unless it lies inside one
 * of the worker's image roots once every symlink is resolved.
 */
async function folderUnderRoots(dir: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) {
    throw new JobRefusal(`the job names the image folder ${quotePath(dir)}, and this worker takes no image folders: ` +
      'start it with --image-root FOLDER to allow the folders under FOLDER');
  }
  let real: string | null = null;
  try {
    real = await fs.promises.realpath(dir);
  } catch {
    // Said below as "not under the roots": a missing folder and a forbidden one look alike, so a
    // job cannot probe which paths exist on the worker.
  }
  if (real === null || !roots.some((root) => isInside(real!, root))) {
    throw new JobRefusal(`the image folder ${quotePath(dir)} is not a folder under this worker's --image-root: ` +
      'copy the folder under one of them, at the submitter\'s path, or start the worker with --image-root covering it');
  }
  return real;
}

function isInside(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function describeInput(d: ScoreJobData): string {
  const name = d.dataset.kind === 'folder' ? quotePath(d.dataset.dir) : d.dataset.name;
  const s = d.settings;
  return `${name}, batch ${s.batchSize}x${s.batches}, seeds ${s.dataSeed}/${s.initSeed}`;
}

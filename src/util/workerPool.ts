/**
 * The worker-thread pool of mfnas: proxy scoring (src/proxies/poolThread.ts, where each worker
 * initialises its own tfjs engine, so N workers evaluate N networks in parallel: tfjs-wasm is
 * single-threaded in Node, ENGINE-NOTES measured 1.9–2.0x for two) and the NATS-Bench importer
 * (src/natsbench/import/importThread.ts, decoding record files). Each worker runs a script that calls
 * `serveWorker(handler)`.
 *
 *   const pool = new WorkerPool<Task, Result>({ script: new URL('./poolThread.js', import.meta.url) });
 *   const results = await pool.map(tasks, (r, i) => progress(i));
 *   await pool.close();
 *
 * Scripts given as `.ts` (under vitest / tsx) are run through tsx (see `tsBootstrap`); compiled
 * `.js` scripts start plainly. A task's exception rejects its promise with the worker's message; a
 * worker that crashes (uncaught error, process.exit) rejects its current task and is replaced
 * on demand. Idle workers are unref'd, so a forgotten pool does not keep the process alive.
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, type TransferListItem } from 'node:worker_threads';

export interface WorkerPoolOptions {
  /** The worker script (file URL or path), a module that calls `serveWorker`. */
  script: URL | string;
  /** Number of workers (default `os.availableParallelism()`). */
  size?: number;
  /** Passed to every worker as `workerData`. */
  workerData?: unknown;
  /** Extra Node options for the workers. */
  execArgv?: string[];
}

/** A task failed inside a worker; `message` and `name` are the worker's. */
export class WorkerTaskError extends Error {
  constructor(
    message: string,
    name: string,
    readonly workerStack?: string,
  ) {
    super(message);
    this.name = name || 'Error';
  }
}

interface Job<In, Out> {
  task: In;
  transfer?: readonly TransferListItem[];
  resolve: (out: Out) => void;
  reject: (err: Error) => void;
}

interface Slot<In, Out> {
  worker: Worker;
  job: Job<In, Out> | null;
  dead: boolean;
  /** Give the (free) worker the next queued job, or let it idle. */
  dispatch: () => void;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { message: string; name: string; stack?: string } };

let tsxCjsApi: string | null = null;

/** Path of tsx's CommonJS register API, resolved from this package (not the cwd). */
function tsxCjsApiPath(): string {
  if (tsxCjsApi == null) tsxCjsApi = createRequire(import.meta.url).resolve('tsx/cjs/api');
  return tsxCjsApi;
}

/**
 * Bootstrap for a TypeScript worker script. `execArgv: ['--import', 'tsx']` does not work for
 * workers on Node 20 (tsx's ESM hooks, registered with module.register, never apply to the
 * worker's own module loading: "Unknown file extension .ts"), so the worker starts as an eval'd
 * CommonJS script that installs tsx's require hook and requires the script, which tsx compiles
 * to CommonJS (relative `.js` specifiers map to `.ts`; `import.meta.url` works; top-level await
 * in the worker script itself does not).
 */
function tsBootstrap(scriptPath: string): string {
  return [
    `require(${JSON.stringify(tsxCjsApiPath())}).register();`,
    `require(${JSON.stringify(scriptPath)});`,
  ].join('\n');
}

function scriptUrl(script: URL | string): URL {
  if (script instanceof URL) return script;
  return /^[a-z]+:\/\//i.test(script) ? new URL(script) : pathToFileURL(script);
}

export class WorkerPool<In, Out> {
  private maxWorkers: number;
  private readonly url: URL;
  private readonly execArgv: string[] | undefined;
  /** Set when the script is TypeScript (started through tsx). */
  private readonly tsPath: string | null;
  private readonly workerData: unknown;
  private readonly slots: Array<Slot<In, Out>> = [];
  private readonly queue: Array<Job<In, Out>> = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: WorkerPoolOptions) {
    this.url = scriptUrl(opts.script);
    this.maxWorkers = Math.max(1, Math.floor(opts.size ?? os.availableParallelism()));
    this.workerData = opts.workerData;
    const path = this.url.protocol === 'file:' ? fileURLToPath(this.url) : this.url.pathname;
    this.tsPath = /\.(c|m)?ts$/.test(path) ? path : null;
    this.execArgv = opts.execArgv;
  }

  /** Number of workers the pool runs at most (they start on demand, or with `warm`). */
  get size(): number {
    return this.maxWorkers;
  }

  /**
   * Changes how many workers the pool may run. Growing takes effect at the next task; shrinking
   * only stops new workers from starting (running ones keep serving).
   */
  resize(size: number): void {
    this.maxWorkers = Math.max(1, Math.floor(size));
    this.pump();
  }

  /**
   * Starts workers now, up to `count` (default: the pool's size), instead of at their first
   * task: their start-up (module loading, engine initialisation) then overlaps whatever the
   * caller does before submitting work.
   */
  warm(count = this.maxWorkers): void {
    if (this.closed) return;
    while (this.slots.length < Math.min(count, this.maxWorkers)) {
      const s = this.spawn();
      this.slots.push(s);
      s.dispatch();
    }
  }

  /** Run one task on the next free worker. */
  run(task: In, transfer?: readonly TransferListItem[]): Promise<Out> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ task, transfer, resolve, reject });
      this.pump();
    });
  }

  /**
   * Run every task; resolves with the results in input order. `onResult` is called as each
   * finishes. Rejects with the first failure (the other tasks still run to completion).
   */
  map(tasks: Iterable<In>, onResult?: (out: Out, index: number) => void): Promise<Out[]> {
    const list = [...tasks];
    return Promise.all(
      list.map((t, i) =>
        this.run(t).then((out) => {
          onResult?.(out, i);
          return out;
        }),
      ),
    );
  }

  /** Number of tasks waiting for a worker. */
  get pending(): number {
    return this.queue.length;
  }

  /** Terminate the workers. Unfinished and queued tasks are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('WorkerPool closed before the task finished');
    for (const job of this.queue.splice(0)) job.reject(err);
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (s) => {
        s.dead = true;
        const job = s.job;
        s.job = null;
        job?.reject(err);
        await s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot<In, Out> {
    const worker = this.tsPath
      ? new Worker(tsBootstrap(this.tsPath), { eval: true, workerData: this.workerData, execArgv: this.execArgv })
      : new Worker(this.url, { workerData: this.workerData, execArgv: this.execArgv });
    const slot: Slot<In, Out> = { worker, job: null, dead: false, dispatch: () => undefined };
    let currentId = 0;
    slot.dispatch = (): void => {
      // Called when the slot is free: take the next job, if any.
      const job = this.queue.shift();
      if (!job) {
        worker.unref();
        return;
      }
      worker.ref();
      slot.job = job;
      currentId = this.nextId++;
      worker.postMessage({ id: currentId, task: job.task }, job.transfer ? [...job.transfer] : undefined);
    };
    worker.on('message', (msg: Reply) => {
      const job = slot.job;
      if (!job || msg.id !== currentId) return;
      slot.job = null;
      if (msg.ok) job.resolve(msg.result as Out);
      else job.reject(new WorkerTaskError(msg.error.message, msg.error.name, msg.error.stack));
      if (!slot.dead) slot.dispatch();
    });
    const fail = (err: Error): void => {
      if (slot.dead) return;
      slot.dead = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const job = slot.job;
      slot.job = null;
      job?.reject(err);
      void worker.terminate();
      this.pump(); // replace the worker if tasks are waiting
    };
    worker.on('error', (err: Error) => {
      fail(err instanceof Error ? new WorkerTaskError(err.message, err.name, err.stack) : new Error(String(err)));
    });
    worker.on('exit', (code) => {
      fail(new Error(`worker exited unexpectedly with code ${code}`));
    });
    return slot;
  }

  private pump(): void {
    if (this.closed) return;
    // Idle live workers first.
    for (const s of this.slots) {
      if (this.queue.length === 0) return;
      if (!s.dead && s.job == null) s.dispatch();
    }
    while (this.queue.length > 0 && this.slots.length < this.maxWorkers) {
      const s = this.spawn();
      this.slots.push(s);
      s.dispatch();
    }
  }
}

/**
 * Worker side: answer the pool's tasks with `handler` (sync or async), one at a time.
 * Errors thrown by the handler reject that task only; the worker keeps serving.
 */
export function serveWorker<In, Out>(handler: (task: In) => Out | Promise<Out>): void {
  if (isMainThread || parentPort == null) throw new Error('serveWorker() must be called in a worker thread');
  const port = parentPort;
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: { id: number; task: In }) => {
    chain = chain.then(async () => {
      try {
        const result = await handler(msg.task);
        port.postMessage({ id: msg.id, ok: true, result });
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        port.postMessage({ id: msg.id, ok: false, error: { message: err.message, name: err.name, stack: err.stack } });
      }
    });
  });
}

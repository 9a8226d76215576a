/**
 * Hostile and broken jobs crafted straight into Redis against one real `mfnas worker`: each is
 * refused with one line, and a legitimate job queued right after it on the same worker (one that
 * needs a proxy input the worker has not built yet) still succeeds. Then: a folder job whose
 * preparation outlasts the lock time runs once, SIGTERM exits after all this, and a worker
 * started without --image-root refuses folder jobs without reading the folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DATA, runCli } from './helpers/cli.js';
import { startRedis, startWorker, stopWorker, type RedisServer, type WorkerProcess } from './helpers/redis.js';
import { createProxyContext } from '../src/proxies/context.js';
import { engineKey, resolveBackend } from '../src/engine/backend.js';
import { PROXIES } from '../src/proxies/registry.js';
import { spaceByName } from '../src/spaces/index.js';
import { Rng } from '../src/util/rng.js';
import { jobId, jobKey, JOB_SCHEMA, QUEUE_NAME, type ScoreJobData, type ScoreJobResult } from '../src/queue/jobs.js';
import { openImageFolder } from '../src/datasets/imageFolder/index.js';

let redis: RedisServer;
let worker: WorkerProcess;
let client: Redis;
let queue: Queue;
let engine: string;
let tmp: string;
/** The worker's only --image-root. */
let root: string;
/** A valid image folder outside the root. */
let outside: string;
/** The worker's decoded-image cache: stays empty while no folder has been read. */
let workerCache: string;

/**
 * A folder of `perClass` copies of one smooth PNG of `side` px in each of two classes: cheap to
 * write and small on disk, while each copy still costs a full decode and resize.
 */
function writeCopiesFolder(dir: string, perClass: number, side: number): void {
  const png = new PNG({ width: side, height: side });
  for (let p = 0; p < side * side; p++) {
    const x = p % side, y = Math.floor(p / side);
    png.data.set([x & 255, y & 255, (x ^ y) & 255, 255], 4 * p);
  }
  const bytes = PNG.sync.write(png);
  for (const cls of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, 'train', cls), { recursive: true });
    for (let i = 0; i < perClass; i++) fs.writeFileSync(path.join(dir, 'train', cls, `${i}.png`), bytes);
  }
}

/** A folder dataset of `perClass` noise PNGs of `side` px in each of two classes. */
function writeFolder(dir: string, perClass: number, side: number, seed: number): void {
  const rng = new Rng(seed);
  for (const cls of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, 'train', cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const png = new PNG({ width: side, height: side });
      for (let p = 0; p < png.data.length; p++) png.data[p] = (p & 3) === 3 ? 255 : rng.int(256);
      fs.writeFileSync(path.join(dir, 'train', cls, `${i}.png`), PNG.sync.write(png));
    }
  }
}

let nextBad = 0;

/** Queues `data` under `id` (default a fresh one) and waits until the worker has finished it. */
async function run(data: unknown, id = `bad-${++nextBad}`): Promise<Job<ScoreJobData, ScoreJobResult>> {
  await queue.add('score', data as ScoreJobData, { jobId: id, attempts: 1 });
  const deadline = Date.now() + 180_000;
  for (;;) {
    const job = await Job.fromId<ScoreJobData, ScoreJobResult>(queue, id);
    if (job?.finishedOn) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish:\n${worker.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A legitimate job: a TSS class on cifar10 with one batch of 8 images. Each `seed` is another data
 * seed, hence a proxy input the worker has not built before.
 */
function goodJob(seed: number): ScoreJobData {
  const tss = spaceByName('tss');
  const arch = tss.representative(tss.sample(new Rng(seed)));
  const ctx = createProxyContext({ space: 'tss', dataset: 'cifar10', dataDir: DATA, batchSize: 8, batches: 2, dataSeed: seed });
  const base = {
    space: 'tss' as const, dataset: { kind: 'builtin' as const, name: 'cifar10' as const }, datasetKey: 'cifar10',
    settings: ctx.settings, dataFingerprint: ctx.dataFingerprint, engine, arch: tss.format(arch), canonical: tss.canonical(arch),
    proxies: [{ name: 'zico' as const, version: PROXIES.zico.version }],
  };
  return { schema: JOB_SCHEMA, key: jobKey(base), ...base };
}

/** A folder job as a submitter would queue it (key recomputed from the content). */
function folderJob(dataset: Extract<ScoreJobData['dataset'], { kind: 'folder' }>, over: Partial<ScoreJobData> = {}): ScoreJobData {
  const good = goodJob(1);
  const base = { ...good, dataset, datasetKey: `folder:${dataset.fingerprint}`, ...over };
  const { schema: _s, key: _k, ...rest } = base;
  return { ...base, key: jobKey(rest) };
}

const FAKE_FINGERPRINT = 'ab'.repeat(32);

function expectRefused(job: Job, reason: RegExp): void {
  expect(job.failedReason).toMatch(/^refused by worker \S+: /);
  expect(job.failedReason).toMatch(reason);
  expect(job.failedReason).not.toMatch(/[\n\r\u001b]/);
  expect(job.failedReason).not.toMatch(/ at .*\.ts:\d+/); // no stack trace
  expect(job.returnvalue ?? null).toBeNull();
}

let seed = 100;

/** The next legitimate job on the same worker succeeds (with a proxy input it has not built yet). */
async function expectGoodJobStillWorks(): Promise<void> {
  const data = goodJob(++seed);
  const job = await run(data, jobId(data.key));
  expect(job.failedReason, worker.log().slice(-1500)).toBeFalsy();
  expect(Number.isFinite(Number(job.returnvalue.scores.zico))).toBe(true);
  expect(job.returnvalue.dataFingerprint).toBe(data.dataFingerprint);
}

const cacheFiles = () => (fs.existsSync(workerCache) ? fs.readdirSync(workerCache, { recursive: true }) : []);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(tmpdir(), 'mfnas-hostile-'));
  root = path.join(tmp, 'root');
  outside = path.join(tmp, 'outside');
  workerCache = path.join(tmp, 'worker-cache');
  fs.mkdirSync(root);
  writeFolder(outside, 4, 16, 1);
  engine = engineKey(await resolveBackend());
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUE_NAME, { connection: client });
  worker = await startWorker(redis.url, ['--lock-seconds', '2', '--image-root', root], { MFNAS_IMAGE_CACHE: workerCache });
}, 120_000);

afterAll(async () => {
  if (worker) await stopWorker(worker);
  await queue?.close();
  await client?.quit();
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a worker no job can break', { timeout: 300_000 }, () => {
  it('serves a legitimate job', async () => {
    await expectGoodJobStillWorks();
  });

  it('refuses a job whose dataset is null, and the next job that needs a new input still succeeds', async () => {
    expectRefused(await run({ ...goodJob(2), dataset: null }), /dataset must be a builtin's name or an image folder, got null/);
    await expectGoodJobStillWorks();
    // A second one: the first was not cached as a broken entry either.
    expectRefused(await run({ ...goodJob(3), dataset: null }), /got null/);
    await expectGoodJobStillWorks();
  });

  it('refuses a folder outside every --image-root without reading it', async () => {
    const job = folderJob({ kind: 'folder', dir: outside, imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(job), /is not a folder under this worker's --image-root/);
    expect(cacheFiles()).toEqual([]);
    await expectGoodJobStillWorks();
  });

  it('refuses `..` and symlinks that lead out of a root', async () => {
    const dotdot = folderJob({ kind: 'folder', dir: `${root}/../outside`, imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(dotdot), /not an absolute path without '\.\.'/);
    fs.symlinkSync(outside, path.join(root, 'escape'));
    const link = folderJob({ kind: 'folder', dir: path.join(root, 'escape'), imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(link), /is not a folder under this worker's --image-root/);
    const relative = folderJob({ kind: 'folder', dir: 'root/escape', imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(relative), /not an absolute path/);
    expect(cacheFiles()).toEqual([]);
    await expectGoodJobStillWorks();
  });

  it('refuses an image size over the queue limit before opening the folder', async () => {
    fs.cpSync(outside, path.join(root, 'copy'), { recursive: true });
    const job = folderJob({ kind: 'folder', dir: path.join(root, 'copy'), imageSize: 512, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(job), /imageSize must be an integer from 8 to 128, got 512/);
    expect(cacheFiles()).toEqual([]);
    await expectGoodJobStillWorks();
  });

  it('refuses unknown proxies and spaces, absurd settings and text, and a key that is not its content\'s', async () => {
    const good = goodJob(4);
    expectRefused(await run({ ...good, proxies: [{ name: 'evil\u001b[31m', version: 1 }] }), /unknown proxy "evil\\u001b\[31m"/);
    expectRefused(await run({ ...good, space: 'xss' }), /space "xss" is not one of tss, sss/);
    expectRefused(await run({ ...good, settings: { ...good.settings, batchSize: 1e9 } }), /batch size must be an integer from 1 to 1024, got 1000000000/);
    expectRefused(await run({ ...good, settings: { ...good.settings, batchSize: 1024, batches: 16 } }), /over a worker's limits/);
    expectRefused(await run({ ...good, settings: { ...good.settings, dataSeed: -1 } }), /data seed must be an integer/);
    expectRefused(await run({ ...good, arch: 'x'.repeat(100_000) }), /arch must be a text of 1 to 200 characters/);
    expectRefused(await run({ ...good, engine: { toString: null } }), /engine must be a text/);
    expectRefused(await run({ ...good, extra: 1 }), /unknown field "extra"/);
    expectRefused(await run({ ...good, schema: 99 }), /job layout 99 differs/);
    expectRefused(await run('just text'), /job layout "just text" differs/);
    expectRefused(await run({ ...good, key: `${good.key}x` }), /key does not match its content/);
    await expectGoodJobStillWorks();
  });

  it('says why it cannot read a folder in whole words, not cut mid-word', async () => {
    const dir = path.join(root, 'corrupt');
    writeFolder(dir, 2, 16, 4);
    // A bad file found by the scan, before hashing: the reason is the library's whole message.
    fs.writeFileSync(path.join(dir, 'train', 'b', 'notes.txt'), 'not an image');
    const job = folderJob({ kind: 'folder', dir, imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    const refused = await run(job);
    expectRefused(refused, /cannot read the job's data here \(.*notes\.txt/);
    // The library's reason ends with its fix; the old 120-character cut stopped mid-word before it.
    expect(refused.failedReason).toMatch(/--skip-bad[^…]*\)$/);
    await expectGoodJobStillWorks();
  });

  it('refuses (or with skipBad skips) a FIFO inside a root instead of hanging', async () => {
    const dir = path.join(root, 'fifo');
    writeFolder(dir, 3, 16, 2);
    execFileSync('mkfifo', [path.join(dir, 'train', 'a', 'f.png')]);
    const job = folderJob({ kind: 'folder', dir, imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(job), /cannot read the job's data here .*f\.png/);
    await expectGoodJobStillWorks();

    // With skipBad the FIFO is skipped, and the folder scores like the submitter's.
    const cacheDir = path.join(tmp, 'submitter-cache');
    const folder = await openImageFolder(dir, { imageSize: 16, skipBad: true, cacheDir });
    expect(folder.skipped).toBe(1);
    const ctx = createProxyContext({ space: 'tss', dataset: folder, batchSize: 4, batches: 1, dataSeed: 7 });
    const skipping = folderJob({ kind: 'folder', dir, imageSize: 16, skipBad: true, fingerprint: folder.fingerprint },
      { settings: ctx.settings, dataFingerprint: ctx.dataFingerprint });
    const done = await run(skipping, jobId(skipping.key));
    expect(done.failedReason, worker.log().slice(-1500)).toBeFalsy();
    expect(Number.isFinite(Number(done.returnvalue.scores.zico))).toBe(true);
  });

  it('renews the lock while it prepares a folder of hundreds of images: the job runs once', async () => {
    // The worker runs with --lock-seconds 2; decoding 600 images of 384 px takes about 4 s on
    // two cores, so a main thread blocked by it would lose the lock and run the job twice.
    const dir = path.join(root, 'big');
    writeCopiesFolder(dir, 300, 384);
    const folder = await openImageFolder(dir, { imageSize: 32, cacheDir: path.join(tmp, 'submitter-cache') });
    const ctx = createProxyContext({ space: 'tss', dataset: folder, batchSize: 16, batches: 1, dataSeed: 3 });
    const data = folderJob({ kind: 'folder', dir, imageSize: 32, skipBad: false, fingerprint: folder.fingerprint },
      { settings: ctx.settings, dataFingerprint: ctx.dataFingerprint });
    const id = jobId(data.key);
    const from = worker.log().length;
    const job = await run(data, id);
    expect(job.failedReason, worker.log().slice(-1500)).toBeFalsy();
    expect(job.returnvalue.dataFingerprint).toBe(ctx.dataFingerprint);
    expect(job.attemptsStarted).toBe(1);
    expect(job.stalledCounter).toBe(0);
    const log = worker.log().slice(from);
    expect(log).toMatch(/proxy input ready in \d+\.\d+ s: .*big/);
    expect(log.split(`job ${id} started`).length - 1).toBe(1);
    expect(log).not.toMatch(/could not be stored|stalled/);
    await expectGoodJobStillWorks();
  });

  it('exits on SIGTERM after all of this, with no stack trace', async () => {
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    expect(code).toBe(0);
    expect(worker.log()).toMatch(/stopped: \d+ jobs done, 0 failed, \d+ refused/);
    expect(worker.log()).not.toMatch(/internal error|\n\s+at /);
  });

  it('refuses to start with an --image-root that is not a folder: exit 2, one line', async () => {
    for (const bad of [path.join(tmp, 'no-such-root'), path.join(outside, 'train', 'a', '0.png')]) {
      const r = await runCli(['worker', '--queue', redis.url, '--image-root', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^mfnas: --image-root .* (cannot be used|is not a folder)[^\n]*\n$/);
    }
  });

  it('without --image-root refuses every folder job without reading the folder', async () => {
    const cache = path.join(tmp, 'rootless-cache');
    worker = await startWorker(redis.url, ['--lock-seconds', '2'], { MFNAS_IMAGE_CACHE: cache });
    const job = folderJob({ kind: 'folder', dir: path.join(root, 'copy'), imageSize: 32, skipBad: false, fingerprint: FAKE_FINGERPRINT });
    expectRefused(await run(job), /this worker takes no image folders: start it with --image-root/);
    expect(fs.existsSync(cache)).toBe(false);
    await stopWorker(worker);
    expect(await worker.exited).toBe(0);
  });
});

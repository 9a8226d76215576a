/**
 * Scoring through BullMQ on a real redis-server with two `mfnas worker` processes: the scores
 * equal a local run's bit for bit, a rerun takes the finished jobs instead of queueing them
 * again, and a run whose data differ from the workers' is refused with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DATA, runCli } from './helpers/cli.js';
import { startRedis, startWorker, stopWorker, type RedisServer, type WorkerProcess } from './helpers/redis.js';
import { ScoreCache } from '../src/storage/scoreCache.js';
import { Command } from 'commander';
import { registerCorrelateCommand } from '../src/cli/commands/correlate.js';
import { queueOption } from '../src/cli/commands/worker.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';

const SCAN = ['scan', '--space', 'tss', '--dataset', 'cifar100', '--batch', '16', '--batches', '2', '--range', '100:112', '--json'];
const PROXIES = 4; // scan's default: intgrad_param, intgrad_mean, zico, params

let redis: RedisServer;
let workers: WorkerProcess[] = [];
let dir: string;

const jobsDone = () => workers.map((w) => (w.log().match(/ done in /g) ?? []).length).reduce((a, b) => a + b, 0);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mfnas-queue-'));
  redis = await startRedis();
  workers = await Promise.all([startWorker(redis.url, ['--lock-seconds', '5']), startWorker(redis.url, ['--lock-seconds', '5'])]);
});

afterAll(async () => {
  await Promise.all(workers.map(stopWorker));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Several processes on a shared 2-core machine: minutes when it is busy, seconds when not.
describe('mfnas scan --queue', { timeout: 300_000 }, () => {
  it('gives the local scores bit for bit, lands them in the cache, and a rerun requeues nothing', async () => {
    const local = await runCli([...SCAN, '--out', path.join(dir, 'local.csv'), '--cache', path.join(dir, 'local.sqlite'), '--workers', '1']);
    expect(local.stderr).not.toMatch(/Error/);
    expect(local.code).toBe(0);
    const queued = await runCli([...SCAN, '--out', path.join(dir, 'queue.csv'), '--cache', path.join(dir, 'queue.sqlite'), '--queue', redis.url]);
    expect(queued.code, queued.stderr).toBe(0);
    const summary = JSON.parse(queued.stdout);
    const localSummary = JSON.parse(local.stdout);
    expect(summary.classes).toBeGreaterThanOrEqual(8);
    expect(summary.engine).toBe(localSummary.engine);
    // Every class came back exactly once, and both workers took part.
    expect(summary.queue.accepted).toBe(summary.classes);
    expect(summary.queue.maxAcceptedPerKey).toBe(1);
    expect(jobsDone()).toBeGreaterThanOrEqual(summary.classes);
    for (const w of workers) expect(w.log()).toMatch(/ done in /);
    const csv = readFileSync(path.join(dir, 'queue.csv'), 'utf8');
    expect(csv).toBe(readFileSync(path.join(dir, 'local.csv'), 'utf8'));
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('index,arch,intgrad_param,intgrad_mean,zico,params');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(Array.from({ length: 12 }, (_, i) => String(100 + i)));
    expect(summary.correlation).toEqual(localSummary.correlation);
    // Results landed in the submitter's cache as they arrived: one row per class and proxy.
    const cache = new ScoreCache(path.join(dir, 'queue.sqlite'));
    try {
      expect(cache.count()).toBe(summary.classes * PROXIES);
    } finally {
      cache.close();
    }

    // A rerun with an empty cache takes the finished jobs' results: nothing is computed again.
    const before = jobsDone();
    const again = await runCli([...SCAN, '--out', path.join(dir, 'again.csv'), '--cache', path.join(dir, 'again.sqlite'), '--queue', redis.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).queue.accepted).toBe(summary.classes);
    expect(jobsDone()).toBe(before);
    expect(readFileSync(path.join(dir, 'again.csv'), 'utf8')).toBe(csv);
  });

  it('serves correlate through the same seam (openScoring passes --queue on)', async () => {
    // correlate.ts gains `.addOption(queueOption())`; added here when it has not yet.
    const register = (program: Command) => {
      registerCorrelateCommand(program);
      const cmd = program.commands.find((c) => c.name() === 'correlate')!;
      if (!cmd.options.some((o) => o.long === '--queue')) cmd.addOption(queueOption());
    };
    const r = await runCommandsInProcess(register, ['--data-dir', DATA, 'correlate', '--space', 'tss', '--dataset', 'cifar100',
      '--batch', '16', '--batches', '2', '--indices', '100,101,102,103', '--no-cache', '--queue', redis.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const local = readFileSync(path.join(dir, 'local.csv'), 'utf8').trim().split('\n').slice(1, 5);
    // correlate's τ over the 4 cells equals the one computed from the local scan's rows.
    const { kendallTau } = await import('../src/stats/correlation.js');
    const { openDefaultNatsBenchTables } = await import('../src/natsbench/tables.js');
    const table = openDefaultNatsBenchTables(DATA)!.tss!;
    const acc = [100, 101, 102, 103].map((i) => table.testAccuracy('cifar100', i)!);
    const zico = local.map((l) => Number(l.split(',').at(-2)));
    expect(JSON.parse(r.stdout).proxies.zico.kendall).toBe(kendallTau(zico, acc));
  });

  it('serves the library\'s search() through `queue`: the same run as on local threads', async () => {
    const { search } = await import('../src/index.js');
    const settings = {
      space: 'tss', dataset: 'cifar100', dataDir: DATA, batch: 16, batches: 2, cache: false as const,
      population: 6, tournament: 3, steps: 3, seed: 5,
    };
    const before = jobsDone();
    const queued = await search({ ...settings, queue: redis.url });
    expect(jobsDone()).toBeGreaterThan(before); // the workers did score
    // Two one-thread workers: OpenMP teams of two threads crawl when other processes hold the cores.
    const local = await search({ ...settings, workers: 2 });
    expect(queued.best).toEqual(local.best);
    expect(queued.evaluated).toBe(local.evaluated);
    await expect(search({ ...settings, queue: redis.url, screen: '2x8' })).rejects.toThrow(/screen cannot be combined with queue/);
  });

  it('reports a job that fails on every attempt with the worker\'s error, never drops it', async () => {
    // A job under the very id the scan will use (index 9930: a class no other test scores), but
    // naming an architecture no worker can build:
    // the scan's add collapses onto it, and its final failure must reach the scan.
    const { createProxyContext } = await import('../src/proxies/context.js');
    const { engineKey, resolveBackend } = await import('../src/engine/backend.js');
    const { PROXIES } = await import('../src/proxies/registry.js');
    const { spaceByName } = await import('../src/spaces/index.js');
    const { openDefaultNatsBenchTables } = await import('../src/natsbench/tables.js');
    const { jobId, jobKey, JOB_SCHEMA, QUEUE_NAME } = await import('../src/queue/jobs.js');
    const { JOB_OPTIONS } = await import('../src/queue/queueEvaluator.js');
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const tss = spaceByName('tss').withBenchmark(openDefaultNatsBenchTables(DATA));
    const arch = tss.representative(tss.fromIndex(9930));
    const ctx = createProxyContext({ space: 'tss', dataset: 'cifar100', dataDir: DATA, batchSize: 16, batches: 2 });
    const base = {
      space: 'tss' as const, dataset: { kind: 'builtin' as const, name: 'cifar100' as const }, datasetKey: 'cifar100', settings: ctx.settings,
      dataFingerprint: ctx.dataFingerprint, engine: engineKey(await resolveBackend()), arch: tss.format(arch), canonical: tss.canonical(arch),
      proxies: (['intgrad_param', 'intgrad_mean', 'zico', 'params'] as const).map((name) => ({ name, version: PROXIES[name].version })),
    };
    const key = jobKey(base);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: client });
    try {
      await queue.add('score', { schema: JOB_SCHEMA, key, ...base, arch: '|bogus~0|' }, { ...JOB_OPTIONS, jobId: jobId(key) });
    } finally {
      await queue.close();
      await client.quit();
    }
    const r = await runCli([...SCAN, '--range', '9930:9931', '--out', path.join(dir, 'failed.csv'), '--no-cache', '--queue', redis.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/1 of 1 classes could not be scored .*failed on the queue after 3 attempts: .*bogus/);
    const log = workers.map((w) => w.log()).join('');
    expect(log).toMatch(/failed \(attempt 1 of 3, will retry\)/);
    expect(log).toMatch(/failed \(attempt 3 of 3\)/);
  });

  it('is refused with the reason when the workers\' data differ from the submitter\'s', async () => {
    // The submitter's CIFAR-100 has other pixels (inverted), so its proxy batches differ.
    const other = path.join(dir, 'other-data');
    mkdirSync(path.join(other, 'cifar-100-binary'), { recursive: true });
    symlinkSync(path.join(DATA, 'nats-bench'), path.join(other, 'nats-bench'));
    const bytes = readFileSync(path.join(DATA, 'cifar-100-binary', 'train.bin'));
    for (let r = 0; r < bytes.length; r += 3074) for (let i = r + 2; i < r + 3074; i++) bytes[i] = 255 - bytes[i];
    writeFileSync(path.join(other, 'cifar-100-binary', 'train.bin'), bytes);
    const refused = await runCli([...SCAN, '--range', '0:3', '--out', path.join(dir, 'refused.csv'), '--no-cache', '--queue', redis.url],
      { MFNAS_DATA_DIR: other });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused by worker .*data fingerprint [0-9a-f]{16} differs from the job's [0-9a-f]{16}/);
    expect(refused.stderr).toMatch(/same data/);
    expect(workers.map((w) => w.log()).join('')).toMatch(/refused by worker/);
    expect(() => readFileSync(path.join(dir, 'refused.csv'))).toThrow();
  });
});

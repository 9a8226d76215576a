/**
 * Faults a distributed scan must survive with nothing lost and nothing counted twice: a worker
 * killed (SIGKILL) in the middle of a job, Redis restarted (empty: no persistence) in the middle
 * of a run, the submitter killed and run again; and SIGTERM letting a worker finish its job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCli } from './helpers/cli.js';
import { startRedis, startWorker, stopWorker, watchProcess, type RedisServer, type WorkerProcess } from './helpers/redis.js';

const RANGE = ['--range', '200:214'];
const scanArgs = (dir: string, name: string, url: string) => ['scan', '--space', 'tss', '--dataset', 'cifar100', '--batch', '16', '--batches', '2',
  ...RANGE, '--json', '--out', path.join(dir, `${name}.csv`), '--cache', path.join(dir, `${name}.sqlite`), '--queue', url];

let redis: RedisServer;
let a: WorkerProcess, b: WorkerProcess;
const extra: WorkerProcess[] = [];
let dir: string;

function startScan(name: string) {
  const p = watchProcess(startCli(scanArgs(dir, name, redis.url)));
  let out = '';
  p.child.stdout!.removeAllListeners('data');
  p.child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return { ...p, stdout: () => out };
}

/** The CSV's data rows: every index of the range exactly once, in order. */
function checkRows(csv: string): void {
  const indices = csv.trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
  expect(indices).toEqual(Array.from({ length: 14 }, (_, i) => 200 + i));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mfnas-queue-faults-'));
  redis = await startRedis();
  [a, b] = await Promise.all([startWorker(redis.url, ['--lock-seconds', '2']), startWorker(redis.url, ['--lock-seconds', '2'])]);
});

afterAll(async () => {
  await Promise.all([a, b, ...extra].filter(Boolean).map(stopWorker));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Several processes on a shared 2-core machine: minutes when it is busy, half a minute when not.
describe('distributed scan under faults', { timeout: 300_000 }, () => {
  it('a worker killed mid-job: its job is taken up again after the stall check, every result once', async () => {
    const scan = startScan('kill');
    // The second job worker a starts: it is mid-job the moment the line appears.
    const started = await a.waitFor(/job (\S+) started:[^\n]*\n(?:[^]*?)job (\S+) started:/);
    const killedJob = started[2];
    a.child.kill('SIGKILL');
    expect(await scan.exited).toBe(0);
    const summary = JSON.parse(scan.stdout());
    expect(summary.queue.accepted).toBe(summary.classes);
    expect(summary.queue.maxAcceptedPerKey).toBe(1);
    checkRows(readFileSync(path.join(dir, 'kill.csv'), 'utf8'));
    // Worker a never finished that job; worker b picked it up after the lock expired.
    expect(a.log()).not.toContain(`job ${killedJob} done`);
    expect(b.log()).toContain(`job ${killedJob} done`);
  });

  it('Redis restarted mid-run: everyone reconnects, lost jobs are queued again, every result once', async () => {
    a = await startWorker(redis.url, ['--lock-seconds', '2']);
    await redis.command('FLUSHALL');
    const scan = startScan('restart');
    const doneBefore = (w: WorkerProcess) => (w.log().match(/ done in /g) ?? []).length;
    const base = doneBefore(a) + doneBefore(b);
    while (doneBefore(a) + doneBefore(b) < base + 2) await new Promise((r) => setTimeout(r, 50));
    await redis.restart(1000);
    expect(await scan.exited).toBe(0);
    const summary = JSON.parse(scan.stdout());
    expect(summary.queue.accepted).toBe(summary.classes);
    expect(summary.queue.maxAcceptedPerKey).toBe(1);
    // The restart lost the queued jobs (no persistence): the submitter queued them again.
    expect(summary.queue.resubmitted).toBeGreaterThan(0);
    expect(scan.log()).toMatch(/reconnected to redis:\/\/127\.0\.0\.1/);
    // Same scores as the run before, which had its own faults.
    const csv = readFileSync(path.join(dir, 'restart.csv'), 'utf8');
    checkRows(csv);
    expect(csv).toBe(readFileSync(path.join(dir, 'kill.csv'), 'utf8'));
  });

  it('the submitter killed and run again resumes from its cache and the queue', async () => {
    await redis.command('FLUSHALL');
    const first = startScan('resume');
    await first.waitFor(/scan: [1-9]\d*\/\d+/);
    first.child.kill('SIGKILL');
    await first.exited;
    const again = startScan('resume');
    expect(await again.exited).toBe(0);
    const summary = JSON.parse(again.stdout());
    // Part came from the cache, the rest from the queue (finished meanwhile or still running).
    expect(summary.cached).toBeGreaterThan(0);
    expect(summary.cached + summary.queue.accepted).toBe(summary.classes);
    expect(summary.queue.maxAcceptedPerKey).toBe(1);
    expect(readFileSync(path.join(dir, 'resume.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'kill.csv'), 'utf8'));
  });

  it('SIGTERM lets a worker finish its current job, then it exits 0', async () => {
    await redis.command('FLUSHALL');
    const from = b.log().length;
    const scan = startScan('term');
    const m = await b.waitFor(/job (\S+) started:/, 60_000, from);
    const job = m[1];
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const log = b.log();
    expect(log.lastIndexOf(`job ${job} done`)).toBeGreaterThan(log.indexOf('SIGTERM'));
    expect(log).toMatch(/stopped: \d+ jobs done/);
    expect(await scan.exited).toBe(0);
    expect(JSON.parse(scan.stdout()).queue.maxAcceptedPerKey).toBe(1);
  });
});

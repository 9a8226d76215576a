import { afterEach, describe, expect, it } from 'vitest';
import { WorkerPool, WorkerTaskError } from '../src/util/workerPool.js';
import { groupThreads, planPool } from '../src/proxies/poolEvaluator.js';
import type { EchoTask } from './fixtures/echoWorker.js';

const script = new URL('./fixtures/echoWorker.ts', import.meta.url);

describe('WorkerPool', () => {
  let pool: WorkerPool<EchoTask, unknown> | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
  });

  it('runs tfjs tasks in TypeScript workers (via tsx), each with its own engine', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script, size: 2, workerData: { backend: 'wasm', tag: 7 } });
    const infos = (await Promise.all([pool.run({ op: 'info' }), pool.run({ op: 'info' })])) as Array<{
      threadId: number; backend: string; simd: boolean; workerData: { tag: number };
    }>;
    expect(new Set(infos.map((i) => i.threadId)).size).toBe(2);
    for (const i of infos) {
      expect(i.backend).toBe('wasm');
      expect(i.simd).toBe(true);
      expect(i.workerData.tag).toBe(7);
    }
    // conv weight gradient of sum(conv(ones 4x4, w)) with 'same' padding: per-tap counts.
    expect(await pool.run({ op: 'conv-grad' })).toEqual([9, 12, 9, 12, 16, 12, 9, 12, 9]);
  });

  it('map keeps input order and reports each result', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script, size: 2 });
    const tasks: EchoTask[] = [30, 0, 20, 5, 0, 10].map((d, i) => ({ op: 'sum', values: [i, i, 1], delayMs: d }));
    const seen: number[] = [];
    const out = await pool.map(tasks, (_r, i) => seen.push(i));
    expect(out).toEqual([1, 3, 5, 7, 9, 11]);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('propagates task errors with the worker message and keeps serving', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script, size: 1 });
    const err = await pool.run({ op: 'fail', message: 'bad input 42' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerTaskError);
    expect((err as Error).message).toBe('bad input 42');
    expect((err as Error).name).toBe('RangeError');
    expect(await pool.run({ op: 'sum', values: [2, 3] })).toBe(5);
  });

  it('replaces a crashed or exited worker', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script, size: 1 });
    const before = (await pool.run({ op: 'info' })) as { threadId: number };
    await expect(pool.run({ op: 'crash' })).rejects.toThrow('worker crashed on purpose');
    const after = (await pool.run({ op: 'info' })) as { threadId: number };
    expect(after.threadId).not.toBe(before.threadId);
    await expect(pool.run({ op: 'exit', code: 3 })).rejects.toThrow(/code 3/);
    expect(await pool.run({ op: 'sum', values: [1, 1] })).toBe(2);
  });

  it('close rejects unfinished tasks and later runs', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script, size: 1 });
    await pool.run({ op: 'info' });
    const slow = pool.run({ op: 'sum', values: [1], delayMs: 5000 }).catch((e: Error) => e);
    const queued = pool.run({ op: 'sum', values: [1] }).catch((e: Error) => e);
    const t0 = Date.now();
    await pool.close();
    expect(Date.now() - t0).toBeLessThan(2000); // does not wait for the running task
    expect(String(await slow)).toMatch(/closed/);
    expect(String(await queued)).toMatch(/closed/);
    await expect(pool.run({ op: 'info' })).rejects.toThrow(/closed/);
  });

  it('rejects (does not hang) when the script cannot start', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script: new URL('./fixtures/missing-worker.ts', import.meta.url), size: 1 });
    await expect(pool.run({ op: 'info' })).rejects.toThrow();
    await expect(pool.run({ op: 'info' })).rejects.toThrow();
  });
});

describe('WorkerPool warm start and resize', () => {
  let pool: WorkerPool<EchoTask, unknown> | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
  });

  it('warm starts workers before any task; resize bounds how many serve', async () => {
    pool = new WorkerPool<EchoTask, unknown>({ script, size: 1 });
    pool.warm();
    pool.resize(2);
    expect(pool.size).toBe(2);
    const ids = (await Promise.all([pool.run({ op: 'info' }), pool.run({ op: 'info' })])) as Array<{ threadId: number }>;
    expect(new Set(ids.map((i) => i.threadId)).size).toBe(2);
    pool.resize(0);
    expect(pool.size).toBe(1);
    expect(await pool.run({ op: 'sum', values: [1, 2] })).toBe(3);
  });
});

describe('planPool: workers x threads from the job size alone', () => {
  it('few jobs: fewer workers with more threads; many: one single-threaded worker per core', () => {
    expect(planPool(6, 2, true)).toEqual({ workers: 1, threads: 2 });
    expect(planPool(40, 2, true)).toEqual({ workers: 2, threads: 1 });
    expect(planPool(1, 8, true)).toEqual({ workers: 1, threads: 8 });
    expect(planPool(12, 8, true)).toEqual({ workers: 3, threads: 2 });
    expect(planPool(400, 8, true)).toEqual({ workers: 8, threads: 1 });
  });

  it('a group smaller than the pool shares out the cores the rest would leave idle', () => {
    const pool = { workers: 2, threads: 1 };
    expect(groupThreads(pool, 2, 1)).toBe(2); // a search step's lone fresh child gets both cores
    expect(groupThreads(pool, 2, 2)).toBe(1);
    expect(groupThreads(pool, 2, 9)).toBe(1);
    expect(groupThreads({ workers: 4, threads: 2 }, 8, 2)).toBe(4);
    expect(groupThreads({ workers: 1, threads: 2 }, 2, 5)).toBe(2); // never fewer than the plan's
  });

  it('without native threads, one worker per job up to one per core', () => {
    expect(planPool(6, 2, false)).toEqual({ workers: 2, threads: 1 });
    expect(planPool(1, 4, false)).toEqual({ workers: 1, threads: 1 });
    expect(planPool(0, 1, true)).toEqual({ workers: 1, threads: 1 });
  });
});

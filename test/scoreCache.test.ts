/**
 * The score cache names the exact input: another data folder, another engine or another proxy
 * definition never gets a stored score; old and damaged cache files are handled with one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { initEngine } from '../src/engine/backend.js';
import { createProxyContext, fingerprintBatches, type ProxyContext } from '../src/proxies/context.js';
import { InProcessEvaluator, Scorer, type Evaluator } from '../src/proxies/scorer.js';
import { PROXIES } from '../src/proxies/registry.js';
import { ScoreCache } from '../src/storage/scoreCache.js';
import { DataError, InputError } from '../src/util/errors.js';
import { DATA, runCli } from './helpers/cli.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mfnas-cache-'));
const ARCH = '|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|';
let ctx: ProxyContext;

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  ctx = createProxyContext({ space: 'tss', dataset: 'ImageNet16-120', dataDir: DATA, batchSize: 8, batches: 2, dataSeed: 0, initSeed: 0 });
});

/** An evaluator that counts its calls and can claim another engine. */
function counting(engine?: string): Evaluator & { calls: number } {
  const inner = new InProcessEvaluator(ctx);
  const e = {
    calls: 0, concurrency: 1, engine: engine ?? inner.engine, close: async () => {},
    evaluate: async (a: string, p: readonly any[]) => { e.calls++; return { ...(await inner.evaluate(a, p)), engine: e.engine }; },
  };
  return e;
}

describe('score cache keys', () => {
  it('returns stored scores without evaluating again, and computes only what is missing', async () => {
    const cache = new ScoreCache(':memory:');
    const ev = counting();
    const s1 = await new Scorer(ctx, ev, { cache }).score(ARCH, ['intgrad_param']);
    const s2 = await new Scorer(ctx, ev, { cache }).score(ARCH, ['intgrad_param']);
    expect(ev.calls).toBe(1);
    expect(s2.cached).toBe(true);
    expect(s2.scores).toEqual(s1.scores);
    await new Scorer(ctx, ev, { cache }).score(ARCH, ['intgrad_param', 'zico']);
    expect(ev.calls).toBe(2);
    cache.close();
  });

  it('scoreMany submits its evaluations with their count (cached, repeated and in-flight ones excluded)', async () => {
    const cache = new ScoreCache(':memory:');
    const ev = counting();
    const hints: number[] = [];
    const hinted: Evaluator = { ...ev, evaluate: (a, p, hint) => { hints.push(hint?.together ?? -1); return ev.evaluate(a, p); } };
    const scorer = new Scorer(ctx, hinted, { cache });
    await scorer.score(ARCH, ['intgrad_param']);
    const other = '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|';
    const same = '|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|';
    hints.length = 0;
    const r = await scorer.scoreMany([ARCH, other, same, other], ['intgrad_param']);
    // ARCH (and `same`, its own string) come from the cache; `other` twice is one evaluation.
    expect(hints).toEqual([1]);
    expect(r.map((x) => x.arch)).toEqual([ARCH, other, same, other]);
    expect(r[1].scores).toEqual(r[3].scores);
    cache.close();
  });

  it('the data fingerprint changes with the data seed and with one pixel', () => {
    const other = createProxyContext({ space: 'tss', dataset: 'ImageNet16-120', dataDir: DATA, batchSize: 8, batches: 2, dataSeed: 1, initSeed: 0 });
    expect(other.dataFingerprint).not.toBe(ctx.dataFingerprint);
    const batches = ctx.batches.map((b) => ({ ...b, x: b.x.slice() }));
    expect(fingerprintBatches(batches)).toBe(ctx.dataFingerprint);
    batches[1].x[5] = Math.fround(batches[1].x[5] + 1e-3);
    expect(fingerprintBatches(batches)).not.toBe(ctx.dataFingerprint);
  });

  it('another engine never reads a score computed by this one', async () => {
    const cache = new ScoreCache(':memory:');
    const a = counting('engine-a'), b = counting('engine-b');
    await new Scorer(ctx, a, { cache }).score(ARCH, ['intgrad_param']);
    const r = await new Scorer(ctx, b, { cache }).score(ARCH, ['intgrad_param']);
    expect(r.cached).toBe(false);
    expect(b.calls).toBe(1);
    cache.close();
  });

  it('a score of another proxy definition version is not returned', () => {
    const cache = new ScoreCache(':memory:');
    const key = { space: 'tss', dataset: 'cifar10', canonical: 'x', input: 'b1x2-d0-i0-f', engine: 'wasm:1' };
    cache.put(key, { zico: 1.5 }, [{ name: 'zico', version: 1 }], 0.1);
    expect(cache.get(key, [{ name: 'zico', version: 1 }])).toEqual({ zico: 1.5 });
    expect(cache.get(key, [{ name: 'zico', version: PROXIES.zico.version }])).toEqual({});
    expect(PROXIES.zico.version).toBeGreaterThan(1); // ZiCo's definition changed (mean |g|)
    cache.close();
  });

  it('zico with one batch is refused before any work', async () => {
    const one = createProxyContext({ space: 'tss', dataset: 'ImageNet16-120', dataDir: DATA, batchSize: 8, batches: 1, dataSeed: 0, initSeed: 0 });
    const ev = counting();
    await expect(new Scorer(one, ev).score(ARCH, ['zico'])).rejects.toThrow(InputError);
    await expect(new Scorer(one, ev).score(ARCH, ['zico'])).rejects.toThrow(/zico needs at least 2 proxy batches.*--batches 2/);
    expect(ev.calls).toBe(0);
  });
});

describe('cache files', () => {
  it('an mfnas 0.1 cache is migrated: its unverifiable scores are set aside, not returned', () => {
    const file = path.join(tmp(), 'old.sqlite');
    const db = new Database(file);
    db.exec(`CREATE TABLE scores (space TEXT NOT NULL, dataset TEXT NOT NULL, canonical TEXT NOT NULL,
      settings TEXT NOT NULL, proxy TEXT NOT NULL, value REAL, seconds REAL NOT NULL, created TEXT NOT NULL DEFAULT (datetime('now')),
      PRIMARY KEY (space, dataset, canonical, settings, proxy))`);
    db.prepare('INSERT INTO scores (space, dataset, canonical, settings, proxy, value, seconds) VALUES (?,?,?,?,?,?,?)')
      .run('tss', 'cifar10', 'x', 'b128x2-d0-i0', 'intgrad_param', 123, 1);
    db.close();
    const cache = new ScoreCache(file);
    expect(cache.migratedFrom).toBe(1);
    expect(cache.count()).toBe(0);
    cache.close();
    const again = new ScoreCache(file);
    expect(again.migratedFrom).toBeNull();
    again.close();
    const check = new Database(file, { readonly: true });
    expect((check.prepare('SELECT COUNT(*) AS n FROM scores_v1').get() as { n: number }).n).toBe(1);
    check.close();
  });

  it('a damaged cache file is named with the way out', () => {
    const dir = tmp();
    const file = path.join(dir, 'scores.sqlite');
    const cache = new ScoreCache(file);
    const key = { space: 'tss', dataset: 'cifar10', canonical: 'x', input: 'i', engine: 'e' };
    for (let i = 0; i < 300; i++) cache.put({ ...key, canonical: `arch-${i}-${'x'.repeat(200)}` }, { params: i }, [{ name: 'params', version: 1 }], 0);
    cache.close();
    // Overwrite the pages after the header: SQLite still recognises the file but its b-trees are garbage.
    const bytes = readFileSync(file);
    for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 131) & 0xff;
    writeFileSync(file, bytes);
    let error: unknown;
    try { new ScoreCache(file).close(); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(DataError);
    expect(String((error as Error).message)).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged.*delete it`));
    expect((error as Error).message.length).toBeLessThanOrEqual(300);
  });

  it('a file that is no database at all is one clear line from the CLI', async () => {
    const file = path.join(tmp(), 'scores.sqlite');
    writeFileSync(file, 'this is not a database, just text '.repeat(200));
    const r = await runCli(['score', '--space', 'tss', '--dataset', 'ImageNet16-120', '--arch', ARCH, '--batch', '8', '--cache', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/score cache .*scores\.sqlite.*(damaged|cannot open).*--cache/);
  });
});

describe('a data folder with other images', () => {
  it('gets another score from the same cache', async () => {
    // A copy of CIFAR-10 holding only its first 20 training records (plus the class names).
    const dir = tmp();
    mkdirSync(path.join(dir, 'cifar-10-batches-bin'));
    const src = path.join(DATA, 'cifar-10-batches-bin');
    copyFileSync(path.join(src, 'batches.meta.txt'), path.join(dir, 'cifar-10-batches-bin', 'batches.meta.txt'));
    const head = Buffer.alloc(20 * 3073);
    const fd = openSync(path.join(src, 'data_batch_1.bin'), 'r');
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    writeFileSync(path.join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin'), head);
    const cache = path.join(tmp(), 'scores.sqlite');
    const score = async (dataDir: string) => {
      const r = await runCli(['score', '--space', 'tss', '--dataset', 'cifar10', '--arch', ARCH, '--batch', '8', '--batches', '2',
        '--proxies', 'intgrad_param', '--cache', cache, '--data-dir', dataDir, '--json'], { MFNAS_ENGINE: 'wasm' });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).scores.intgrad_param as number;
    };
    const small = await score(dir);
    const real = await score(DATA);
    expect(real).not.toBe(small);
    // Both now come from the cache, each under its own data.
    expect(await score(dir)).toBe(small);
    expect(await score(DATA)).toBe(real);
    const db = new Database(cache, { readonly: true });
    expect((db.prepare('SELECT COUNT(DISTINCT input) AS n FROM scores').get() as { n: number }).n).toBe(2);
    db.close();
  });
});

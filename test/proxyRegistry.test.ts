/**
 * Proxies a library user writes and registers (`defineProxy` + `registerProxy`): known by name
 * to `score`, `search` (proxy, fidelity, ensemble member), `scan` and proxy lists; cached under
 * their name and version; computed on the calling thread when the builtins go to worker threads
 * or the queue, with the very same scores; names that clash refused with one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildNetwork, score, search } from '../src/api/index.js';
import { scan } from '../src/scan/index.js';
import { activeBackend, engineKey, initEngine } from '../src/engine/backend.js';
import { countParams } from '../src/networks/cost.js';
import { createProxyContext, type ProxyContext } from '../src/proxies/context.js';
import { defineProxy } from '../src/proxies/definition.js';
import { CallingThreadForRegistered } from '../src/scoring/chooseEvaluator.js';
import { analyticPass, gradientPass } from '../src/proxies/passes.js';
import {
  PROXIES, PROXY_NAMES, isBuiltinProxy, parseProxyList, parseProxySelection, parseScoreSpec, proxyInfo, registerProxy, scoreComponents,
} from '../src/proxies/registry.js';
import { openScoringSession } from '../src/scoring/session.js';
import { InProcessEvaluator, Scorer, type Evaluator } from '../src/proxies/scorer.js';
import { ScoreCache } from '../src/storage/scoreCache.js';
import { jobProxies } from '../src/queue/jobs.js';
import { InputError } from '../src/util/errors.js';
import { DATA } from './helpers/cli.js';

const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|',
  '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|',
];

/** A function of the network's spec: blocks × parameters. */
const blocksTimesParams = registerProxy(defineProxy({
  name: 'blocks_times_params', version: 1, minBatches: 1,
  paper: 'test', definition: 'number of blocks times the parameter count',
  pass: analyticPass,
  compute: (spec) => spec.blocks.length * countParams(spec),
}));

/** A proxy of the shared gradient pass: log Σ |g| over every weight gradient of the first batch. */
registerProxy(defineProxy({
  name: 'log_grad_abs', version: 1, minBatches: 1,
  paper: 'test', definition: 'log of the sum of |g| over the first batch',
  pass: gradientPass,
  compute: (g) => {
    let sum = 0;
    for (const layer of g.records) for (const v of layer.perBatch[0]) sum += Math.abs(v);
    return Math.log(sum);
  },
}));

/** Registered, then replaced by new versions below: what it returns is its version times 10. */
let probeCalls = 0;
const probe = (version: number) => defineProxy({
  name: 'probe', version, minBatches: 1, paper: 'test', definition: 'the version times 10',
  pass: analyticPass,
  compute: () => { probeCalls++; return version * 10; },
});
registerProxy(probe(1));

const settings = { dataDir: DATA, batch: 8, batches: 2, cache: false as const };
let ctx: ProxyContext;

beforeAll(async () => {
  await initEngine();
  ctx = createProxyContext({ space: 'tss', dataset: 'cifar10', dataDir: DATA, batchSize: 8, batches: 2, dataSeed: 0, initSeed: 0 });
});

describe('registering a proxy', () => {
  it('adds it after the builtins to every listing, to all and to ensembles', () => {
    expect(isBuiltinProxy('blocks_times_params')).toBe(false);
    expect(PROXY_NAMES.slice(-3)).toEqual(['blocks_times_params', 'log_grad_abs', 'probe']);
    expect(PROXIES.blocks_times_params).toBe(blocksTimesParams);
    expect(proxyInfo('blocks_times_params')).toBe(blocksTimesParams);
    expect(parseProxyList('all')).toEqual([...PROXY_NAMES]);
    expect(parseProxyList('zico,blocks_times_params')).toEqual(['zico', 'blocks_times_params']);
    expect(parseScoreSpec('blocks_times_params')).toBe('blocks_times_params');
    expect(scoreComponents(parseScoreSpec('ensemble(az_nas,blocks_times_params)')))
      .toEqual(['az_expressivity', 'az_progressivity', 'az_trainability', 'az_complexity', 'blocks_times_params']);
    expect(parseProxySelection('all').proxies).toContain('log_grad_abs');
  });

  it('refuses, with one line, names that clash or are not identifiers, and definitions it cannot use', () => {
    const base = { version: 1, minBatches: 1, paper: '', definition: '', pass: analyticPass, compute: () => 0 };
    const refused = (def: object, options?: { replace?: boolean }, message?: RegExp) => {
      let error: unknown;
      try { registerProxy(def as never, options); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).not.toContain('\n');
      if (message) expect((error as Error).message).toMatch(message);
    };
    refused({ ...base, name: 'zico' }, undefined, /zico is a builtin mfnas proxy/);
    refused({ ...base, name: 'zico' }, { replace: true }, /builtin/);
    refused({ ...base, name: 'az_nas' }, undefined, /preset/);
    refused({ ...base, name: 'ensemble' }, undefined, /ensemble\(a,b,...\)/);
    refused({ ...base, name: 'all' }, undefined, /every proxy/);
    refused({ ...base, name: 'blocks_times_params' }, undefined, /already registered/);
    for (const name of ['Zico', '1st', 'a-b', 'a b', '', 'constructor', 'x'.repeat(41), 42]) refused({ ...base, name }, undefined, /not allowed/);
    refused({ ...base, name: 'ok_name', version: 0 }, undefined, /version/);
    refused({ ...base, name: 'ok_name', version: 1.5 }, undefined, /version/);
    refused({ ...base, name: 'ok_name', minBatches: 0 }, undefined, /minBatches/);
    refused({ ...base, name: 'ok_name', pass: {} }, undefined, /no pass/);
    refused({ ...base, name: 'ok_name', compute: 1 }, undefined, /compute/);
    expect(PROXY_NAMES).not.toContain('ok_name');
    // Unknown names are refused where they are used.
    expect(() => parseProxyList('no_such_proxy')).toThrow(InputError);
    expect(() => proxyInfo('no_such_proxy')).toThrow(/unknown proxy "no_such_proxy": register it with registerProxy/);
  });
});

describe('scoring with a registered proxy', () => {
  it('score() computes it next to the builtins, the builtins unchanged', async () => {
    const both = await score({ ...settings, arch: ARCHS[0], proxies: ['intgrad_param', 'blocks_times_params', 'log_grad_abs'] });
    const builtin = await score({ ...settings, arch: ARCHS[0], proxies: ['intgrad_param'] });
    const spec = buildNetwork('tss', ARCHS[0], 'cifar10');
    expect(both.scores.blocks_times_params).toBe(spec.blocks.length * countParams(spec));
    expect(Object.is(both.scores.intgrad_param, builtin.scores.intgrad_param)).toBe(true);
    expect(Number.isFinite(both.scores.log_grad_abs)).toBe(true);
    expect(Object.keys(both.scores)).toEqual(['intgrad_param', 'blocks_times_params', 'log_grad_abs']);
  });

  it('a worker pool computes the builtins, the calling thread the registered ones: the same bits as on one thread', async () => {
    const proxies = ['intgrad_param', 'zico', 'params', 'blocks_times_params', 'log_grad_abs'];
    const options = { space: 'tss', dataset: 'cifar10', dataDir: DATA, batch: 8, batches: 2, cache: false } as const;
    const pool = await openScoringSession({ ...options, workers: 2 });
    const single = await openScoringSession({ ...options, workers: 1 });
    try {
      expect(pool.evaluator).toBeInstanceOf(CallingThreadForRegistered);
      const a = await pool.scorer.scoreAll(ARCHS, proxies);
      const b = await single.scorer.scoreAll(ARCHS, proxies);
      for (let i = 0; i < ARCHS.length; i++) {
        expect(Object.keys(a[i].scores)).toEqual(proxies);
        for (const p of proxies) expect(Object.is(a[i].scores[p], b[i].scores[p]), `${ARCHS[i]} ${p}`).toBe(true);
      }
    } finally {
      await pool.close();
      await single.close();
    }
  }, 120_000);

  it('sends only builtins to the pool or queue it wraps, and merges in registry order', async () => {
    const sent: string[][] = [];
    const inner = new InProcessEvaluator(ctx);
    const builtins: Evaluator = {
      concurrency: 3, engine: engineKey(activeBackend()), close: async () => {},
      evaluate: (a, p) => { sent.push([...p]); return inner.evaluate(a, p); },
    };
    const split = new CallingThreadForRegistered(ctx, builtins);
    expect(split.concurrency).toBe(3);
    const r = await split.evaluate(ARCHS[1], ['blocks_times_params', 'params', 'log_grad_abs', 'flops']);
    expect(sent).toEqual([['params', 'flops']]);
    expect(Object.keys(r.scores)).toEqual(['params', 'flops', 'blocks_times_params', 'log_grad_abs']);
    await split.evaluate(ARCHS[1], ['blocks_times_params']);
    expect(sent).toHaveLength(1); // nothing for the pool to do
    await split.evaluate(ARCHS[1], ['zico']);
    expect(sent[1]).toEqual(['zico']);
    // And the queue's jobs never carry one.
    expect(() => jobProxies(['zico', 'blocks_times_params'])).toThrow(/registered proxy blocks_times_params was sent to the queue/);
    expect(jobProxies(['zico'])).toEqual([{ name: 'zico', version: PROXIES.zico.version }]);
  });

  it('is cached under its name and version; a new version is computed afresh, never answered from the old', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mfnas-registry-')), 'scores.sqlite');
    const cache = new ScoreCache(file);
    try {
      const scorer = new Scorer(ctx, new InProcessEvaluator(ctx), { cache });
      probeCalls = 0;
      expect((await scorer.score(ARCHS[1], ['probe'])).scores.probe).toBe(10);
      expect((await scorer.score(ARCHS[1], ['probe'])).cached).toBe(true);
      expect(probeCalls).toBe(1);
      const rows = new Database(file, { readonly: true }).prepare("SELECT proxy, version, value FROM scores WHERE proxy = 'probe'").all();
      expect(rows).toEqual([{ proxy: 'probe', version: 1, value: 10 }]);

      registerProxy(probe(2), { replace: true });
      expect(PROXY_NAMES.filter((n) => n === 'probe')).toHaveLength(1);
      // The same scorer (its memo) and a new one (the cache) both miss version 1's score.
      const again = await scorer.score(ARCHS[1], ['probe']);
      expect(again).toMatchObject({ cached: false, scores: { probe: 20 } });
      expect((await new Scorer(ctx, new InProcessEvaluator(ctx), { cache }).score(ARCHS[1], ['probe'])).scores.probe).toBe(20);
      expect(probeCalls).toBe(2);
      // Back to version 1: its stored score answers.
      registerProxy(probe(1), { replace: true });
      expect(await new Scorer(ctx, new InProcessEvaluator(ctx), { cache }).score(ARCHS[1], ['probe'])).toMatchObject({ cached: true, scores: { probe: 10 } });
      expect(probeCalls).toBe(2);
    } finally {
      cache.close();
    }
  });
});

describe('searching and scanning with a registered proxy', () => {
  it('is a fidelity of MFNAS (on a worker pool), the proxy of REA and an ensemble member', async () => {
    const tiny = { ...settings, dataset: 'cifar10', population: 4, tournament: 2, steps: 1, mutations: 1 };
    const mfnas = await search({ ...tiny, fidelities: ['blocks_times_params', 'intgrad_param'], workers: 2 });
    expect(mfnas.best.scores.blocks_times_params).toBeGreaterThan(0);
    expect(Number.isFinite(mfnas.best.scores.intgrad_param)).toBe(true);
    const rea = await search({ ...tiny, algorithm: 'rea', proxy: 'ensemble(blocks_times_params,log_grad_abs)', workers: 1 });
    expect(Object.keys(rea.best.scores).sort()).toEqual(['blocks_times_params', 'log_grad_abs']);
  }, 120_000);

  it('scan() scores and correlates it', async () => {
    const r = await scan({ ...settings, space: 'tss', range: [0, 4], proxies: 'params,blocks_times_params', workers: 1 });
    expect(r.rows).toHaveLength(4);
    for (const row of r.rows) {
      const blocks = buildNetwork('tss', row.arch, 'cifar10').blocks.length;
      expect(row.scores.blocks_times_params).toBe(blocks * row.scores.params!);
    }
    expect(r.correlation?.blocks_times_params).toBeDefined();
  }, 60_000);
});

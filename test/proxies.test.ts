import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { createProxyContext, type ProxyContext } from '../src/proxies/context.js';
import { InProcessEvaluator, Scorer } from '../src/proxies/scorer.js';
import { evaluateProxies } from '../src/proxies/scoreNetwork.js';
import { gradientParamNames } from '../src/networks/index.js';
import { buildNetworkSpec } from '../src/spaces/network.js';
import { paramBlocks } from '../src/proxies/gradients.js';
import { analyticPass, gradientPass, naswotPass, synflowPass } from '../src/proxies/passes.js';
import { DEFAULT_PROXIES, MFNAS_FIDELITIES, PROXIES, PROXY_LIST, PROXY_NAMES, parseProxyList } from '../src/proxies/registry.js';
import { canonicalTss } from '../src/spaces/tss/canonical.js';
import { parseTssCell } from '../src/spaces/tss/cell.js';

const DATA = path.resolve(__dirname, '../../shared/data');
let ctx: ProxyContext;

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  ctx = createProxyContext({ space: 'tss', dataset: 'ImageNet16-120', dataDir: DATA, batchSize: 8, batches: 2, dataSeed: 0, initSeed: 0 });
});

describe('proxy definitions on real networks', () => {
  it('functionally identical cells get identical scores', async () => {
    // Node 1 = skip(node 0) makes the conv on 2←0 and the conv on 2←1 the same function.
    const a = '|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|';
    const b = '|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|';
    // Dead branch: node 1 feeds only `none` edges, so its conv cannot matter.
    const c = '|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_3x3~2|';
    const d = '|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_3x3~2|';
    expect(canonicalTss(parseTssCell(a))).toBe(canonicalTss(parseTssCell(b)));
    expect(canonicalTss(parseTssCell(c))).toBe(canonicalTss(parseTssCell(d)));
    const scorer = new Scorer(ctx, new InProcessEvaluator(ctx));
    const proxies = parseProxyList('intgrad_param,intgrad_mean,zico');
    const [sa, sb, sc, sd] = await scorer.scoreAll([a, b, c, d], proxies);
    expect(sa.scores).toEqual(sb.scores);
    expect(sc.scores).toEqual(sd.scores);
    expect(sa.scores).not.toEqual(sc.scores);
    expect(scorer.evaluatedCount).toBe(2);
  });

  it('a cell of only none edges gets the 1e-5 fallback', () => {
    const spec = buildNetworkSpec('tss', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', 'ImageNet16-120');
    const s = evaluateProxies(spec, ctx.batches, ['intgrad_param', 'intgrad_mean'], { initSeed: 0 });
    expect(s).toEqual({ intgrad_param: 1e-5, intgrad_mean: 1e-5 });
  });

  it('skipping dead branches changes no score', async () => {
    const { forward } = await import('../src/networks/model.js');
    expect(typeof forward).toBe('function');
    // c has a dead conv on edge 1←0: the full network and the pruned one give identical proxies
    // because the dead conv's gradient is exactly zero and it is dropped.
    const withDead = buildNetworkSpec('tss', '|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|', 'ImageNet16-120');
    const pruned = buildNetworkSpec('tss', '|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|', 'ImageNet16-120');
    const p = parseProxyList('intgrad_param,intgrad_mean,zico,grad_norm,snip');
    expect(evaluateProxies(withDead, ctx.batches, p, { initSeed: 3 })).toEqual(evaluateProxies(pruned, ctx.batches, p, { initSeed: 3 }));
  });

  it('every proxy gives a finite number on a typical cell, reproducibly', () => {
    const spec = buildNetworkSpec('tss', '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|', 'ImageNet16-120');
    const all = parseProxyList('all');
    const s1 = evaluateProxies(spec, ctx.batches, all, { initSeed: 1 });
    const s2 = evaluateProxies(spec, ctx.batches, all, { initSeed: 1 });
    for (const p of all) expect(Number.isFinite(s1[p]), p).toBe(true);
    expect(s2).toEqual(s1);
    const s3 = evaluateProxies(spec, ctx.batches, ['intgrad_param'], { initSeed: 2 });
    expect(s3.intgrad_param).not.toBe(s1.intgrad_param);
  });
});

describe('the proxy registry', () => {
  it('keeps every definition version and batch minimum (they are part of the score-cache key)', () => {
    const pinned = Object.fromEntries(PROXY_LIST.map((d) => [d.name, [d.version, d.minBatches, d.pass.name]]));
    expect(pinned).toEqual({
      intgrad_param: [1, 1, 'gradient'], intgrad_mean: [1, 1, 'gradient'], zico: [2, 2, 'gradient'],
      grad_norm: [1, 1, 'gradient'], snip: [2, 1, 'gradient'], synflow: [1, 1, 'synflow'],
      naswot: [1, 1, 'naswot'], params: [1, 1, 'analytic'], flops: [1, 1, 'analytic'],
      az_expressivity: [1, 1, 'az-nas'], az_progressivity: [1, 1, 'az-nas'], az_trainability: [1, 1, 'az-nas'],
      az_complexity: [1, 1, 'analytic'],
    });
    expect(PROXY_NAMES).toEqual(PROXY_LIST.map((d) => d.name));
    for (const name of PROXY_NAMES) expect(PROXIES[name].name).toBe(name);
    expect(DEFAULT_PROXIES).toEqual(MFNAS_FIDELITIES);
    expect(MFNAS_FIDELITIES).toEqual(['intgrad_param', 'intgrad_mean']);
  });
});

describe('evaluateProxies', () => {
  afterEach(() => { vi.restoreAllMocks(); });
  const typical = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

  it('runs each needed pass once, whatever the number of proxies reading it', () => {
    const spec = buildNetworkSpec('tss', typical, 'ImageNet16-120');
    const runs = [gradientPass, synflowPass, naswotPass, analyticPass].map((p) => vi.spyOn(p, 'run'));
    evaluateProxies(spec, ctx.batches, parseProxyList('all'), { initSeed: 0 });
    expect(runs.map((r) => r.mock.calls.length)).toEqual([1, 1, 1, 1]);
    vi.clearAllMocks();
    evaluateProxies(spec, ctx.batches, ['snip', 'params'], { initSeed: 0 });
    expect(runs.map((r) => r.mock.calls.length)).toEqual([1, 0, 0, 1]);
  });

  it('leaves no tensor behind, and analytic proxies alone initialise no weights', () => {
    const spec = buildNetworkSpec('sss', '8:16:24:32:40', 'ImageNet16-120');
    // The first run may leave tfjs's own one-time constants; a second must leave nothing.
    evaluateProxies(spec, ctx.batches, parseProxyList('all'), { initSeed: 0 });
    const before = tf.memory().numTensors;
    evaluateProxies(spec, ctx.batches, parseProxyList('all'), { initSeed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    const tensor = vi.spyOn(tf.engine(), 'makeTensor');
    expect(evaluateProxies(spec, ctx.batches, ['flops', 'params'], { initSeed: 0 })).toEqual({
      params: expect.any(Number), flops: expect.any(Number),
    });
    expect(tensor).not.toHaveBeenCalled();
  });

  it('reads block membership from the spec: every cell-list weight in its block, stem and classifier in none', () => {
    for (const [space, arch] of [['tss', typical], ['sss', '8:16:24:32:40']] as const) {
      const spec = buildNetworkSpec(space, arch, 'cifar10');
      const blocks = paramBlocks(spec);
      const names = gradientParamNames(spec);
      const inBlocks = names.filter((n) => blocks.has(n));
      expect(names.filter((n) => !blocks.has(n))).toEqual([`${spec.stem.conv.name}.weight`, `${spec.classifier.name}.weight`]);
      for (const n of inBlocks) expect(n.startsWith(`${blocks.get(n)}.`), n).toBe(true);
      expect(new Set(inBlocks.map((n) => blocks.get(n)))).toEqual(new Set(spec.blocks.map((b) => b.name)));
    }
  });
});

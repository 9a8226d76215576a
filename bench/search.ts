/**
 * npm run bench:search — the MFNAS search end to end with default parameters: TSS on CIFAR-10
 * with 3 seeds, then one run each on the CIFAR-100 sample, ImageNet16-120 (its 106 images,
 * 2 x 53) and SSS on CIFAR-10. Prints each run's answer, benchmark accuracy, distinct
 * architectures scored, proxy time and wall time.
 *
 * Scores are cached (default .mfnas-cache/bench.sqlite): an interrupted benchmark resumes, and
 * runs that meet an already-scored architecture reuse it (the "proxy s" column shows the
 * compute actually spent; "cold wall s" estimates the run without any cache).
 * Flags: --only tss-cifar10,tss-cifar100,tss-imagenet,sss-cifar10 --workers W --cache FILE
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { openBenchmark } from '../src/natsbench/tables.js';
import { requireDataDir } from '../src/datasets/dataDir.js';
import type { DatasetName } from '../src/datasets/registry.js';
import { createProxyContext } from '../src/proxies/context.js';
import { createEvaluator, defaultWorkers } from '../src/proxies/evaluators.js';
import { Scorer } from '../src/proxies/scorer.js';
import { Progress } from '../src/util/progress.js';
import { runSearch, SEARCH_DEFAULTS } from '../src/search/run.js';
import { ScoreCache } from '../src/storage/scoreCache.js';
import type { SpaceName } from '../src/spaces/types.js';
import { printTable } from './common.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'tss-cifar10,tss-cifar100,tss-imagenet,sss-cifar10' },
    workers: { type: 'string' },
    cache: { type: 'string', default: '.mfnas-cache/bench.sqlite' },
  },
});
interface Case { key: string; space: SpaceName; dataset: DatasetName; seeds: number[]; batchSize: number }
const CASES: Case[] = [
  { key: 'tss-cifar10', space: 'tss', dataset: 'cifar10', seeds: [0, 1, 2], batchSize: 128 },
  { key: 'tss-cifar100', space: 'tss', dataset: 'cifar100', seeds: [0], batchSize: 128 },
  { key: 'tss-imagenet', space: 'tss', dataset: 'ImageNet16-120', seeds: [0], batchSize: 53 },
  { key: 'sss-cifar10', space: 'sss', dataset: 'cifar10', seeds: [0], batchSize: 128 },
];
const wanted = new Set(values.only!.split(','));
const workers = values.workers ? Number(values.workers) : defaultWorkers();
const dataDir = requireDataDir();
const benchmark = openBenchmark(dataDir);
const cache = new ScoreCache(path.resolve(values.cache!));

console.log(`bench:search — MFNAS, N=${SEARCH_DEFAULTS.population} n=${SEARCH_DEFAULTS.tournament} T=${SEARCH_DEFAULTS.steps} P=${SEARCH_DEFAULTS.mutations}, ${workers} worker(s)`);
const rows: Array<Array<string | number>> = [];
for (const c of CASES.filter((c) => wanted.has(c.key))) {
  const ctx = createProxyContext({ space: c.space, dataset: c.dataset, dataDir, batchSize: c.batchSize, batches: 2, dataSeed: 0, initSeed: 0 });
  const evaluator = await createEvaluator(ctx, { workers });
  const scorer = new Scorer(ctx, evaluator, { cache });
  for (const seed of c.seeds) {
    const progress = new Progress(`  ${c.key} seed ${seed}`);
    const before = scorer.evaluatedCount;
    const { result } = await runSearch({
      scorer, benchmark, options: { ...SEARCH_DEFAULTS, seed, runs: 1, limits: {} },
      hooks: { onStep: (_s, rec, acc) => progress.note(`step ${rec.step}, ${rec.evaluated} scored, answer ${acc?.toFixed(2)}%`) },
    });
    progress.finish();
    const run = result.runs[0];
    const computed = scorer.evaluatedCount - before;
    const perArch = computed > 0 ? run.proxySeconds / computed : NaN;
    rows.push([c.key, seed, run.best.index ?? '-', run.best.arch, run.best.accuracy?.toFixed(2) ?? '-', run.evaluated, computed,
      run.proxySeconds.toFixed(0), run.seconds.toFixed(0), Number.isFinite(perArch) ? (run.evaluated * perArch / workers).toFixed(0) : '-']);
    console.log(`  ${c.key} seed ${seed}: index ${run.best.index} (${run.best.accuracy?.toFixed(2)}%), ${run.evaluated} scored, ${run.seconds.toFixed(0)} s`);
  }
  await evaluator.close();
}
printTable(['case', 'seed', 'index', 'answer', 'test acc %', 'scored', 'computed', 'proxy s', 'wall s', 'cold wall s (est.)'], rows);
cache.close();

/**
 * npm run bench:correlate — proxy quality against NATS-Bench: N TSS cells drawn with a fixed
 * seed, scored with every proxy on CIFAR-10 (2 x 128), the CIFAR-100 sample (2 x 128) and the
 * ImageNet16-120 images of its classes (2 x 53); Kendall τ-b and Spearman ρ per proxy against
 * the 200-epoch test accuracy, and proxy seconds per architecture.
 *
 * Scores go to a cache (default .mfnas-cache/bench.sqlite), so an interrupted run resumes.
 * Then the MFNAS proxy's time per architecture on the first --compare cells, mfnas (native and
 * wasm engines) against PyTorch 1.13, at --threads threads, side by side.
 * Flags: --n 200 --seed 0 --datasets cifar10,cifar100,ImageNet16-120 --proxies all
 *        --workers <cores> --cache FILE --out DIR (CSV per dataset) --compare 10 --threads 2
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { openNatsBenchTables } from '../../src/natsbench/tables.js';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { parseDatasetName, type DatasetName } from '../../src/datasets/registry.js';
import { createProxyContext } from '../../src/proxies/context.js';
import { createEvaluator } from '../../src/scoring/chooseEvaluator.js';
import { defaultWorkers } from '../../src/proxies/poolEvaluator.js';
import { parseProxyList } from '../../src/proxies/registry.js';
import { Scorer } from '../../src/proxies/scorer.js';
import { correlate, sampleIndices, writeCorrelationCsv } from '../../src/study/correlate.js';
import { Progress } from '../../src/util/progress.js';
import { ScoreCache } from '../../src/storage/scoreCache.js';
import { printTable } from '../common.js';
import { compareProxyTime } from '../timing/proxyTime.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    seed: { type: 'string', default: '0' },
    datasets: { type: 'string', default: 'cifar10,cifar100,ImageNet16-120' },
    proxies: { type: 'string', default: 'all' },
    workers: { type: 'string' },
    cache: { type: 'string', default: '.mfnas-cache/bench.sqlite' },
    out: { type: 'string', default: '.mfnas-cache/bench-correlate' },
    compare: { type: 'string', default: '10' },
    threads: { type: 'string', default: '2' },
  },
});
const n = Number(values.n), seed = Number(values.seed);
const proxies = parseProxyList(values.proxies!);
const workers = values.workers ? Number(values.workers) : defaultWorkers();
const dataDir = requireDataDir();
const benchmark = openNatsBenchTables(dataDir);
const cache = new ScoreCache(path.resolve(values.cache!));
mkdirSync(values.out!, { recursive: true });
const indices = sampleIndices('tss', n, seed, benchmark.tss!.size);
/** Batches that fit each dataset's sample (ImageNet16-120 has 106 images of its classes). */
const LAYOUT: Record<DatasetName, { batchSize: number; batches: number }> = {
  cifar10: { batchSize: 128, batches: 2 }, cifar100: { batchSize: 128, batches: 2 }, 'ImageNet16-120': { batchSize: 53, batches: 2 },
};

console.log(`bench:correlate — ${n} TSS cells (seed ${seed}), ${workers} worker(s), proxies: ${proxies.join(', ')}`);
for (const dataset of values.datasets!.split(',').map(parseDatasetName)) {
  const layout = LAYOUT[dataset];
  const ctx = createProxyContext({ space: 'tss', dataset, dataDir, ...layout, dataSeed: 0, initSeed: 0 });
  const evaluator = await createEvaluator(ctx, { workers });
  const progress = new Progress(`  ${dataset}`);
  const scorer = new Scorer(ctx, evaluator, { cache, onResult: (_r, done, total) => progress.update(done, total) });
  const r = await correlate({ scorer, benchmark, indices, proxies });
  await evaluator.close();
  writeCorrelationCsv(path.join(values.out!, `tss-${dataset}.csv`), r.rows, proxies);
  console.log(`\n${dataset} (${layout.batches} x ${layout.batchSize} images): ` +
    `${r.n} cells, ${r.evaluated} evaluated now; ${r.secondsPerArchitecture !== null ? r.secondsPerArchitecture.toFixed(2) + ' s proxy time per architecture (per worker)' : 'all from cache'}; wall ${r.seconds.toFixed(0)} s`);
  printTable(['proxy', 'Kendall τ', 'Spearman ρ'], proxies.map((p) => [p, r.proxies[p]!.kendall.toFixed(3), r.proxies[p]!.spearman.toFixed(3)]));
}
cache.close();

// Engines side by side on the first cells of the sample (proxy only, no cache).
const compare = Number(values.compare);
if (compare > 0) {
  const ctx = createProxyContext({ space: 'tss', dataset: 'cifar10', dataDir, batchSize: 128, batches: 2, dataSeed: 0, initSeed: 0 });
  await compareProxyTime(indices.slice(0, compare).map((i) => benchmark.tss!.archString(i)), ctx.batches, Number(values.threads));
}

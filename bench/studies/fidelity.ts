/**
 * npm run bench:fidelity — how cheap can the intgrad proxy get before it ranks worse? Kendall τ
 * of intgrad_param (and intgrad_mean, same pass) against the CIFAR-10 200-epoch test accuracy on
 * a fixed sample of TSS cells, at several proxy-batch layouts and input resolutions, with the
 * time per cell of each. Writes the markdown table behind docs/fidelity.md.
 *
 * Each setting is scored cold (no cache, unless --cache) by the default worker pool, so the
 * "wall s / cell" column is what a search pays per distinct cell on this machine; "agreement"
 * is τ between the setting's intgrad_param and that of 2×128 at 32 px (the paper's setting).
 *
 * Flags: --n 300 --seed 0 --settings 2x128,2x64,2x32,4x32,2x128@16,2x64@16 --workers W
 *        --cache FILE --md FILE (default .mfnas-cache/fidelity.md)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { openNatsBenchTables } from '../../src/natsbench/tables.js';
import { createProxyContext } from '../../src/proxies/context.js';
import { createEvaluator } from '../../src/scoring/chooseEvaluator.js';
import { defaultWorkers } from '../../src/proxies/poolEvaluator.js';
import { Scorer } from '../../src/proxies/scorer.js';
import { correlate, sampleIndices, type CorrelationResult } from '../../src/study/correlate.js';
import { kendallTau } from '../../src/stats/correlation.js';
import { ScoreCache } from '../../src/storage/scoreCache.js';
import { Progress } from '../../src/util/progress.js';
import { printTable } from '../common.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    seed: { type: 'string', default: '0' },
    settings: { type: 'string', default: '2x128,2x64,2x32,4x32,2x128@16,2x64@16' },
    workers: { type: 'string' },
    cache: { type: 'string' },
    md: { type: 'string', default: '.mfnas-cache/fidelity.md' },
  },
});

interface Setting { label: string; batches: number; batchSize: number; resolution: number }
function parseSetting(text: string): Setting {
  const m = /^(\d+)x(\d+)(?:@(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`--settings: ${text} is not BATCHESxSIZE[@PIXELS], e.g. 2x64@16`);
  return { label: `${m[1]}×${m[2]}${m[3] ? ` @ ${m[3]} px` : ''}`, batches: Number(m[1]), batchSize: Number(m[2]), resolution: m[3] ? Number(m[3]) : 32 };
}

const settings = values.settings!.split(',').map(parseSetting);
const n = Number(values.n), seed = Number(values.seed);
const workers = values.workers ? Number(values.workers) : defaultWorkers();
const dataDir = requireDataDir();
const benchmark = openNatsBenchTables(dataDir);
const indices = sampleIndices('tss', n, seed, benchmark.tss!.size);
const cache = values.cache ? new ScoreCache(path.resolve(values.cache)) : undefined;

console.log(`bench:fidelity — intgrad on ${n} TSS cells (sample seed ${seed}), CIFAR-10, ${workers} worker(s)${cache ? ', cached' : ', no cache'}`);
const results: Array<{ setting: Setting; r: CorrelationResult }> = [];
for (const setting of settings) {
  const ctx = createProxyContext({
    space: 'tss', dataset: 'cifar10', dataDir, batches: setting.batches, batchSize: setting.batchSize, dataSeed: 0, initSeed: 0,
    ...(setting.resolution !== 32 ? { resolution: setting.resolution } : {}),
  });
  const evaluator = await createEvaluator(ctx, { workers });
  const progress = new Progress(`  ${setting.label}`);
  const scorer = new Scorer(ctx, evaluator, { ...(cache ? { cache } : {}), onResult: (_r, done, total) => progress.update(done, total) });
  const r = await correlate({ scorer, benchmark, indices, proxies: ['intgrad_param', 'intgrad_mean'] });
  progress.finish();
  await evaluator.close();
  results.push({ setting, r });
  console.log(`  ${setting.label}: τ intgrad_param ${r.proxies.intgrad_param!.kendall.toFixed(3)}, ${r.evaluated} cells computed, ${r.seconds.toFixed(0)} s`);
}
cache?.close();

const reference = results.find((x) => x.setting.batches === 2 && x.setting.batchSize === 128 && x.setting.resolution === 32) ?? results[0];
const scoresOf = (r: CorrelationResult) => r.rows.map((row) => row.scores.intgrad_param ?? -Infinity);
const refTau = reference.r.proxies.intgrad_param!.kendall;
const header = ['setting', 'images / cell', 'τ intgrad_param', 'Δτ vs 2×128', 'τ intgrad_mean', 'agreement with 2×128', 'cells computed', 'wall s / cell', 'proxy s / cell / worker'];
const rows = results.map(({ setting, r }) => {
  const tau = r.proxies.intgrad_param!.kendall;
  return [
    setting.label, `${setting.batches * setting.batchSize} at ${setting.resolution}²`, tau.toFixed(3), (tau - refTau >= 0 ? '+' : '') + (tau - refTau).toFixed(3),
    r.proxies.intgrad_mean!.kendall.toFixed(3), kendallTau(scoresOf(r), scoresOf(reference.r)).toFixed(3), r.evaluated,
    r.evaluated > 0 ? (r.seconds / r.evaluated).toFixed(3) : '-', r.secondsPerArchitecture?.toFixed(3) ?? '-',
  ];
});
console.log(`\nintgrad on ${n} TSS cells (seed ${seed}), CIFAR-10 test accuracy; ${workers} worker(s)\n`);
printTable(header, rows);
const md = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
mkdirSync(path.dirname(path.resolve(values.md!)), { recursive: true });
writeFileSync(values.md!, `${md}\n`);
console.log(`\nmarkdown table: ${values.md}`);

/**
 * npx tsx bench/studies/azNas.ts — AZ-NAS (Lee & Ham, CVPR 2024) against NATS-Bench: N random TSS
 * cells (the sample `mfnas correlate --sample N --seed S` draws), each scored by the AZ-NAS
 * pass on its class representative as mfnas scores it; Kendall τ-b and Spearman ρ of every
 * component and of the log-rank aggregate `az_nas` over the sample against the 200-epoch test
 * accuracy, and seconds per evaluated network. ../shared/docs/AZ-NAS.md §9 reports τ 0.744 /
 * ρ 0.913 for an independent re-implementation on 300 random cells (CIFAR-10).
 *
 * Also the aggregate with the complexity the authors use: the NATS-Bench FLOPs of the cell
 * itself (dead convolutions counted), not of its class representative.
 *
 * Flags: --n 300 --seed 0 --dataset cifar10 --proxy-seed 0 --out FILE.csv
 * Run it niced and single-threaded on a shared machine: MFNAS_THREADS=1 nice -n 10 npx tsx bench/studies/azNas.ts
 */
import { parseArgs } from 'node:util';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { parseDatasetName } from '../../src/datasets/registry.js';
import { initEngine } from '../../src/engine/backend.js';
import { openNatsBenchTables } from '../../src/natsbench/tables.js';
import { countFlops } from '../../src/networks/cost.js';
import { azNasAggregate } from '../../src/proxies/aggregate.js';
import { azNasScores, type AzProduct } from '../../src/proxies/azNas.js';
import { sampleIndices } from '../../src/study/correlate.js';
import { spaceByName } from '../../src/spaces/index.js';
import { kendallTau, spearman } from '../../src/stats/correlation.js';
import { writeFileAtomic } from '../../src/util/atomicWrite.js';
import { toCsv } from '../../src/util/csv.js';
import { printTable } from '../common.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    seed: { type: 'string', default: '0' },
    dataset: { type: 'string', default: 'cifar10' },
    'proxy-seed': { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const n = Number(values.n), seed = Number(values.seed), proxySeed = Number(values['proxy-seed']);
const dataset = parseDatasetName(values.dataset!);
const benchmark = openNatsBenchTables(requireDataDir());
const tss = spaceByName('tss').withBenchmark(benchmark);
const table = tss.table(benchmark)!;
const engine = await initEngine({});
const indices = sampleIndices('tss', n, seed, tss.size);
console.log(`bench az-nas — ${n} TSS cells (sample seed ${seed}), ${dataset}, proxy seed ${proxySeed}, engine ${engine.backend}`);

const byClass = new Map<string, AzProduct>();
let seconds = 0, evaluated = 0;
const rows = indices.map((index, i) => {
  const cell = tss.fromIndex(index);
  const key = tss.canonical(cell);
  let az = byClass.get(key);
  if (!az) {
    const t0 = performance.now();
    az = azNasScores(tss.networkSpec(tss.representative(cell), dataset), proxySeed);
    seconds += (performance.now() - t0) / 1000;
    evaluated++;
    byClass.set(key, az);
  }
  if ((i + 1) % 25 === 0) process.stderr.write(`  ${i + 1}/${n}, ${(seconds / evaluated).toFixed(2)} s per network\n`);
  return { index, arch: tss.format(cell), accuracy: table.testAccuracy(dataset, index)!, az, ownFlops: countFlops(tss.networkSpec(cell, dataset)) };
});

const acc = rows.map((r) => r.accuracy);
const components = rows.map((r) => ({ E: r.az.expressivity, P: r.az.progressivity, T: r.az.trainability, C: r.az.complexity }));
const aggregate = azNasAggregate(components);
const aggregateOwn = azNasAggregate(rows.map((r, i) => ({ ...components[i], C: r.ownFlops })));
const columns: Array<[string, number[]]> = [
  ['az_expressivity', components.map((c) => c.E)],
  ['az_progressivity', components.map((c) => c.P)],
  ['az_trainability', components.map((c) => c.T)],
  ['az_complexity (representative FLOPs)', components.map((c) => c.C)],
  ['FLOPs of the cell itself', rows.map((r) => r.ownFlops)],
  ['az_nas', aggregate],
  ['az_nas with the cell\'s own FLOPs', aggregateOwn],
];
printTable(['score', 'Kendall τ', 'Spearman ρ'], columns.map(([name, s]) => [name, kendallTau(s, acc).toFixed(3), spearman(s, acc).toFixed(3)]));
console.log(`${evaluated} networks evaluated (${n - evaluated} shared a class), ${(seconds / evaluated).toFixed(2)} s per network`);
if (values.out) {
  writeFileAtomic(values.out, toCsv([
    ['index', 'arch', 'accuracy', 'az_expressivity', 'az_progressivity', 'az_trainability', 'az_complexity', 'own_flops', 'az_nas'],
    ...rows.map((r, i) => [r.index, r.arch, r.accuracy, r.az.expressivity, r.az.progressivity, r.az.trainability, r.az.complexity, r.ownFlops, aggregate[i]]),
  ], { quoteAlso: /\|/ }));
  console.log(`rows written to ${values.out}`);
}

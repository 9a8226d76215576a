/**
 * npm run bench:startup — where a small job's time goes before and around its first score: the
 * phases `mfnas correlate` / `mfnas search` go through, timed one after another in one fresh
 * process (compiled dist/ modules, as the CLI runs them), TSS / CIFAR-10, 2 × 128 images.
 *
 *   node start        a bare `node -e 0`, for scale (the measured process also loads tsx for
 *                     this script, which the CLI does not)
 *   import            loading mfnas's modules (tfjs, the engine binding, sqlite, commander …)
 *   tables            the NATS-Bench TSS table (CSV) the CLI opens for indices and accuracies
 *   data              reading CIFAR-10's training file and drawing the proxy batches
 *   pool start        starting the worker pool (workers start their engines in the background)
 *   first cell        the first evaluation: waits for a worker's engine, then scores one cell
 *   next cells        the next `--cells` cells (steady state; pool split by planPool)
 *   close             stopping the workers
 *
 * Flags: --cells 5 --runs 3 (median of fresh processes)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from '../common.js';

const { values } = parseArgs({ options: { cells: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' }, child: { type: 'boolean', default: false } } });
const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dist = (p: string) => path.join(root, 'dist', p);

if (values.child) {
  // In the measured process: time each phase in order.
  const t: Array<[string, number]> = [];
  let last = performance.now();
  const mark = (name: string) => { const now = performance.now(); t.push([name, now - last]); last = now; };
  const [{ requireDataDir }, { openNatsBenchTables }, { createProxyContext }, { createEvaluator }, { Scorer }, { sampleIndices }] = await Promise.all([
    import(dist('datasets/dataDir.js')), import(dist('natsbench/tables.js')), import(dist('proxies/context.js')),
    import(dist('scoring/chooseEvaluator.js')), import(dist('proxies/scorer.js')), import(dist('study/correlate.js')),
    import(dist('cli/program.js')),
  ]);
  mark('import');
  const dataDir = requireDataDir();
  const tss = openNatsBenchTables(dataDir).tss!;
  mark('tables');
  const ctx = createProxyContext({ space: 'tss', dataset: 'cifar10', dataDir, batchSize: 128, batches: 2, dataSeed: 0, initSeed: 0 });
  mark('data');
  const cells = Number(values.cells);
  const indices: number[] = sampleIndices('tss', cells + 1, 7, tss.size);
  const evaluator = await createEvaluator(ctx, {});
  evaluator.plan?.(cells + 1);
  mark('pool start');
  const scorer = new Scorer(ctx, evaluator, {});
  await scorer.score(tss.archString(indices[0]), ['intgrad_param', 'intgrad_mean']);
  mark('first cell');
  await scorer.scoreAll(indices.slice(1).map((i: number) => tss.archString(i)), ['intgrad_param', 'intgrad_mean']);
  mark(`next ${cells} cells`);
  await evaluator.close();
  mark('close');
  process.stdout.write(JSON.stringify(t) + '\n');
  process.exit(0);
}

if (!existsSync(dist('cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
const runs = Number(values.runs);
const phases = new Map<string, number[]>();
const totals: number[] = [];
const nodeStart: number[] = [];
for (let r = 0; r < runs; r++) {
  // Bare node start-up (no modules), for the first row.
  const n0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  nodeStart.push(performance.now() - n0);
  const t0 = performance.now();
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--cells', values.cells!], { encoding: 'utf8' });
  totals.push(performance.now() - t0);
  for (const [name, ms] of JSON.parse(out.trim().split('\n').pop()!) as Array<[string, number]>) {
    phases.set(name, [...(phases.get(name) ?? []), ms]);
  }
}
const rows: Array<Array<string>> = [['node start (bare)', (median(nodeStart) / 1000).toFixed(2)]];
for (const [name, ms] of phases) rows.push([name, (median(ms) / 1000).toFixed(2)]);
rows.push(['whole process', (median(totals) / 1000).toFixed(2)]);
console.log(`start-up breakdown, TSS / CIFAR-10, 2 × 128 images, median of ${runs} fresh processes (dist/ modules)\n`);
printTable(['phase', 'seconds'], rows);

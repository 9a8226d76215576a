/**
 * npx tsx bench/studies/ranking.ts — the ranking study of docs/ranking.md, from files the CLI wrote:
 *
 *   analyse  --csv runs/ranking/tss-cifar10-500.csv [--csv ...] [--max-size 4]
 *            (or --scan part.csv[.gz] [--scan ...] --space macro --dataset cifar10: the parts of a
 *            whole-space `mfnas scan --out`, read as one study of one row per class, accuracies
 *            from the space's table)
 *            Kendall τ-b / Spearman ρ of every proxy column of `mfnas correlate --out` CSVs, of the
 *            presets (az_nas), of the ensembles named in ENSEMBLES, and of every log-rank ensemble
 *            of 2..max-size proxies (offline: no rescoring). The best ensembles are chosen on one
 *            half of the sample (even rows) and reported on the other half (odd rows) and on
 *            the whole, so that picking the best of ~1,500 subsets does not flatter the winner.
 *   time     --space tss --dataset cifar10 --n 10 [--batch 128]
 *            seconds per architecture of each proxy alone (no cache, one worker), on cells drawn
 *            with seed 1: a proxy's own pass, the cost of adding it to a study or a search.
 *   searches --run DIR [--run DIR ...]
 *            mean ± std of the answer's accuracy, distinct architectures scored and wall time
 *            over the seeds of `mfnas search --out DIR` result.json files.
 *   answers  --run DIR [--run DIR ...]
 *            for MFNAS runs: the history's top 3 by the combined rank and the answer each
 *            fidelity would pick as fidelity 1 (the other order of the same fidelities).
 *
 * Output is Markdown (tables ready for docs/ranking.md). Run it niced on a shared machine.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { parseDatasetName } from '../../src/datasets/registry.js';
import { openNatsBenchTables } from '../../src/natsbench/tables.js';
import { logRankAggregate } from '../../src/proxies/aggregate.js';
import { openScoringSession } from '../../src/scoring/session.js';
import { isProxyName, parseScoreSpec, PROXY_NAMES, scoreComponents, scoreName, scoreValues, SET_PROXY_LIST, type ProxyName, type ScoreSpec } from '../../src/proxies/registry.js';
import { archAt, sampleIndices } from '../../src/study/correlate.js';
import type { Scores } from '../../src/search/problem.js';
import { combinedRanks } from '../../src/search/rank.js';
import { parseSpaceName, spaceByName } from '../../src/spaces/index.js';
import { kendallTau, spearman } from '../../src/stats/correlation.js';

/** Ensembles always reported (the and AZ-NAS's fused one), besides the searched ones. */
const ENSEMBLES = [
  'ensemble(intgrad_param,naswot,synflow,params)',
  'ensemble(intgrad_param,intgrad_mean)',
  'ensemble(intgrad_param,synflow)',
  'ensemble(az_nas,synflow)',
  'ensemble(az_nas,intgrad_param)',
  'ensemble(synflow,naswot)',
];

/** Fidelity pairs whose MFNAS combined rank (normalised sum, src/search/rank.ts) over the whole sample is reported. */
const FIDELITY_PAIRS = [
  ['intgrad_param', 'intgrad_mean'],
  ['synflow', 'az_expressivity'],
  ['synflow', 'ensemble(synflow,params,az_expressivity)'],
  ['intgrad_param', 'synflow'],
  ['synflow', 'intgrad_param'],
  ['intgrad_param', 'az_nas'],
  ['intgrad_param', 'az_nas_intgrad'],
  ['az_nas_intgrad', 'intgrad_param'],
  ['intgrad_param', 'ensemble(intgrad_param,synflow)'],
  ['intgrad_param', 'ensemble(az_nas,synflow)'],
];

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    csv: { type: 'string', multiple: true, default: [] },
    scan: { type: 'string', multiple: true, default: [] },
    run: { type: 'string', multiple: true, default: [] },
    'max-size': { type: 'string', default: '4' },
    top: { type: 'string', default: '8' },
    space: { type: 'string', default: 'tss' },
    dataset: { type: 'string', default: 'cifar10' },
    n: { type: 'string', default: '10' },
    batch: { type: 'string', default: '128' },
  },
});

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
function markdown(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface Study { file: string; accuracy: number[]; columns: Map<ProxyName, number[]> }

// Empty or non-numeric cells (a proxy not scored) read as NaN: the bottom, as in correlate.
const num = (t: string | undefined) => (t === undefined || t === '' ? NaN : Number(t));

function studyOf(file: string, rows: ReadonlyArray<Record<string, string>>, accuracy: number[]): Study {
  const columns = new Map<ProxyName, number[]>();
  for (const name of Object.keys(rows[0] ?? {})) if (isProxyName(name)) columns.set(name, rows.map((r) => num(r[name])));
  return { file, accuracy, columns };
}

function readCsvFile(file: string): Array<Record<string, string>> {
  const bytes = readFileSync(file);
  return parseCsv(file.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8'), { columns: true });
}

function readStudy(file: string): Study {
  const rows = readCsvFile(file);
  return studyOf(file, rows, rows.map((r) => Number(r.accuracy)));
}

/** The parts of a whole-space scan as one study: one row per class (its first index), accuracy from the table. */
function readScanStudy(files: readonly string[]): Study {
  const space = spaceByName(parseSpaceName(values.space!));
  const dataset = parseDatasetName(values.dataset!);
  const tables = openNatsBenchTables(requireDataDir({}));
  const bound = space.withBenchmark(tables);
  const table = bound.table(tables);
  if (!table) throw new Error(`no benchmark table for ${values.space} in the data folder`);
  const byClass = new Map<string, Record<string, string>>();
  for (const file of files) {
    for (const row of readCsvFile(file)) {
      const canonical = bound.canonical(bound.fromIndex(Number(row.index)));
      if (!byClass.has(canonical)) byClass.set(canonical, row);
    }
  }
  const rows = [...byClass.values()].sort((a, b) => Number(a.index) - Number(b.index));
  const accuracy = rows.map((r) => table.testAccuracy(dataset, Number(r.index)) ?? NaN);
  return studyOf(`${values.space}-${values.dataset} scan (${files.length} part${files.length === 1 ? '' : 's'})`, rows, accuracy);
}

/** A score's values over `rows` (indices into the study): a column, or a log-rank aggregate over exactly those rows. */
function valuesOf(study: Study, members: readonly ProxyName[], rows: readonly number[]): number[] {
  const cols = members.map((p) => { const c = study.columns.get(p); if (!c) throw new Error(`${study.file} has no ${p} column`); return rows.map((i) => c[i]); });
  return members.length === 1 ? cols[0].map((v) => (Number.isNaN(v) ? -Infinity : v)) : logRankAggregate(cols);
}

function corr(study: Study, members: readonly ProxyName[], rows: readonly number[]): { tau: number; rho: number } {
  const v = valuesOf(study, members, rows);
  const acc = rows.map((i) => study.accuracy[i]);
  return { tau: kendallTau(v, acc), rho: spearman(v, acc) };
}

function* subsets<T>(items: readonly T[], k: number, start = 0, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === k) { yield [...prefix]; return; }
  for (let i = start; i < items.length; i++) { prefix.push(items[i]); yield* subsets(items, k, i + 1, prefix); prefix.pop(); }
}

function analyse(studies: ReadonlyArray<() => Study>): void {
  const maxSize = Number(values['max-size']), top = Number(values.top);
  for (const read of studies) {
    const study = read();
    const file = study.file;
    const n = study.accuracy.length;
    const all = study.accuracy.map((_, i) => i);
    const even = all.filter((i) => i % 2 === 0), odd = all.filter((i) => i % 2 === 1);
    console.log(`\n## ${path.basename(file)} — ${n} architectures\n`);
    const named: Array<[string, ProxyName[]]> = [
      ...[...study.columns.keys()].map((p): [string, ProxyName[]] => [p, [p]]),
      ...[...SET_PROXY_LIST.map((s) => s.name), ...ENSEMBLES].map((t): [string, ProxyName[]] => [scoreName(parseScoreSpec(t)), [...scoreComponents(parseScoreSpec(t))]])
        .filter(([, members]) => members.every((m) => study.columns.has(m))),
    ];
    const rows = named.map(([name, members]) => ({ name, ...corr(study, members, all), a: corr(study, members, even).tau, b: corr(study, members, odd).tau }))
      .sort((a, b) => b.tau - a.tau);
    console.log(markdown(['score', 'Kendall τ', 'Spearman ρ', 'τ (even rows)', 'τ (odd rows)'],
      rows.map((r) => [`\`${r.name}\``, fmt(r.tau), fmt(r.rho), fmt(r.a), fmt(r.b)])));

    const scoresOf = (i: number): Scores => Object.fromEntries([...study.columns].map(([p, c]) => [p, c[i]]));
    const pairs = FIDELITY_PAIRS.map((pair) => pair.map(parseScoreSpec)).filter((pair) => pair.every((f) => scoreComponents(f).every((m) => study.columns.has(m))));
    const pairRow = (pair: ScoreSpec[]) => {
      const res = [all, even, odd].map((rows) => {
        const r = combinedRanks(rows.map(scoresOf), pair);
        const acc = rows.map((i) => study.accuracy[i]);
        return { tau: kendallTau(r, acc), rho: spearman(r, acc) };
      });
      // What a search over exactly this sample would answer: the top 3 by the rank, then the best by fidelity 1.
      const r = combinedRanks(all.map(scoresOf), pair);
      const top = all.map((i) => i).sort((a, b) => r[b] - r[a] || a - b).slice(0, 3);
      const first = scoreValues(pair[0], all.map(scoresOf)).map((v) => (Number.isNaN(v) ? -Infinity : v));
      const pick = top.reduce((best, i) => (first[i] > first[best] ? i : best));
      const best = Math.max(...study.accuracy);
      return [`\`${pair.map(scoreName).join(',')}\``, fmt(res[0].tau), fmt(res[0].rho), fmt(res[1].tau), fmt(res[2].tau),
        top.map((i) => study.accuracy[i].toFixed(2)).join(', '), `${study.accuracy[pick].toFixed(2)} (best ${best.toFixed(2)})`];
    };
    console.log('\nThe MFNAS combined rank (each fidelity over its largest |value|, summed) of `--fidelities` pairs, taken over the whole sample:\n');
    console.log(markdown(['--fidelities', 'Kendall τ', 'Spearman ρ', 'τ (even rows)', 'τ (odd rows)', 'top 3 accuracy %', 'answer in the sample %'], pairs.map(pairRow)));

    // Search: identical columns (flops and az_complexity are both the representative's FLOPs) count once.
    const pool: ProxyName[] = [];
    for (const [p, col] of study.columns) {
      if (![...pool].some((q) => study.columns.get(q)!.every((v, i) => Object.is(v, col[i])))) pool.push(p);
    }
    const found: Array<{ members: ProxyName[]; tauA: number; tauB: number; tau: number; rho: number }> = [];
    for (let k = 2; k <= maxSize; k++) {
      for (const members of subsets(pool, k)) {
        const a = corr(study, members, even).tau;
        found.push({ members, tauA: a, tauB: NaN, tau: NaN, rho: NaN });
      }
    }
    found.sort((x, y) => y.tauA - x.tauA);
    const best = found.slice(0, top);
    for (const f of best) {
      f.tauB = corr(study, f.members, odd).tau;
      const whole = corr(study, f.members, all);
      f.tau = whole.tau; f.rho = whole.rho;
    }
    console.log(`\nBest of ${found.length} log-rank ensembles of 2–${maxSize} of ${pool.join(', ')} — chosen by τ on the even rows (A), ` +
      'reported on the odd rows (B, not used to choose) and on all rows:\n');
    console.log(markdown(['ensemble', 'τ (A, chosen on)', 'τ (B, held out)', 'τ (all)', 'ρ (all)'],
      best.map((f) => [`\`ensemble(${f.members.join(',')})\``, fmt(f.tauA), fmt(f.tauB), fmt(f.tau), fmt(f.rho)])));
  }
}

async function time(): Promise<void> {
  const space = parseSpaceName(values.space!);
  const dataset = parseDatasetName(values.dataset!);
  const n = Number(values.n), batch = Number(values.batch);
  const benchmark = openNatsBenchTables(requireDataDir());
  const indices = sampleIndices(space, n, 1, spaceByName(space).size);
  const archs = indices.map((i) => archAt(space, benchmark, i));
  console.log(`\n## Seconds per architecture, ${space.toUpperCase()} / ${dataset}, ${n} architectures (sample seed 1), 2 × ${batch} images, one worker, no cache\n`);
  const rows: string[][] = [];
  for (const proxy of PROXY_NAMES) {
    const session = await openScoringSession({ space, dataset, batch, batches: 2, dataSeed: 0, initSeed: 0, cache: false, workers: 1 });
    try {
      const { scorer } = session;
      await scorer.scoreAll(archs, [proxy]);
      rows.push([proxy, scorer.evaluatedCount > 0 ? (scorer.proxySeconds / scorer.evaluatedCount).toFixed(2) : '–', String(scorer.evaluatedCount)]);
    } finally {
      await session.close();
    }
    process.stderr.write(`  ${proxy} done\n`);
  }
  console.log(markdown(['proxy', 's per architecture', 'evaluated'], rows));
  console.log('\nA set proxy costs the sum of its components\' passes (components sharing a pass pay it once); its aggregation is negligible.');
}

function searches(dirs: readonly string[]): void {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = (xs: number[]) => { const m = mean(xs); return Math.sqrt(mean(xs.map((x) => (x - m) ** 2))); };
  // Runs of one configuration (space, dataset, algorithm and what it ranks by) are pooled,
  // whether one --runs N folder or one folder per seed.
  interface Run { seed: number; evaluated: number; seconds: number; best: { accuracy: number } }
  const groups = new Map<string, { label: string[]; best: string; runs: Run[] }>();
  for (const dir of dirs) {
    const r = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8'));
    const by = r.algorithm === 'mfnas' ? (r.settings.fidelities ?? ['intgrad_param', 'intgrad_mean']).join(',') : `${r.algorithm} by ${r.settings.proxy}`;
    const key = `${r.space}/${r.dataset}/${by}`;
    const g: { label: string[]; best: string; runs: Run[] } = groups.get(key) ?? { label: [`${r.space.toUpperCase()} / ${r.dataset}`, `\`${by}\``], best: r.spaceBest ? r.spaceBest.accuracy.toFixed(2) : '–', runs: [] };
    g.runs.push(...(r.runs as Run[]));
    groups.set(key, g);
  }
  const rows = [...groups.values()].map((g) => {
    const runs = [...g.runs].sort((a, b) => a.seed - b.seed);
    const acc = runs.map((x) => x.best.accuracy as number);
    return [...g.label, runs.map((x) => x.seed).join(','), `${mean(acc).toFixed(2)} ± ${std(acc).toFixed(2)}`, acc.map((a) => a.toFixed(2)).join(', '),
      mean(runs.map((x) => x.evaluated)).toFixed(0), mean(runs.map((x) => x.seconds)).toFixed(0), g.best];
  });
  console.log(markdown(['space / dataset', 'fidelities', 'seeds', 'accuracy % mean ± std', 'per seed', 'scored (mean)', 'wall s (mean)', 'best in space'], rows));
}

/**
 * The answer each fidelity order would have given on a finished MFNAS run: the combined rank
 * is a sum, so swapping the fidelities leaves the search's trajectory and top 3 unchanged and
 * only changes which of the top 3 is returned (the best by fidelity 1).
 */
function answers(dirs: readonly string[]): void {
  const rows: string[][] = [];
  for (const dir of dirs) {
    const r = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8'));
    for (const run of r.runs) {
      const scored: Array<Record<string, string>> = parseCsv(readFileSync(path.join(dir, `scored-seed${run.seed}.csv`), 'utf8'), { columns: true });
      const score = scored.map((x) => Number(x.score));
      const top = score.map((_, i) => i).sort((a, b) => score[b] - score[a] || a - b).slice(0, 3);
      const fidelities: string[] = r.settings.fidelities ?? ['intgrad_param', 'intgrad_mean'];
      for (const first of fidelities.filter((f) => scored[0][f] !== undefined)) {
        const pick = top.reduce((best, i) => (Number(scored[i][first]) > Number(scored[best][first]) ? i : best));
        rows.push([`\`${fidelities.join(',')}\``, String(run.seed), first, top.map((i) => `${scored[i].arch} (${Number(scored[i].accuracy).toFixed(2)})`).join(', '),
          `${scored[pick].arch} (${Number(scored[pick].accuracy).toFixed(2)})`]);
      }
    }
  }
  console.log(markdown(['--fidelities run', 'seed', 'answer picked by', 'top 3 by combined rank (accuracy %)', 'answer (accuracy %)'], rows));
}

const mode = positionals[0] ?? 'analyse';
if (mode === 'analyse') {
  analyse([...values.csv!.map((f) => () => readStudy(f)), ...(values.scan!.length > 0 ? [() => readScanStudy(values.scan!)] : [])]);
}
else if (mode === 'time') await time();
else if (mode === 'searches') searches(values.run!);
else if (mode === 'answers') answers(values.run!);
else throw new Error(`unknown mode ${mode}: use analyse, time, searches or answers`);

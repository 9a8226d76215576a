/**
 * Files written by `mfnas search --out DIR`: result.json (the answer, every setting needed to
 * rerun it, the engine and data fingerprint), per-run history-seed<S>.csv (one row per step)
 * and scored-seed<S>.csv (every architecture scored), pareto.csv (the accuracy–cost fronts,
 * and with --objectives the sets the search returned), and report.html — one self-contained
 * page that answers "which one should I pick": the answer and the settings, the ten best
 * architectures found, accuracy against FLOPs and parameters with the Pareto fronts, the
 * proxy-vs-accuracy scatter with Kendall τ, the convergence and the found architecture.
 * The files are written together (src/util/atomicWrite.ts): all of them appear, or none.
 */
import path from 'node:path';
import type { ProxyName } from '../proxies/registry.js';
import { paretoFront } from '../search/pareto.js';
import {
  screenLabel, searchScoreName, searchScores, type ArchSummary, type FolderSummary, type RankedArch, type RunDetail, type SearchResult,
} from '../search/run.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition } from '../spaces/types.js';
import { kendallTau } from '../stats/correlation.js';
import { writeFilesAtomic, type OutputFile } from '../util/atomicWrite.js';
import { toCsv } from '../util/csv.js';
import { fmtAccuracy, fmtMillions, fmtParamsM, fmtScore, fmtSeconds } from './format.js';
import { ANSWER_COLOR, chart, COLORS, escapeXml, htmlPage, htmlTable, type ChartLayer, type ChartPoint } from './svg.js';

const ALGORITHM_TITLES: Record<string, string> = { mfnas: 'MFNAS search', rea: 'REA search', random: 'Random search' };

/** One architecture scored by any of the runs, with the search score over all runs' union. */
export type UnionArch = RankedArch & { seeds: number[] };

/**
 * Everything the runs scored, each architecture once (first run first), with the search's
 * score recomputed over the union: MFNAS's rank is relative to the set it is taken over.
 */
export function unionScored(result: SearchResult, details: readonly RunDetail[]): UnionArch[] {
  const byArch = new Map<string, UnionArch>();
  for (const d of details) {
    for (const c of d.scored) {
      const known = byArch.get(c.arch);
      if (known) known.seeds.push(d.result.seed);
      else byArch.set(c.arch, { index: c.index, arch: c.arch, accuracy: c.accuracy, params: c.params, flops: c.flops, scores: c.scores, score: c.score, seeds: [d.result.seed] });
    }
  }
  const all = [...byArch.values()];
  const scores = searchScores(result.algorithm, result.settings.proxy, all.map((c) => c.scores), result.settings.fidelities);
  all.forEach((c, i) => { c.score = scores[i]; });
  return all;
}

export interface FrontRow { front: string; seed: number | null; arch: RankedArch }

/**
 * The rows of pareto.csv, in file order: for the union of all runs, the value (benchmark
 * accuracy, or without accuracies the search score) against FLOPs and against parameters
 * (`accuracy-flops`, `accuracy-params` or `score-flops`, `score-params`); with --objectives,
 * each run's returned set (`search-flops` or `search-params`, search score against the cost).
 */
export function paretoRows(result: SearchResult, details: readonly RunDetail[]): FrontRow[] {
  const union = unionScored(result, details);
  const withAcc = union.filter((c) => c.accuracy !== null);
  const useAcc = withAcc.length > 0;
  const pool = useAcc ? withAcc : union;
  const rows: FrontRow[] = [];
  for (const cost of ['flops', 'params'] as const) {
    const front = paretoFront(pool.map((c) => ({ cost: c[cost], value: useAcc ? c.accuracy! : c.score })));
    for (const i of front) rows.push({ front: `${useAcc ? 'accuracy' : 'score'}-${cost}`, seed: null, arch: pool[i] });
  }
  const objective = result.settings.objectives?.split(',').find((o) => o !== 'proxy');
  for (const r of result.runs) for (const a of r.pareto ?? []) rows.push({ front: `search-${objective}`, seed: r.seed, arch: a });
  return rows;
}

const fmtTitle = (c: ArchSummary & { score?: number }, scoreName: string) => [
  c.arch, c.index !== null ? `index ${c.index}` : null, c.accuracy !== null ? `accuracy ${fmtAccuracy(c.accuracy)} %` : null,
  `FLOPs ${fmtMillions(c.flops)} M · params ${fmtParamsM(c.params)} M`, c.score !== undefined ? `${scoreName} ${fmtScore(c.score)}` : null,
  ...Object.entries(c.scores).map(([p, v]) => `${p} ${fmtScore(v as number)}`),
].filter((x) => x !== null).join('\n');

const archData = (c: ArchSummary & { score?: number }) => ({ arch: c.arch, index: c.index, accuracy: c.accuracy, flops: c.flops, params: c.params, ...(c.score !== undefined ? { score: c.score } : {}) });

function proxiesOf(details: readonly RunDetail[]): ProxyName[] {
  return Object.keys(details[0]?.scored[0]?.scores ?? details[0]?.result.best.scores ?? {}) as ProxyName[];
}

/** The report page (see the file comment). */
export function renderSearchReport(result: SearchResult, details: readonly RunDetail[], files: readonly string[] = []): string {
  const s = result.settings;
  const scoreName = searchScoreName(result.algorithm, s.proxy);
  const proxies = proxiesOf(details);
  const union = unionScored(result, details);
  const hasAcc = union.some((c) => c.accuracy !== null);
  const space: SpaceDefinition<unknown> = spaceByName(result.space);
  const answers = new Set(result.runs.map((r) => r.best.arch));
  const objective = s.objectives?.split(',').find((o) => o !== 'proxy') as 'flops' | 'params' | undefined;
  const title = `${ALGORITHM_TITLES[result.algorithm]} on ${result.space.toUpperCase()} / ${result.folder ? path.basename(result.dataset) : result.dataset}`;
  const out: string[] = [`<h1>${escapeXml(title)}</h1>`];

  if (files.length > 0) {
    out.push(`<p class="files">Files: ${files.map((f) => `<a href="${escapeXml(encodeURI(f))}">${escapeXml(f)}</a>`).join(' ')}</p>`);
  }

  // ---- the answer
  const first = result.runs[0];
  const best = first?.best;
  const answerLines: string[] = [];
  if (objective && first?.pareto) {
    answerLines.push(`<p><b>${first.pareto.length} architectures trade ${escapeXml(scoreName)} against ${objective === 'flops' ? 'FLOPs' : 'parameters'}</b> ` +
      `(the Pareto set of the search's history${result.runs.length > 1 ? `, seed ${first.seed}` : ''}; the table below, cheapest first). ` +
      `The single best by the search's ranking is <code>${escapeXml(best.arch)}</code>.</p>`);
  } else if (best) {
    answerLines.push(`<p><b>Pick <code>${escapeXml(best.arch)}</code></b>${best.index !== null ? ` (NATS-Bench index ${best.index})` : ''}` +
      `${best.accuracy !== null ? `: benchmark test accuracy <b>${fmtAccuracy(best.accuracy)} %</b>` : ''}, ` +
      `${fmtParamsM(best.params)} M parameters, ${fmtMillions(best.flops)} M FLOPs.</p>`);
  }
  if (result.spaceBest) {
    answerLines.push(`<p>The best accuracy in the whole space is ${fmtAccuracy(result.spaceBest.accuracy)} % (index ${result.spaceBest.index})` +
      `${best?.accuracy != null ? `; the answer is ${fmtAccuracy(result.spaceBest.accuracy - best.accuracy)} points below it` : ''}.</p>`);
  }
  if (result.runs.length > 1 && result.summary.accuracyMean !== null) {
    answerLines.push(`<p>Over ${result.runs.length} runs the answers average ${fmtAccuracy(result.summary.accuracyMean)} ± ${fmtAccuracy(result.summary.accuracyStd)} %.</p>`);
  }
  if (result.folder) answerLines.push(folderParagraph(result.folder));
  out.push(`<div class="answer-box">${answerLines.join('')}</div>`);
  out.push(htmlTable(['seed', 'index', 'architecture', 'accuracy %', 'params M', 'FLOPs M', 'scored', 'seconds', ...proxies],
    result.runs.map((r) => [r.seed, r.best.index, { html: `<code>${escapeXml(r.best.arch)}</code>` }, fmtAccuracy(r.best.accuracy),
      fmtParamsM(r.best.params), fmtMillions(r.best.flops), r.evaluated, fmtSeconds(r.seconds) + (r.stoppedEarly ? ' (time budget)' : ''),
      ...proxies.map((p) => fmtScore(r.best.scores[p]))]), 'runs'));
  if (objective) {
    for (const r of result.runs) {
      out.push(`<h3>Pareto set, seed ${r.seed} (${escapeXml(scoreName)} against ${objective === 'flops' ? 'FLOPs' : 'parameters'})</h3>`);
      out.push(archTable(r.pareto ?? [], answers, 'pareto-set', scoreName, proxies));
    }
  }

  // ---- settings
  const env = result.environment;
  out.push('<h2>Settings</h2>');
  out.push(htmlTable(['setting', 'value'], [
    ['algorithm', s.algorithm], ['space / dataset', `${s.space} / ${s.dataset}`],
    ...(s.algorithm === 'random' ? [['samples', s.samples]] as [string, number][] : [['population', s.population], ['tournament', s.tournament], ['steps', s.steps]] as [string, number][]),
    ...(s.algorithm === 'mfnas' ? [['mutations per parent', s.mutations]] as [string, number][] : [['proxy', s.proxy]] as [string, string][]),
    ['objectives', s.objectives ?? 'one answer'], ['limits', [s.maxFlops !== null ? `≤ ${s.maxFlops} M FLOPs` : '', s.maxParams !== null ? `≤ ${s.maxParams} parameters` : ''].filter(Boolean).join(', ') || 'none'],
    ['seeds', s.runs > 1 ? `${s.seed}–${s.seed + s.runs - 1}` : String(s.seed)], ['time budget', s.timeBudget === null ? 'none' : `${s.timeBudget} min per run`],
    ['proxy batches', `${s.batches} × ${s.batch} images, data seed ${s.dataSeed}, init seed ${s.initSeed}`],
    ...(s.screen ? [['screen', `candidates on ${screenLabel(s.screen)} images, the ${s.screen.confirm} best confirmed on ${s.batches} × ${s.batch}`]] as [string, string][] : []),
    ...(s.imageSize !== null ? [['image size', `${s.imageSize} px${s.skipBad ? ', bad files skipped' : ''}`]] as [string, string][] : []),
    ['mfnas / engine', `${env.mfnas} / ${env.engine} (${env.platform}, Node ${env.node})`], ['data fingerprint', env.dataFingerprint],
    ['rerun', `mfnas search --rerun ${path.posix.join('RUN', 'result.json')}`],
  ], 'settings'));

  // ---- the ten best
  out.push('<h2>The 10 best architectures found</h2>');
  out.push(`<p>By the search's own ranking (${escapeXml(scoreName)}${result.algorithm === 'mfnas' ? `: the sum of the fidelities (${escapeXml(s.fidelities.join(', '))}), each divided by its largest value in the run's history; the answer is the best by ${escapeXml(s.fidelities[0])} of the first three` : ''}). ` +
    `${s.screen ? ` Scores on the screening input, ${screenLabel(s.screen)} images (the confirmations on the full input follow).` : ''} Highlighted: the answer.</p>`);
  details.forEach((d, i) => {
    const top = [...d.scored].map((c, k) => ({ c, k })).sort((a, b) => b.c.score - a.c.score || a.k - b.k).slice(0, 10).map((x) => x.c);
    out.push(perSeed(d.result.seed, i, details.length, archTable(top, new Set([d.result.best.arch]), 'top10', scoreName, proxies)));
  });

  // ---- a screened search's confirmations
  if (s.screen) {
    out.push('<h2>Confirmed on the full input</h2>');
    out.push(`<p>The ${s.screen.confirm} best of each run's history by the ranking above, scored again on ${s.batches} × ${s.batch} images; ` +
      `ranked here by the same rule over these scores, the answer being the best by ${escapeXml(s.fidelities[0])} of the first three.</p>`);
    result.runs.forEach((r, i) => {
      const confirmed = r.confirmed ?? [];
      const scores = searchScores(result.algorithm, s.proxy, confirmed.map((c) => c.scores), s.fidelities);
      const ranked = confirmed.map((c, k) => ({ ...c, score: scores[k] })).sort((a, b) => b.score - a.score);
      out.push(perSeed(r.seed, i, result.runs.length, archTable(ranked, new Set([r.best.arch]), 'confirmed', scoreName, proxies)));
    });
  }

  // ---- accuracy against cost
  const valueName = hasAcc ? 'test accuracy (%)' : scoreName;
  out.push(`<h2>${hasAcc ? 'Accuracy' : escapeXml(scoreName)} against cost</h2>`);
  out.push(`<p>Every architecture the search scored${details.length > 1 ? ' (all runs)' : ''}. Circled and joined: the Pareto front ` +
    `(nothing else is both cheaper and ${hasAcc ? 'more accurate' : 'better scored'}); triangle: the answer${result.runs.length > 1 ? 's' : ''}` +
    `${result.spaceBest ? '; dashed: the best accuracy in the space' : ''}.${hasAcc ? '' : ' No benchmark accuracies exist for this dataset, so the search\'s own score stands in for accuracy.'}</p>`);
  const rows = paretoRows(result, details);
  const costCharts: string[] = [];
  for (const cost of ['flops', 'params'] as const) {
    const key = `${hasAcc ? 'accuracy' : 'score'}-${cost}`;
    const y = (c: UnionArch | RankedArch) => (hasAcc ? c.accuracy ?? NaN : c.score);
    const x = (c: ArchSummary) => (cost === 'flops' ? c.flops : c.params / 1e6);
    const pt = (c: UnionArch | RankedArch): ChartPoint => ({ x: x(c), y: y(c), title: fmtTitle(c, scoreName), data: archData(c) });
    const layers: ChartLayer[] = [
      { kind: 'points', name: 'scored', color: COLORS[0], points: union.map(pt), cls: 'point' },
      { kind: 'front', name: 'Pareto front', color: '#111', points: rows.filter((r) => r.front === key).map((r) => pt(r.arch as UnionArch)), cls: 'pareto' },
      { kind: 'marked', name: result.runs.length > 1 ? 'answers' : 'answer', color: ANSWER_COLOR, points: union.filter((c) => answers.has(c.arch)).map(pt), cls: 'answer' },
    ];
    costCharts.push(`<figure>${chart({
      title: `${hasAcc ? 'Accuracy' : scoreName} against ${cost === 'flops' ? 'FLOPs' : 'parameters'}`, cls: `cost-chart ${key}`,
      xLabel: cost === 'flops' ? 'FLOPs (M)' : 'parameters (M)', yLabel: valueName, layers, data: { front: key },
      hlines: hasAcc && result.spaceBest ? [{ y: result.spaceBest.accuracy, label: `best in the space ${fmtAccuracy(result.spaceBest.accuracy)} %`, color: '#2ca02c' }] : [],
    })}</figure>`);
  }
  if (objective && hasAcc) {
    // The set the search returned is chosen by its score; accuracies only judge it afterwards.
    const r = result.runs[0];
    const run = details[0];
    const x = (c: ArchSummary) => (objective === 'flops' ? c.flops : c.params / 1e6);
    const pt = (c: RankedArch): ChartPoint => ({ x: x(c), y: c.score, title: fmtTitle(c, scoreName), data: archData(c) });
    costCharts.push(`<figure>${chart({
      title: `${scoreName} against ${objective === 'flops' ? 'FLOPs' : 'parameters'} (seed ${r.seed})`, cls: `cost-chart search-${objective}`,
      xLabel: objective === 'flops' ? 'FLOPs (M)' : 'parameters (M)', yLabel: scoreName, data: { front: `search-${objective}`, seed: r.seed },
      layers: [
        { kind: 'points', name: 'scored', color: COLORS[0], points: run.scored.map(pt), cls: 'point' },
        { kind: 'front', name: 'returned set', color: '#111', points: (r.pareto ?? []).map(pt), cls: 'pareto' },
      ],
    })}<figcaption>The set the search returned: the Pareto front of its own score against the cost.</figcaption></figure>`);
  }
  out.push(`<div class="charts">${costCharts.join('')}</div>`);

  // ---- proxy vs accuracy
  if (hasAcc) {
    out.push('<h2>Proxy against accuracy</h2>');
    const figs = proxies.map((p) => {
      const pts = union.filter((c) => c.accuracy !== null && Number.isFinite(c.scores[p] ?? NaN));
      const tau = pts.length >= 2 ? kendallTau(pts.map((c) => c.scores[p]!), pts.map((c) => c.accuracy!)) : NaN;
      const pt = (c: UnionArch): ChartPoint => ({ x: c.scores[p]!, y: c.accuracy!, title: fmtTitle(c, scoreName), data: archData(c) });
      return `<figure>${chart({
        title: `${p} against test accuracy`, subtitle: `Kendall τ = ${Number.isFinite(tau) ? tau.toFixed(3) : 'n/a'} over ${pts.length} architectures`,
        cls: 'proxy-scatter', xLabel: p, yLabel: 'test accuracy (%)', data: { proxy: p, tau: Number.isFinite(tau) ? tau : null, n: pts.length },
        layers: [
          { kind: 'points', name: 'scored', color: COLORS[0], points: pts.map(pt), cls: 'point' },
          { kind: 'marked', name: 'answer', color: ANSWER_COLOR, points: pts.filter((c) => answers.has(c.arch)).map(pt), cls: 'answer' },
        ],
      })}</figure>`;
    });
    out.push(`<p>How well the proxy ranks what the search scored (a biased sample: the search keeps the architectures the proxy likes).</p><div class="charts">${figs.join('')}</div>`);
  }

  // ---- convergence
  out.push('<h2>Convergence</h2><div class="charts">');
  if (hasAcc) {
    const layers: ChartLayer[] = details.map((d, i) => ({
      kind: 'line', name: `seed ${d.result.seed}`, color: COLORS[i % COLORS.length], cls: 'series',
      points: d.steps.map((st) => ({ x: st.step, y: st.answerAccuracy ?? NaN, title: `seed ${d.result.seed}, step ${st.step}\n${st.answer}\naccuracy ${fmtAccuracy(st.answerAccuracy)} %\n${st.evaluated} scored` })),
    }));
    out.push(`<figure>${chart({
      title: 'Benchmark accuracy of the answer after each step', cls: 'line-chart answer-accuracy', xLabel: 'step', yLabel: 'test accuracy (%)', layers,
      hlines: result.spaceBest ? [{ y: result.spaceBest.accuracy, label: `best in the space ${fmtAccuracy(result.spaceBest.accuracy)} %`, color: '#2ca02c' }] : [],
    })}<figcaption>What the search would return if stopped after that step.</figcaption></figure>`);
  }
  const popProxy = result.algorithm === 'mfnas' ? s.fidelities[0] : s.proxy;
  const popLayers: ChartLayer[] = details.flatMap((d, i) => {
    const steps = d.steps.filter((st) => st.population !== null);
    const color = COLORS[i % COLORS.length];
    return [
      { kind: 'band', name: `seed ${d.result.seed} middle half`, color, band: steps.map((st) => ({ x: st.step, lo: st.population!.q1, hi: st.population!.q3 })), noLegend: true },
      {
        kind: 'line', name: `seed ${d.result.seed} median`, color, cls: 'series',
        points: steps.map((st) => ({ x: st.step, y: st.population!.median, title: `seed ${d.result.seed}, step ${st.step}\nmedian ${fmtScore(st.population!.median)}\nquartiles ${fmtScore(st.population!.q1)} – ${fmtScore(st.population!.q3)}\nrange ${fmtScore(st.population!.min)} – ${fmtScore(st.population!.max)}` })),
      },
    ] as ChartLayer[];
  });
  out.push(`<figure>${chart({
    title: `${popProxy} of the ${result.algorithm === 'random' ? 'architectures sampled so far' : 'population'}`, cls: 'line-chart population',
    xLabel: 'step', yLabel: popProxy, layers: popLayers,
  })}<figcaption>Median (line) and middle half (band) per step: the population improving by the proxy.</figcaption></figure></div>`);

  // ---- the architecture
  out.push(`<h2>Found architecture${result.runs.length > 1 ? 's' : ''}</h2><div class="charts">`);
  result.runs.forEach((r) => {
    // The space draws its own architectures (an SVG); a space without a drawing shows the string alone.
    const drawing = space.drawing ? space.drawing(space.parse(r.best.arch)) : '';
    out.push(`<figure>${drawing}<figcaption>${result.runs.length > 1 ? `seed ${r.seed}: ` : ''}<code>${escapeXml(r.best.arch)}</code></figcaption></figure>`);
  });
  out.push('</div>');
  return htmlPage(title, out.join('\n'));
}

/** One run's table: the first run's shown (under a heading when there are several), the others folded. */
function perSeed(seed: number, i: number, runs: number, tableHtml: string): string {
  if (i > 0) return `<details><summary>seed ${seed}</summary>${tableHtml}</details>`;
  return `${runs > 1 ? `<h3>seed ${seed}</h3>` : ''}${tableHtml}`;
}

function archTable(archs: readonly RankedArch[], answers: ReadonlySet<string>, cls: string, scoreName: string, proxies: readonly ProxyName[]): string {
  const body = archs.map((c, i) => `<tr${answers.has(c.arch) ? ' class="answer"' : ''} data-arch="${escapeXml(c.arch)}">` +
    [String(i + 1), c.index === null ? '–' : String(c.index), `<code>${escapeXml(c.arch)}</code>`, fmtAccuracy(c.accuracy), fmtParamsM(c.params),
      fmtMillions(c.flops), fmtScore(c.score), ...proxies.map((p) => fmtScore(c.scores[p]))]
      .map((v, k) => `<td${k === 2 ? '' : ' class="num"'}>${v}</td>`).join('') + '</tr>').join('');
  const head = ['#', 'index', 'architecture', 'accuracy %', 'params M', 'FLOPs M', scoreName, ...proxies].map((h) => `<th>${escapeXml(h)}</th>`).join('');
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function folderParagraph(f: FolderSummary): string {
  const fmt = (v: readonly number[]) => v.map((x) => x.toFixed(2)).join(', ');
  return `<p>Image folder <code>${escapeXml(f.dir)}</code>: ${f.classNames.length} classes ` +
    `(${escapeXml(f.classNames.slice(0, 20).join(', '))}${f.classNames.length > 20 ? ', …' : ''}), ` +
    `${f.train} training images${f.test !== null ? `, ${f.test} test images` : ''}${f.skipped ? `, ${f.skipped} bad files skipped` : ''}, ` +
    `resized to ${f.imageSize}×${f.imageSize}; normalised with mean ${fmt(f.mean)} and std ${fmt(f.std)} (0..255). ` +
    'No benchmark accuracies exist for it.</p>';
}

const historyFile = (seed: number) => `history-seed${seed}.csv`;
const scoredFile = (seed: number) => `scored-seed${seed}.csv`;

/** Names of the files `writeSearchOutputs` writes for these seeds (to check the folder first). */
export function searchOutputNames(seeds: readonly number[]): string[] {
  return ['result.json', 'pareto.csv', ...seeds.flatMap((s) => [historyFile(s), scoredFile(s)]), 'report.html'];
}

/** result.json: the printed result as is (see `SearchResult`). */
export function resultJson(result: SearchResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

export function writeSearchOutputs(dir: string, result: SearchResult, details: readonly RunDetail[]): string[] {
  const files: OutputFile[] = [];
  const put = (name: string, data: string) => { files.push({ path: path.join(dir, name), data }); };
  const proxies = proxiesOf(details);
  // A proxy named like a fixed column (the `params` and `flops` proxies score the class
  // representative) gets its own header, so no CSV has two columns of one name.
  const FIXED = new Set(['index', 'arch', 'accuracy', 'params', 'flops', 'generation', 'score', 'front', 'seed']);
  const proxyColumns = proxies.map((p) => (FIXED.has(p) ? `proxy_${p}` : p));
  put('result.json', resultJson(result));
  const q = (v: number | undefined) => (v === undefined ? null : v);
  for (const d of details) {
    put(historyFile(d.result.seed), toCsv([
      ['step', 'evaluated', 'answer_index', 'answer_arch', 'answer_accuracy', 'best_score', 'seconds',
        'population_min', 'population_q1', 'population_median', 'population_q3', 'population_max'],
      ...d.steps.map((s) => [s.step, s.evaluated, s.answerIndex, s.answer, s.answerAccuracy, s.bestScore, +s.seconds.toFixed(3),
        q(s.population?.min), q(s.population?.q1), q(s.population?.median), q(s.population?.q3), q(s.population?.max)]),
    ]));
    put(scoredFile(d.result.seed), toCsv([
      ['index', 'arch', 'accuracy', 'params', 'flops', 'generation', 'score', ...proxyColumns],
      ...d.scored.map((c) => [c.index, c.arch, c.accuracy, c.params, c.flops, c.generation, c.score, ...proxies.map((p) => c.scores[p] ?? null)]),
    ]));
  }
  put('pareto.csv', toCsv([
    ['front', 'seed', 'index', 'arch', 'accuracy', 'params', 'flops', 'score', ...proxyColumns],
    ...paretoRows(result, details).map((r) => [r.front, r.seed, r.arch.index, r.arch.arch, r.arch.accuracy, r.arch.params, r.arch.flops, r.arch.score,
      ...proxies.map((p) => r.arch.scores[p] ?? null)]),
  ]));
  const links = ['result.json', 'pareto.csv', ...details.flatMap((d) => [historyFile(d.result.seed), scoredFile(d.result.seed)])];
  put('report.html', renderSearchReport(result, details, links));
  writeFilesAtomic(files);
  return files.map((f) => f.path);
}

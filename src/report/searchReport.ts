/**
 * Files written by `mfnas search --out DIR`: result.json, per-run history-seed<S>.csv (one row
 * per step) and scored-seed<S>.csv (every architecture scored), and report.html — a
 * self-contained page with the convergence, the proxy-vs-accuracy scatter and the found cell.
 * The files are written together (src/util/atomicWrite.ts): all of them appear, or none.
 */
import path from 'node:path';
import type { RunDetail, SearchResult } from '../search/run.js';
import { spaceByName } from '../spaces/index.js';
import type { ArchDrawing, SpaceDefinition } from '../spaces/types.js';
import { writeFilesAtomic, type OutputFile } from '../util/atomicWrite.js';
import { toCsv } from '../util/csv.js';
import { cellDiagram, channelBars, escapeXml, lineChart, scatterChart, type Series } from './svg.js';

const ALGORITHM_TITLES: Record<string, string> = { mfnas: 'MFNAS search', rea: 'REA search', random: 'Random search' };

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** Each kind of drawing a space can ask for, as its SVG. */
function drawingSvg(drawing: ArchDrawing): string {
  switch (drawing.kind) {
    case 'cell': return cellDiagram(drawing.edges);
    case 'channels': return channelBars(drawing.channels);
  }
}

export function renderSearchReport(result: SearchResult, details: readonly RunDetail[]): string {
  const accSeries: Series[] = details.map((d, i) => ({
    name: `seed ${d.result.seed}`, color: COLORS[i % COLORS.length],
    points: d.steps.map((s) => [s.step, s.answerAccuracy ?? NaN] as const),
  }));
  const rankSeries: Series[] = details.map((d, i) => ({
    name: `seed ${d.result.seed}`, color: COLORS[i % COLORS.length],
    points: d.steps.map((s) => [s.step, s.bestScore] as const),
  }));
  const proxy = result.algorithm === 'mfnas' ? 'intgrad_param' : Object.keys(details[0]?.result.best.scores ?? {})[0] ?? 'score';
  const first = details[0];
  const scatter = first ? first.scored.map((c) => ({
    x: (c.scores as Record<string, number>)[proxy], y: c.accuracy ?? NaN, highlight: c.arch === first.result.best.arch,
  })) : [];
  const best = first?.result.best;
  let drawing = '';
  if (best) {
    const space: SpaceDefinition<unknown> = spaceByName(result.space);
    drawing = drawingSvg(space.drawing(space.parse(best.arch)));
  }
  const rows = result.runs.map((r) => `<tr><td>${r.seed}</td><td>${r.best.index ?? ''}</td><td><code>${escapeXml(r.best.arch)}</code></td>` +
    `<td>${r.best.accuracy?.toFixed(2) ?? ''}</td><td>${r.best.params}</td><td>${r.best.flops.toFixed(2)}</td><td>${r.evaluated}</td><td>${r.seconds.toFixed(1)}</td></tr>`).join('');
  const title = `${ALGORITHM_TITLES[result.algorithm]} on ${result.space.toUpperCase()} / ${result.dataset}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}code{word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-size:12px;color:#555}</style></head>
<body>
<h1>${escapeXml(title)}</h1>
<p>Mean test accuracy of the answers: ${result.summary.accuracyMean?.toFixed(2) ?? 'n/a (no benchmark table)'}
${result.summary.accuracyStd !== null ? `± ${result.summary.accuracyStd.toFixed(2)}` : ''} over ${result.runs.length} run(s); mean wall time ${result.summary.secondsMean.toFixed(1)} s.</p>
<table><thead><tr><th>seed</th><th>index</th><th>architecture</th><th>accuracy %</th><th>params</th><th>MFLOPs</th><th>scored</th><th>seconds</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Convergence</h2>
<div class="charts">
<figure>${lineChart('Benchmark accuracy of the current answer', 'step', 'test accuracy (%)', accSeries)}<figcaption>The answer the search would return after each step.</figcaption></figure>
<figure>${lineChart(result.algorithm === 'mfnas' ? 'Best combined rank in the history' : `Best ${proxy} in the history`, 'step', result.algorithm === 'mfnas' ? 'rank' : proxy, rankSeries)}</figure>
</div>
<h2>Proxy vs accuracy (seed ${first?.result.seed ?? ''})</h2>
<div class="charts"><figure>${scatterChart(`${proxy} vs test accuracy of every scored architecture`, proxy, 'test accuracy (%)', scatter)}<figcaption>Red: the answer.</figcaption></figure></div>
<h2>Found architecture</h2>
<div class="charts"><figure>${drawing}<figcaption><code>${escapeXml(best?.arch ?? '')}</code></figcaption></figure></div>
</body></html>
`;
}

const historyFile = (seed: number) => `history-seed${seed}.csv`;
const scoredFile = (seed: number) => `scored-seed${seed}.csv`;

/** Names of the files `writeSearchOutputs` writes for these seeds (to check the folder first). */
export function searchOutputNames(seeds: readonly number[]): string[] {
  return ['result.json', ...seeds.flatMap((s) => [historyFile(s), scoredFile(s)]), 'report.html'];
}

export function writeSearchOutputs(dir: string, result: SearchResult, details: readonly RunDetail[]): string[] {
  const files: OutputFile[] = [];
  const put = (name: string, data: string) => { files.push({ path: path.join(dir, name), data }); };
  put('result.json', JSON.stringify(result, null, 2) + '\n');
  for (const d of details) {
    put(historyFile(d.result.seed), toCsv([
      ['step', 'evaluated', 'answer_index', 'answer_arch', 'answer_accuracy', 'best_score', 'seconds'],
      ...d.steps.map((s) => [s.step, s.evaluated, s.answerIndex, s.answer, s.answerAccuracy, s.bestScore, +s.seconds.toFixed(3)]),
    ]));
    const proxies = Object.keys(d.scored[0]?.scores ?? {});
    put(scoredFile(d.result.seed), toCsv([
      ['index', 'arch', 'accuracy', 'params', 'flops', 'generation', ...proxies],
      ...d.scored.map((c) => [c.index, c.arch, c.accuracy, c.params, c.flops, c.generation, ...proxies.map((p) => (c.scores as Record<string, number>)[p] ?? null)]),
    ]));
  }
  put('report.html', renderSearchReport(result, details));
  writeFilesAtomic(files);
  return files.map((f) => f.path);
}

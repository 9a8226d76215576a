/**
 * The page `mfnas correlate --report FILE.html` writes: the Kendall τ / Spearman ρ table of
 * every proxy and one scatter per proxy against benchmark accuracy (hover: the architecture and
 * its values), self-contained like the search report.
 */
import path from 'node:path';
import type { CorrelationResult } from '../study/correlate.js';
import { fmtAccuracy, fmtScore, fmtSeconds } from './format.js';
import { chart, COLORS, escapeXml, htmlPage, htmlTable } from './svg.js';

export interface CorrelateReportContext {
  space: string;
  dataset: string;
  /** Every proxy and set proxy studied (set proxies by name, e.g. az_nas or ensemble(a,b)). */
  proxies: readonly string[];
  /** The CSV of --out, linked from the page (relative to the page when beside it). */
  csv?: string;
  /** Where the page goes (to link the CSV relative to it). */
  page?: string;
}

export function renderCorrelateReport(result: CorrelationResult, ctx: CorrelateReportContext): string {
  const title = `Proxies against accuracy on ${ctx.space.toUpperCase()} / ${ctx.dataset}`;
  const out: string[] = [`<h1>${escapeXml(title)}</h1>`];
  const perArch = result.secondsPerArchitecture;
  out.push(`<p>${result.n} architectures (${result.evaluated} scored now, ${result.n - result.evaluated} from the cache) in ${fmtSeconds(result.seconds)} s` +
    `${perArch !== null ? `, ${fmtSeconds(perArch)} s of proxy time per architecture` : ''}. ` +
    'Kendall τ-b and Spearman ρ between each proxy and the benchmark test accuracy (1: the same order, 0: unrelated).</p>');
  if (ctx.csv) {
    const href = ctx.page ? path.relative(path.dirname(path.resolve(ctx.page)), path.resolve(ctx.csv)) : ctx.csv;
    out.push(`<p class="files">Files: <a href="${escapeXml(encodeURI(href.split(path.sep).join('/')))}">${escapeXml(path.basename(ctx.csv))}</a></p>`);
  }
  const sorted = [...ctx.proxies].sort((a, b) => (result.proxies[b]?.kendall ?? -2) - (result.proxies[a]?.kendall ?? -2));
  out.push(htmlTable(['proxy', 'Kendall τ', 'Spearman ρ'], sorted.map((p) => {
    const c = result.proxies[p];
    return [p, c ? c.kendall.toFixed(3) : null, c ? c.spearman.toFixed(3) : null];
  }), 'correlations'));
  const figs = ctx.proxies.map((p, i) => {
    const rows = result.rows.filter((r): r is typeof r & { accuracy: number } => r.accuracy !== null && Number.isFinite(r.scores[p] ?? NaN));
    const c = result.proxies[p];
    return `<figure>${chart({
      title: `${p} against test accuracy`, cls: 'proxy-scatter', xLabel: p, yLabel: 'test accuracy (%)',
      subtitle: c ? `Kendall τ = ${c.kendall.toFixed(3)} · Spearman ρ = ${c.spearman.toFixed(3)} · ${result.n} architectures` : undefined,
      data: { proxy: p, tau: c?.kendall ?? null, rho: c?.spearman ?? null, n: rows.length },
      layers: [{
        kind: 'points', name: p, color: COLORS[i % COLORS.length], cls: 'point', noLegend: true,
        points: rows.map((r) => ({ x: r.scores[p]!, y: r.accuracy, title: `${r.arch}\nindex ${r.index}\naccuracy ${fmtAccuracy(r.accuracy)} %\n${p} ${fmtScore(r.scores[p])}`, data: { index: r.index } })),
      }],
    })}</figure>`;
  });
  out.push(`<h2>Each proxy against accuracy</h2><div class="charts">${figs.join('')}</div>`);
  return htmlPage(title, out.join('\n'));
}

/**
 * The search and correlate reports (src/report), rendered in headless Chromium and checked in
 * the DOM: the top-10 table, the Pareto fronts against pareto.csv, Kendall τ against an
 * independent O(n²) τ-b, the cell drawing's geometry; and the pieces they are built from
 * (Pareto front, quantiles) against brute force. The searches here run the real algorithms on
 * the real NATS-Bench tables with a stand-in scorer (scores derived from the accuracy plus a
 * hash of the architecture), so they take milliseconds.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDefaultNatsBenchTables } from '../src/natsbench/tables.js';
import type { CorrelationResult } from '../src/study/correlate.js';
import { renderCorrelateReport } from '../src/report/correlateReport.js';
import { writeSearchOutputs } from '../src/report/searchReport.js';
import { paretoFront } from '../src/search/pareto.js';
import { quantiles, runSearch, SEARCH_DEFAULTS, type CostObjective, type SearchRunOptions } from '../src/search/run.js';
import { cellDiagram } from '../src/spaces/tss/drawing.js';
import { CHROMIUM, launchBrowser, openFile } from './helpers/browser.js';

const DATA = path.resolve(__dirname, '../../shared/data');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-report-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A number in [0, 1) fixed by the text. */
function hash01(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

/** A scorer whose scores follow the benchmark accuracy loosely (or a hash, without one). */
function fakeScorer(accuracyOf: (arch: string) => number | null) {
  return {
    ctx: { space: 'tss', dataset: 'cifar10', settings: { batchSize: 16, batches: 2, dataSeed: 0, initSeed: 0 }, dataFingerprint: 'fake0123456789ab' },
    evaluator: { engine: 'fake:1' },
    proxySeconds: 0,
    async score(arch: unknown, proxies: readonly string[]) {
      const { tss } = await import('../src/spaces/tss/index.js');
      const key = typeof arch === 'string' ? arch : tss.format(arch as never);
      const acc = accuracyOf(key) ?? 50;
      const scores: Record<string, number> = {};
      for (const p of proxies) scores[p] = acc * (p === 'intgrad_mean' ? 0.5 : 1) + 20 * hash01(`${p}${key}`);
      return { arch: key, evaluated: key, canonical: key, scores, seconds: 0, cached: false };
    },
    async scoreMany(archs: readonly unknown[], proxies: readonly string[]) {
      return Promise.all(archs.map((a) => this.score(a, proxies)));
    },
  };
}

async function fakeSearch(opts: { tables: boolean; runs?: number; objective?: CostObjective }) {
  const benchmark = opts.tables ? openDefaultNatsBenchTables(DATA) : null;
  const { tssSpace } = await import('../src/spaces/tss/index.js');
  const space = tssSpace(benchmark?.tss ?? null);
  const accuracyOf = (arch: string) => (benchmark?.tss ? benchmark.tss.testAccuracy('cifar10', space.indexOf(space.parse(arch))) : null);
  const options: SearchRunOptions = {
    ...SEARCH_DEFAULTS, population: 12, tournament: 4, steps: 6, mutations: 2, seed: 3, runs: opts.runs ?? 1, limits: {}, objective: opts.objective,
  };
  return runSearch({ scorer: fakeScorer(accuracyOf) as never, benchmark, options });
}

/** Kendall τ-b by its definition, O(n²): (concordant − discordant) / sqrt((n0 − n1)(n0 − n2)). */
function naiveTauB(x: readonly number[], y: readonly number[]): number {
  let c = 0, d = 0, tx = 0, ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const a = Math.sign(x[i] - x[j]), b = Math.sign(y[i] - y[j]);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

const readCsv = (file: string): Record<string, string>[] => parse(fs.readFileSync(file, 'utf8'), { columns: true });

describe('Pareto front and quantiles', () => {
  it('paretoFront keeps exactly the non-dominated points (brute force), one per tie, cheapest first', () => {
    let seed = 1;
    const rand = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    for (let trial = 0; trial < 30; trial++) {
      // Coarse values make ties in cost, in value and in both.
      const pts = Array.from({ length: 40 }, () => ({ cost: Math.floor(rand() * 10), value: Math.floor(rand() * 10) }));
      const front = paretoFront(pts);
      const dominated = (i: number) => pts.some((q, j) => j !== i && q.cost <= pts[i].cost && q.value >= pts[i].value && (q.cost < pts[i].cost || q.value > pts[i].value));
      const expected = new Set(pts.map((p, i) => i).filter((i) => !dominated(i)).map((i) => `${pts[i].cost},${pts[i].value}`));
      expect(new Set(front.map((i) => `${pts[i].cost},${pts[i].value}`))).toEqual(expected);
      expect(front.length).toBe(expected.size); // duplicates appear once
      for (let k = 1; k < front.length; k++) {
        expect(pts[front[k]].cost).toBeGreaterThan(pts[front[k - 1]].cost);
        expect(pts[front[k]].value).toBeGreaterThan(pts[front[k - 1]].value);
      }
      for (const i of front) expect(pts.findIndex((p) => p.cost === pts[i].cost && p.value === pts[i].value)).toBe(i);
    }
    expect(paretoFront([{ cost: 1, value: NaN }, { cost: 2, value: 1 }])).toEqual([1]);
  });

  it('quantiles interpolate like numpy.percentile', () => {
    // numpy.percentile([4, 1, 3, 2, 10], [0, 25, 50, 75, 100]) = [1, 2, 3, 4, 10]
    expect(quantiles([4, 1, 3, 2, 10])).toEqual({ min: 1, q1: 2, median: 3, q3: 4, max: 10 });
    // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = [1.75, 2.5, 3.25]
    expect(quantiles([1, 2, 3, 4])).toMatchObject({ q1: 1.75, median: 2.5, q3: 3.25 });
    expect(quantiles([NaN])).toBeNull();
  });
});

describe.runIf(CHROMIUM)('reports in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launchBrowser(); });
  afterAll(async () => { await browser?.close(); });

  it('search report: top-10 table, Pareto fronts equal pareto.csv, τ equals the computed one, offline', async () => {
    const { result, details } = await fakeSearch({ tables: true, runs: 2 });
    const dir = path.join(tmp, 'with-tables');
    writeSearchOutputs(dir, result, details);
    const { page, requests, errors } = await openFile(browser, path.join(dir, 'report.html'));

    // The ten best of the first run by its own score, the answer highlighted among them.
    const top = await page.$$eval('table.top10', (ts) => [...ts[0].querySelectorAll('tbody tr')].map((tr) => ({ arch: tr.getAttribute('data-arch'), answer: tr.classList.contains('answer') })));
    const scored = readCsv(path.join(dir, `scored-seed${details[0].result.seed}.csv`));
    const expectedTop = scored.map((r, i) => ({ arch: r.arch, score: Number(r.score), i })).sort((a, b) => b.score - a.score || a.i - b.i).slice(0, 10).map((r) => r.arch);
    expect(top.map((t) => t.arch)).toEqual(expectedTop);
    expect(top.filter((t) => t.answer).map((t) => t.arch)).toEqual([result.runs[0].best.arch]);

    // Every front drawn is the one in pareto.csv, and the CSV's fronts are right for the union of both runs.
    const pareto = readCsv(path.join(dir, 'pareto.csv'));
    const allScored = new Map<string, { accuracy: number; flops: number; params: number }>();
    for (const d of details) for (const c of d.scored) allScored.set(c.arch, { accuracy: c.accuracy!, flops: c.flops, params: c.params });
    for (const cost of ['flops', 'params'] as const) {
      const drawn = await page.$$eval(`svg.accuracy-${cost} circle.pareto`, (cs) => cs.map((c) => c.getAttribute('data-arch')));
      const inCsv = pareto.filter((r) => r.front === `accuracy-${cost}`).map((r) => r.arch);
      expect(drawn).toEqual(inCsv);
      expect(drawn.length).toBeGreaterThan(1);
      // Independent check: nothing scored is both no costlier and more accurate than a front member.
      for (const a of inCsv) {
        const p = allScored.get(a)!;
        expect([...allScored.values()].some((q) => q[cost] <= p[cost] && q.accuracy > p.accuracy)).toBe(false);
      }
      expect(await page.$$eval(`svg.accuracy-${cost} circle.point`, (cs) => cs.length)).toBe(allScored.size);
    }
    // The space's best accuracy is the reference line.
    const best = Math.max(...Array.from({ length: 15625 }, (_, i) => openDefaultNatsBenchTables(DATA)!.tss!.testAccuracy('cifar10', i) ?? -Infinity));
    expect(await page.$eval('svg.accuracy-flops g.reference', (g) => Number(g.getAttribute('data-y')))).toBe(best);

    // τ shown = τ-b computed here from the scored CSVs (the union of both runs).
    const union = new Map<string, Record<string, string>>();
    for (const d of details) for (const r of readCsv(path.join(dir, `scored-seed${d.result.seed}.csv`))) if (!union.has(r.arch)) union.set(r.arch, r);
    const rows = [...union.values()];
    for (const proxy of ['intgrad_param', 'intgrad_mean']) {
      const tau = naiveTauB(rows.map((r) => Number(r[proxy])), rows.map((r) => Number(r.accuracy)));
      const shown = await page.$eval(`svg.proxy-scatter[data-proxy="${proxy}"]`, (s) => ({ tau: Number(s.getAttribute('data-tau')), text: s.querySelector('.subtitle')!.textContent }));
      expect(shown.tau).toBeCloseTo(tau, 12);
      expect(shown.text).toContain(`Kendall τ = ${tau.toFixed(3)}`);
    }
    // Convergence: one line per seed for the answer's accuracy and for the population median.
    expect(await page.$$eval('svg.answer-accuracy polyline.series', (l) => l.length)).toBe(2);
    expect(await page.$$eval('svg.population polyline.series', (l) => l.length)).toBe(2);
    // Hover values, links to the outputs, nothing fetched.
    expect(await page.$$eval('svg.accuracy-flops circle.point title', (t) => t.length)).toBe(allScored.size);
    const links = await page.$$eval('p.files a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toEqual(expect.arrayContaining(['result.json', 'pareto.csv', 'scored-seed3.csv', 'history-seed4.csv']));
    for (const l of links) expect(fs.existsSync(path.join(dir, l!))).toBe(true);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
    await page.close();
  });

  it('--objectives: the returned set is the front of the search score against FLOPs, drawn and in pareto.csv', async () => {
    const { result, details } = await fakeSearch({ tables: true, objective: 'flops' });
    const set = result.runs[0].pareto!;
    expect(set.length).toBeGreaterThan(1);
    // Brute force over the history: no architecture is no costlier and better scored.
    for (const a of set) expect(details[0].scored.some((c) => c.flops <= a.flops && c.score > a.score)).toBe(false);
    const dir = path.join(tmp, 'objectives');
    writeSearchOutputs(dir, result, details);
    const pareto = readCsv(path.join(dir, 'pareto.csv')).filter((r) => r.front === 'search-flops');
    expect(pareto.map((r) => r.arch)).toEqual(set.map((a) => a.arch));
    expect(pareto.every((r) => r.seed === '3')).toBe(true);
    const { page } = await openFile(browser, path.join(dir, 'report.html'));
    expect(await page.$$eval('svg.search-flops circle.pareto', (cs) => cs.map((c) => c.getAttribute('data-arch')))).toEqual(set.map((a) => a.arch));
    expect(await page.$$eval('table.pareto-set tbody tr', (rs) => rs.length)).toBe(set.length);
    await page.close();
  });

  it('without benchmark accuracies: the search score stands in, and no accuracy chart is drawn', async () => {
    const { result, details } = await fakeSearch({ tables: false });
    expect(result.runs[0].best.accuracy).toBeNull();
    expect(result.spaceBest).toBeNull();
    const dir = path.join(tmp, 'no-tables');
    writeSearchOutputs(dir, result, details);
    const pareto = readCsv(path.join(dir, 'pareto.csv'));
    expect(new Set(pareto.map((r) => r.front))).toEqual(new Set(['score-flops', 'score-params']));
    const { page, errors } = await openFile(browser, path.join(dir, 'report.html'));
    expect(await page.$$eval('svg.score-flops circle.pareto', (cs) => cs.map((c) => c.getAttribute('data-arch'))))
      .toEqual(pareto.filter((r) => r.front === 'score-flops').map((r) => r.arch));
    expect(await page.$$eval('svg.proxy-scatter, svg.answer-accuracy', (s) => s.length)).toBe(0);
    expect(await page.$$eval('table.top10 tbody tr', (r) => r.length)).toBe(10);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('cell drawing with all six edges set: no label boxes overlap, none covers a node, no arc runs through a node', async () => {
    const from = [0, 0, 1, 0, 1, 2], to = [1, 2, 2, 3, 3, 3];
    // The longest op names on every edge.
    const ops = ['avg_pool_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_3x3', 'avg_pool_3x3', 'nor_conv_1x1'];
    const file = path.join(tmp, 'cell.html');
    fs.writeFileSync(file, `<!doctype html><html><body style="margin:0">${cellDiagram(ops.map((op, i) => ({ from: from[i], to: to[i], op })))}</body></html>`);
    const { page } = await openFile(browser, file, { width: 700, height: 320 });
    // Runs in the page; the test's tsconfig has no DOM types, hence the `any`s.
    const geo = await page.evaluate(() => {
      const box = (e: any) => { const r = e.getBoundingClientRect(); return { x0: r.left as number, y0: r.top as number, x1: r.right as number, y1: r.bottom as number }; };
      const svg = (globalThis as any).document.querySelector('svg.cell-diagram');
      const nodes = [...svg.querySelectorAll('g.node circle')].map((c: any) => ({ cx: Number(c.getAttribute('cx')), cy: Number(c.getAttribute('cy')), r: Number(c.getAttribute('r')) }));
      const paths = [...svg.querySelectorAll('path.edge')].map((p: any) => {
        const el = p as any, len = el.getTotalLength() as number;
        return { from: Number(p.getAttribute('data-from')), to: Number(p.getAttribute('data-to')), pts: Array.from({ length: 101 }, (_, i) => { const q = el.getPointAtLength((len * i) / 100); return { x: q.x as number, y: q.y as number }; }) };
      });
      return {
        labels: [...svg.querySelectorAll('g.edge-label')].map((g: any) => ({ rect: box(g.querySelector('rect')), text: box(g.querySelector('text')) })),
        nodeBoxes: [...svg.querySelectorAll('g.node circle')].map(box),
        svg: box(svg), nodes, paths,
      };
    });
    type B = { x0: number; y0: number; x1: number; y1: number };
    const overlap = (a: B, b: B) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
    expect(geo.labels).toHaveLength(6);
    for (let i = 0; i < 6; i++) {
      const l = geo.labels[i];
      // The text fits its box, and the box is inside the drawing.
      expect(l.text.x0).toBeGreaterThanOrEqual(l.rect.x0);
      expect(l.text.x1).toBeLessThanOrEqual(l.rect.x1);
      expect(l.rect.y0).toBeGreaterThanOrEqual(geo.svg.y0);
      expect(l.rect.y1).toBeLessThanOrEqual(geo.svg.y1);
      for (let j = i + 1; j < 6; j++) expect(overlap(l.rect, geo.labels[j].rect), `labels ${i} and ${j}`).toBe(false);
      for (const n of geo.nodeBoxes) expect(overlap(l.rect, n)).toBe(false);
    }
    for (const p of geo.paths) {
      geo.nodes.forEach((n, k) => {
        if (k === p.from || k === p.to) return;
        const closest = Math.min(...p.pts.map((q) => Math.hypot(q.x - n.cx, q.y - n.cy)));
        expect(closest, `edge ${p.from}→${p.to} near node ${k}`).toBeGreaterThan(n.r + 8);
      });
    }
    await page.screenshot({ path: path.join(tmp, 'cell.png') });
    await page.close();
  });

  it('correlate report: the τ/ρ table and one scatter per proxy', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ index: i, arch: `a${i}`, accuracy: 50 + i, scores: { params: i % 7, synflow: 30 - i } }));
    const tau = { params: naiveTauB(rows.map((r) => r.scores.params), rows.map((r) => r.accuracy)), synflow: -1 };
    const result: CorrelationResult = {
      n: 30, evaluated: 30, seconds: 1, secondsPerArchitecture: 0.03, rows,
      proxies: { params: { kendall: tau.params, spearman: 0.1 }, synflow: { kendall: -1, spearman: -1 } },
    };
    const file = path.join(tmp, 'corr.html');
    fs.writeFileSync(file, renderCorrelateReport(result, { space: 'tss', dataset: 'cifar10', proxies: ['params', 'synflow'], csv: path.join(tmp, 'rows.csv'), page: file }));
    const { page, errors } = await openFile(browser, file);
    const table = await page.$$eval('table.correlations tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(table).toEqual([['params', tau.params.toFixed(3), '0.100'], ['synflow', '-1.000', '-1.000']]);
    expect(await page.$$eval('svg.proxy-scatter', (s) => s.map((e) => [e.getAttribute('data-proxy'), e.querySelectorAll('circle.point').length]))).toEqual([['params', 30], ['synflow', 30]]);
    expect(await page.$eval('p.files a', (a) => a.getAttribute('href'))).toBe('rows.csv');
    expect(errors).toEqual([]);
    await page.close();
  });
});

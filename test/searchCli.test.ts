import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CHROMIUM, launchBrowser, openFile } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mfnas-search-'));

describe('mfnas search end to end (small settings)', () => {
  const out = tmp();
  const cache = path.join(tmp(), 'scores.sqlite');
  const args = ['search', '--space', 'tss', '--dataset', 'ImageNet16-120', '--batch', '8', '--batches', '2',
    '--population', '8', '--tournament', '4', '--steps', '3', '--mutations', '1', '--workers', '2',
    '--seed', '1', '--runs', '2', '--cache', cache, '--json'];
  let result: any;

  beforeAll(async () => {
    const r = await runCli([...args, '--out', out]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    result = JSON.parse(r.stdout);
  }, 600_000);

  it('prints the documented JSON', () => {
    expect(result).toMatchObject({ space: 'tss', dataset: 'ImageNet16-120', algorithm: 'mfnas' });
    expect(result.runs.map((r: any) => r.seed)).toEqual([1, 2]);
    for (const run of result.runs) {
      expect(Object.keys(run.best).sort()).toEqual(['accuracy', 'arch', 'flops', 'index', 'params', 'scores']);
      expect(run.evaluated).toBeGreaterThan(8);
      expect(run.best.accuracy).toBeGreaterThan(0);
      expect(Object.keys(run.best.scores).sort()).toEqual(['intgrad_mean', 'intgrad_param']);
      expect(run.seconds).toBeGreaterThan(0);
    }
    expect(result.summary.accuracyMean).toBeCloseTo((result.runs[0].best.accuracy + result.runs[1].best.accuracy) / 2, 10);
  });

  it('records every setting, the engine, version and data fingerprint in result.json', () => {
    expect(result.settings).toMatchObject({
      space: 'tss', dataset: 'ImageNet16-120', algorithm: 'mfnas', population: 8, tournament: 4, steps: 3, mutations: 1,
      seed: 1, runs: 2, batch: 8, batches: 2, dataSeed: 0, initSeed: 0, maxFlops: null, maxParams: null, objectives: null, timeBudget: null,
    });
    expect(result.environment.mfnas).toBe(JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')).version);
    expect(result.environment.engine).toMatch(/^(native|wasm|node):/);
    expect(result.environment.dataFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(result.spaceBest.accuracy).toBeGreaterThanOrEqual(result.runs[0].best.accuracy);
  });

  it('--rerun RUN/result.json repeats the search and gets the same answers', async () => {
    // Without the cache: every score is computed again.
    const again = await runCli(['search', '--rerun', path.join(out, 'result.json'), '--no-cache', '--workers', '2', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const r = JSON.parse(again.stdout);
    expect(r.runs.map((x: any) => x.best.arch)).toEqual(result.runs.map((x: any) => x.best.arch));
    expect(r.runs.map((x: any) => x.evaluated)).toEqual(result.runs.map((x: any) => x.evaluated));
    expect(r.settings).toEqual(result.settings);
    expect(again.stderr).toContain('rerun: the same answers as recorded');
    // A flag that would change the search cannot be combined with --rerun.
    const clash = await runCli(['search', '--rerun', path.join(out, 'result.json'), '--steps', '9']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--steps cannot be combined with --rerun/);
  });

  it('prints a readable summary without --json, and with --objectives the Pareto set', async () => {
    const r = await runCli([...args.filter((a) => a !== '--json'), '--objectives', 'proxy,flops']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('MFNAS search on TSS / ImageNet16-120 · population 8, tournament 4, 3 steps, 1 mutation per parent · 2 × 8 images · 2 runs');
    expect(lines[2]).toMatch(/^seed\s+index\s+accuracy %\s+params M\s+FLOPs M\s+scored\s+seconds\s+answer$/);
    // Rounded: accuracy to 2 decimals, params in M to 3, FLOPs in M to 2, seconds to 1.
    expect(lines[3]).toMatch(/^\s+1\s+\d+\s+\d+\.\d\d\s+\d+\.\d{3}\s+\d+\.\d\d\s+\d+\s+\d+\.\d\s+\|/);
    expect(lines[3]).toContain(result.runs[0].best.arch);
    expect(r.stdout).not.toMatch(/\d\.\d{5,}/); // no raw floats
    expect(r.stdout).toMatch(/Pareto set of seed 1: \d+ architectures trading MFNAS rank against FLOPs, cheapest first/);
    const json = JSON.parse((await runCli([...args, '--objectives', 'proxy,flops'])).stdout);
    expect(json.runs[0].best.arch).toBe(result.runs[0].best.arch); // the search itself is unchanged
    const set = json.runs[0].pareto;
    expect(set.length).toBeGreaterThan(0);
    for (let i = 1; i < set.length; i++) expect(set[i].flops).toBeGreaterThan(set[i - 1].flops);
  });

  it('with --json, an error is one JSON line on stderr', async () => {
    const r = await runCli(['search', '--objectives', 'proxy,latency', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stderr)).toEqual({ error: expect.stringMatching(/--objectives "proxy,latency" is not supported: use proxy,flops or proxy,params/), exitCode: 2 });
    const usage = await runCli(['search', '--no-such-flag', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toMatchObject({ exitCode: 2, error: expect.stringContaining('--no-such-flag') });
  });

  it('writes the history CSV, every scored architecture, pareto.csv and the report', () => {
    const history = readFileSync(path.join(out, 'history-seed1.csv'), 'utf8').trim().split('\n');
    expect(history[0]).toBe('step,evaluated,answer_index,answer_arch,answer_accuracy,best_score,seconds,' +
      'population_min,population_q1,population_median,population_q3,population_max');
    expect(history.length).toBe(1 + 4); // steps 0..3
    const scored = readFileSync(path.join(out, 'scored-seed1.csv'), 'utf8').trim().split('\n');
    expect(scored.length - 1).toBe(result.runs[0].evaluated);
    expect(readFileSync(path.join(out, 'pareto.csv'), 'utf8').split('\n')[0]).toBe('front,seed,index,arch,accuracy,params,flops,score,intgrad_param,intgrad_mean');
    expect(JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'))).toEqual(result);
  });

  it.runIf(CHROMIUM)('renders the report in headless Chromium: answer, top 10, fronts, τ, convergence, cell', async () => {
    const browser = await launchBrowser();
    try {
      const { page, requests, errors } = await openFile(browser, path.join(out, 'report.html'));
      const box = await page.$eval('.answer-box', (e) => e.textContent);
      expect(box).toContain(result.runs[0].best.arch);
      expect(box).toContain(`${result.runs[0].best.accuracy.toFixed(2)} %`);
      expect(await page.$$eval('table.top10', (t) => t.length)).toBe(2);
      expect(await page.$$eval('table.top10', (t) => t[0].querySelectorAll('tbody tr').length)).toBe(Math.min(10, result.runs[0].evaluated));
      const pareto = readFileSync(path.join(out, 'pareto.csv'), 'utf8').trim().split('\n').slice(1).filter((l) => l.startsWith('accuracy-flops,'));
      expect(await page.$$eval('svg.accuracy-flops circle.pareto', (c) => c.length)).toBe(pareto.length);
      expect(await page.$$eval('svg.proxy-scatter', (s) => s.map((e) => e.getAttribute('data-proxy')))).toEqual(['intgrad_param', 'intgrad_mean']);
      expect(await page.$$eval('svg.answer-accuracy polyline.series', (l) => l.length)).toBe(2);
      expect(await page.$$eval('svg.cell-diagram', (l) => l.length)).toBe(2);
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      const png = await page.screenshot({ fullPage: true });
      const img = PNG.sync.read(Buffer.from(png));
      // The charts' colours are on screen: points blue and the answers red.
      let blue = 0, red = 0;
      for (let i = 0; i < img.data.length; i += 4) {
        const [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
        if (Math.abs(r - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40) blue++;
        if (Math.abs(r - 0xd6) < 30 && Math.abs(g - 0x27) < 30 && Math.abs(b - 0x28) < 30) red++;
      }
      expect(blue).toBeGreaterThan(200);
      expect(red).toBeGreaterThan(20);
    } finally {
      await browser.close();
    }
  });
});

describe('search outputs with a proxy named like a cost column', () => {
  it('REA on the params proxy writes one params column (cost) and one proxy_params column', async () => {
    const out = tmp();
    const r = await runCli(['search', '--space', 'sss', '--dataset', 'cifar10', '--algorithm', 'rea', '--proxy', 'params',
      '--population', '4', '--tournament', '2', '--steps', '2', '--no-cache', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const file of ['scored-seed0.csv', 'pareto.csv']) {
      const header = readFileSync(path.join(out, file), 'utf8').split('\n')[0].split(',');
      expect(new Set(header).size, `${file}: ${header.join(',')}`).toBe(header.length);
      expect(header).toContain('proxy_params');
    }
  }, 120_000);

  it('--screen: candidates on the cheap input, the best confirmed on the full one; recorded and repeatable', async () => {
    const out = tmp();
    const cache = path.join(tmp(), 'scores.sqlite');
    const screened = ['search', '--space', 'tss', '--dataset', 'ImageNet16-120', '--batch', '8', '--batches', '2', '--screen', '2x4',
      '--confirm', '3', '--population', '8', '--tournament', '4', '--steps', '3', '--mutations', '1', '--workers', '2',
      '--cache', cache, '--json'];
    const r = await runCli([...screened, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    const run = json.runs[0];
    expect(json.settings.screen).toEqual({ batches: 2, batch: 4, resolution: null, confirm: 3 });
    expect([json.settings.batches, json.settings.batch]).toEqual([2, 8]);
    expect(run.confirmed).toHaveLength(3);
    expect(run.confirmed.map((c: any) => c.arch)).toContain(run.best.arch);
    // The report names the screen and lists the confirmations with their full-input scores.
    const report = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(report).toContain('candidates on 2 × 4 images, the 3 best confirmed on 2 × 8');
    const confirmedRows = [...report.matchAll(/<table class="confirmed">(.*?)<\/table>/gs)][0]![1]!.match(/<tr[ >]/g)!.length - 1;
    expect(confirmedRows).toBe(3);
    expect(report).toMatch(new RegExp(`<table class="confirmed">.*class="answer" data-arch="${run.best.arch.replace(/[|~+]/g, '\\$&')}"`, 's'));
    // The answer's scores are the full input's: what `mfnas score` gives on 2 × 8 images.
    const score = JSON.parse((await runCli(['score', '--space', 'tss', '--dataset', 'ImageNet16-120', '--batch', '8', '--batches', '2',
      '--seed', '0', '--arch', run.best.arch, '--no-cache', '--json'])).stdout);
    expect(run.best.scores.intgrad_param).toBe(score.scores.intgrad_param);
    // On one thread instead of a pool (and without the cache): the same answer and confirmations, bit for bit.
    const again = await runCli(['search', '--rerun', path.join(out, 'result.json'), '--no-cache', '--workers', '1', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).runs[0].best.arch).toBe(run.best.arch);
    expect(JSON.parse(again.stdout).runs[0].confirmed).toEqual(run.confirmed);
    expect(again.stderr).toMatch(/the same answer/);
    for (const bad of [['--screen', '2by32'], ['--confirm', '3'], ['--screen', '2x4', '--algorithm', 'rea']]) {
      const e = await runCli(['search', '--space', 'tss', '--dataset', 'ImageNet16-120', ...bad]);
      expect(e.code, bad.join(' ')).toBe(2);
      expect(e.stderr.trim().split('\n'), bad.join(' ')).toHaveLength(1);
    }
  }, 300_000);
});

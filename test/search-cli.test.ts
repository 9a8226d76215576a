import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { runCli } from './helpers/cli.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mfnas-search-'));
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

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

  it('is reproducible: the same command and seed give the same answer', async () => {
    const again = JSON.parse((await runCli(args)).stdout);
    expect(again.runs.map((r: any) => r.best.arch)).toEqual(result.runs.map((r: any) => r.best.arch));
    expect(again.runs.map((r: any) => r.evaluated)).toEqual(result.runs.map((r: any) => r.evaluated));
  });

  it('writes the history CSV, every scored architecture and the report', () => {
    const history = readFileSync(path.join(out, 'history-seed1.csv'), 'utf8').trim().split('\n');
    expect(history[0]).toBe('step,evaluated,answer_index,answer_arch,answer_accuracy,best_score,seconds');
    expect(history.length).toBe(1 + 4); // steps 0..3
    const scored = readFileSync(path.join(out, 'scored-seed1.csv'), 'utf8').trim().split('\n');
    expect(scored.length - 1).toBe(result.runs[0].evaluated);
    expect(JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'))).toEqual(result);
  });

  it.runIf(CHROMIUM)('renders the report in headless Chromium with its plots', () => {
    const html = path.join(out, 'report.html');
    const png = path.join(out, 'shot.png');
    const dom = execFileSync(CHROMIUM!, [...CHROME_FLAGS, '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] });
    // Two line charts with one polyline per run, a scatter with every scored point, the cell drawing.
    expect((dom.match(/class="chart line-chart"/g) ?? []).length).toBe(2);
    expect((dom.match(/class="series"/g) ?? []).length).toBe(4);
    expect((dom.match(/class="point( highlight)?"/g) ?? []).length).toBe(result.runs[0].evaluated);
    expect(dom).toMatch(/class="chart cell-diagram"/);
    execFileSync(CHROMIUM!, [...CHROME_FLAGS, `--screenshot=${png}`, '--window-size=1200,1800', `file://${html}`], { timeout: 120_000, stdio: 'ignore' });
    const img = PNG.sync.read(readFileSync(png));
    // The charts' colours are on screen: series blue and the highlighted answer red.
    let blue = 0, red = 0;
    for (let i = 0; i < img.data.length; i += 4) {
      const [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
      if (Math.abs(r - 0x1f) < 30 && Math.abs(g - 0x77) < 30 && Math.abs(b - 0xb4) < 30) blue++;
      if (Math.abs(r - 0xd6) < 30 && Math.abs(g - 0x27) < 30 && Math.abs(b - 0x28) < 30) red++;
    }
    expect(blue).toBeGreaterThan(200);
    expect(red).toBeGreaterThan(20);
  });
});

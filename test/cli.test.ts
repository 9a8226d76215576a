import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runCli, startCli } from './helpers/cli.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mfnas-cli-'));

describe('mfnas arch', () => {
  it('prints the benchmark facts of an architecture as JSON', async () => {
    const r = await runCli(['arch', '--space', 'tss', '--arch', '9930', '--dataset', 'cifar100', '--json']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o).sort()).toEqual(['accuracy', 'arch', 'canonical', 'dataset', 'flops', 'index', 'params', 'space']);
    expect(o.index).toBe(9930);
    expect(o.arch).toBe('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
    expect(o.accuracy).toBeCloseTo(73.513, 2); // data README: best CIFAR-100 = 73.513 at 9930
    const s = JSON.parse((await runCli(['arch', '--space', 'sss', '--arch', '8:8:8:8:16', '--json'])).stdout);
    expect(s.index).toBe(1);
    expect(s.params).toBe(18386); // MFNAS.md §1 check
  });

  it('gives accuracy null without a benchmark table', async () => {
    const r = await runCli(['arch', '--arch', '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|', '--json', '--data-dir', tmp()]);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.accuracy).toBeNull();
    expect(o.index).toBeNull();
  });

  it.each([
    [['arch', '--arch', '15625'], /out of range 0\.\.15624/],
    [['arch', '--arch', '|nor_conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|'], /unknown op|nor_conv_9x9/],
    [['arch', '--arch', '1', '--dataset', 'mnist'], /unknown dataset 'mnist'/],
    [['arch', '--arch', '1', '--space', 'nasbench101'], /unknown search space/],
    [['search', '--max-params', '10', '--dataset', 'cifar10', '--batch', '4'], /no tss architecture satisfies the limits/],
    [['score', '--arch', '1', '--dataset', 'ImageNet16-120'], /has only 106 images.*2 batches of 53/],
  ])('bad input %j exits 2 with one clear line', async (args, pattern) => {
    const r = await runCli(args as string[], { MFNAS_CACHE: path.join(tmp(), 'c.sqlite') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names where it looked when the data is missing', async () => {
    const r = await runCli(['score', '--arch', '1', '--data-dir', path.join(tmp(), 'nowhere')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nowhere/);
  });
});

describe('score cache', () => {
  it('survives a process killed mid-run, and the rerun resumes', async () => {
    const cache = path.join(tmp(), 'scores.sqlite');
    const args = ['correlate', '--space', 'tss', '--dataset', 'ImageNet16-120', '--sample', '16', '--seed', '5',
      '--batch', '8', '--batches', '2', '--workers', '1', '--cache', cache, '--proxies', 'intgrad_param,intgrad_mean', '--json'];
    const child = startCli(args);
    const rows = () => {
      try {
        const db = new Database(cache, { readonly: true, fileMustExist: true });
        try { return (db.prepare('SELECT COUNT(DISTINCT canonical) AS n FROM scores').get() as { n: number }).n; } finally { db.close(); }
      } catch { return 0; }
    };
    const deadline = Date.now() + 300_000;
    while (rows() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = rows();
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(16);

    const r = await runCli(args);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.n).toBe(16);
    // Only what the killed run had not committed is computed again.
    expect(o.evaluated).toBeLessThanOrEqual(16 - before);
    expect(o.evaluated).toBeGreaterThan(0);
    expect(rows()).toBeGreaterThanOrEqual(before);
    // A third run computes nothing.
    expect(JSON.parse((await runCli(args)).stdout).evaluated).toBe(0);
  });
});

describe('readable output and --json everywhere', () => {
  it('arch and score print aligned, rounded summaries without --json', async () => {
    const a = await runCli(['arch', '--arch', '9930', '--dataset', 'cifar100']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('index      9930\n');
    expect(a.stdout).toContain('params     1.294 M (1,294,356)\n');
    expect(a.stdout).toMatch(/FLOPs {6}\d+\.\d\d M\n/);
    expect(a.stdout).toContain('accuracy   73.51 %\n');
    const cache = path.join(tmp(), 'c.sqlite');
    const s = await runCli(['score', '--arch', '9930', '--dataset', 'ImageNet16-120', '--batch', '8', '--batches', '1', '--cache', cache]);
    expect(s.code, s.stderr).toBe(0);
    const lines = s.stdout.split('\n');
    expect(lines[0]).toBe('arch       |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
    expect(lines[2]).toBe('scored on  TSS / ImageNet16-120, 1 × 8 images, seed 0');
    expect(lines[4]).toBe('proxy          score');
    // Scores to 4 significant digits, in one right-aligned column, and the time to 0.1 s.
    expect(lines[5]).toMatch(/^intgrad_param +\d[\d.]*$/);
    expect(lines[6]).toMatch(/^intgrad_mean +\d[\d.]*$/);
    expect(lines[5].length).toBe(lines[6].length);
    expect(lines[5].split(/ +/)[1].replace(/^0\.0*|\./g, '').length).toBeLessThanOrEqual(4);
    expect(s.stdout).toMatch(/\n\d+\.\d s\n$/);
    const j = JSON.parse((await runCli(['score', '--arch', '9930', '--dataset', 'ImageNet16-120', '--batch', '8', '--batches', '1', '--cache', cache, '--json'])).stdout);
    expect(Number(lines[5].split(/ +/)[1])).toBe(Number(j.scores.intgrad_param.toPrecision(4)));
  });

  it('correlate --report writes the page beside the CSV of --out', async () => {
    const dir = tmp();
    const r = await runCli(['correlate', '--dataset', 'ImageNet16-120', '--indices', '0,1,2,3,4', '--proxies', 'params,flops', '--batch', '8', '--batches', '1',
      '--workers', '1', '--no-cache', '--out', path.join(dir, 'rows.csv'), '--report', path.join(dir, 'rows.html')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^TSS \/ ImageNet16-120 · 5 architectures/);
    expect(r.stdout).toMatch(/\nproxy +Kendall τ +Spearman ρ\nparams +-?\d\.\d{3} +-?\d\.\d{3}\n/);
    expect(readFileSync(path.join(dir, 'rows.csv'), 'utf8').split('\n')[0]).toBe('index,arch,accuracy,params,flops');
    const html = readFileSync(path.join(dir, 'rows.html'), 'utf8');
    expect(html).toContain('href="rows.csv"');
    expect((html.match(/class="chart proxy-scatter"/g) ?? []).length).toBe(2);
    const bad = await runCli(['correlate', '--indices', '0,1', '--report', path.join(dir, 'rows.csv'), '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatch(/--report .* should end in \.html/);
  });

  it('data fetch takes --json, and its errors are then one JSON line', async () => {
    const r = await runCli(['data', 'fetch', 'ImageNet16-120', '--to', tmp(), '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ error: expect.stringMatching(/nothing installed: pass the ImageNet16 archives with --from/), exitCode: 2 });
    const imp = await runCli(['natsbench', 'import', '--space', 'tss', '--from', path.join(tmp(), 'missing'), '--to', tmp(), '--json']);
    expect(imp.code).toBe(2);
    expect(JSON.parse(imp.stderr.trim().split('\n').pop()!)).toMatchObject({ exitCode: 2 });
  });
});

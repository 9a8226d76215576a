/**
 * The whole-space scan on a slice of the space: one evaluation per class, members sharing it,
 * every architecture written once in index order, resumable from the cache, and the same scores
 * as scoring each architecture alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { scan, score } from '../src/index.js';
import { registerScanCommand } from '../src/cli/commands/scan.js';
import { kendallTau } from '../src/stats/correlation.js';
import { DATA } from './helpers/cli.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';

let dir: string;
const prevData = process.env.MFNAS_DATA_DIR;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mfnas-scan-'));
  process.env.MFNAS_DATA_DIR = DATA;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (prevData === undefined) delete process.env.MFNAS_DATA_DIR;
  else process.env.MFNAS_DATA_DIR = prevData;
});

// Indices 14..30 of TSS hold 17 cells in 15 classes (14 ~ 30 and 19 ~ 29 compute the same function).
const OPTIONS = {
  space: 'tss', dataset: 'cifar100', batch: 16, batches: 2, range: [14, 31] as const, proxies: 'intgrad_param,params', workers: 1,
};

describe('scan', { timeout: 300_000 }, () => {
  it('scores each class once, gives members its scores, writes every architecture, and resumes from the cache', async () => {
    const cache = path.join(dir, 'scores.sqlite');
    const out = path.join(dir, 'scores.csv');
    const r = await scan({ ...OPTIONS, cache, out });
    expect([r.architectures, r.classes, r.evaluated, r.cached]).toEqual([17, 15, 15, 0]);
    const at = (i: number) => r.rows.find((row) => row.index === i)!;
    expect(at(30).canonical).toBe(at(14).canonical);
    expect(at(30).scores).toEqual(at(14).scores);
    expect(at(29).scores).toEqual(at(19).scores);
    expect(at(20).scores.intgrad_param).not.toBe(at(21).scores.intgrad_param);

    // The CSV: index, arch and the proxies; every index once, in order; scores as printed read back exactly.
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0])).toEqual(['index', 'arch', 'intgrad_param', 'params']);
    expect(rows.map((x) => Number(x.index))).toEqual(Array.from({ length: 17 }, (_, i) => 14 + i));
    for (const x of rows) {
      expect(x.arch).toBe(at(Number(x.index)).arch);
      expect(Number(x.intgrad_param)).toBe(at(Number(x.index)).scores.intgrad_param);
    }

    // τ over all architectures (members counted each), against the table's accuracies.
    const acc = r.rows.map((x) => x.accuracy!);
    expect(r.correlation!.params!.kendall).toBe(kendallTau(r.rows.map((x) => x.scores.params!), acc));

    // Scoring a member alone (its own session, no cache) gives the scan's bits.
    const alone = await score({ space: 'tss', dataset: 'cifar100', arch: 30, batch: 16, batches: 2, proxies: 'intgrad_param,params', cache: false });
    expect(alone.scores).toEqual(at(30).scores);

    const again = await scan({ ...OPTIONS, cache, out: path.join(dir, 'again.csv') });
    expect([again.evaluated, again.cached]).toEqual([0, 15]);
    expect(readFileSync(path.join(dir, 'again.csv'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  it('scans SSS by its arithmetic index', async () => {
    const r = await scan({ space: 'sss', dataset: 'cifar10', batch: 8, batches: 1, range: [32760, 32768], proxies: 'params', cache: false, workers: 1 });
    expect(r.rows.map((x) => x.arch)).toContain('64:64:64:64:64');
    expect(r.rows).toHaveLength(8);
    expect(r.classes).toBe(8);
    expect(new Set(r.rows.map((x) => x.scores.params)).size).toBe(8);
  });

  it('refuses bad flags with one line', async () => {
    const run = (args: string[]) => runCommandsInProcess(registerScanCommand, ['scan', ...args]);
    // commander's own usage error (the real entry point prints it as one line, exit 2).
    await expect(run(['--space', 'tss'])).rejects.toThrow(/--out/);
    for (const range of ['5:2', '0:15626', 'x', '3']) {
      const r = await run(['--range', range, '--out', path.join(dir, 'x.csv')]);
      expect(r.code, range).toBe(2);
      expect(r.stderr).toMatch(/--range .* START:END/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const badQueue = await run(['--range', '0:2', '--out', path.join(dir, 'x.csv'), '--queue', 'ftp://u:pw@h']);
    expect(badQueue.code).toBe(2);
    expect(badQueue.stderr).toMatch(/not a Redis URL/);
    expect(badQueue.stderr).not.toContain('pw@');
  });
});

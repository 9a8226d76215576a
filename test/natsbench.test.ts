import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, InputError } from '../src/util/errors.js';
import { clearNatsBenchTablesCache, openNatsBenchTables, loadTssTable, type TssTable, type SssTable } from '../src/natsbench/tables.js';
import { parseArchitecture, tssSpace } from '../src/spaces/index.js';
import type { DatasetName } from '../src/datasets/registry.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.resolve(here, '../../shared/data');
const NATS = path.join(DATA, 'nats-bench');

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-bench-test-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function argmax(xs: Float64Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function mean(xs: Float64Array): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** A data dir whose nats-bench/ holds the given files (name → text). */
function fakeDataDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'data-'));
  fs.mkdirSync(path.join(dir, 'nats-bench'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'nats-bench', name), text);
  return dir;
}

function realText(name: string): string {
  return fs.readFileSync(path.join(NATS, name), 'utf8');
}

function expectDataError(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DataError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

describe('TSS table', () => {
  const t0 = performance.now();
  clearNatsBenchTablesCache();
  const bench = openNatsBenchTables(DATA);
  const tss = bench.tss as TssTable;
  const sss = bench.sss as SssTable;
  const loadMs = performance.now() - t0;

  it('loads quickly and is cached', () => {
    expect(tss).not.toBeNull();
    expect(sss).not.toBeNull();
    expect(loadMs).toBeLessThan(3000); // ~0.1 s normally; generous for a busy machine
    expect(openNatsBenchTables(DATA).tss).toBe(tss);
    expect(openNatsBenchTables(DATA + '/').sss).toBe(sss);
  });

  it('has 15,625 rows and the known best architectures (data/README)', () => {
    expect(tss.size).toBe(15625);
    const best: [DatasetName, number, number][] = [
      ['cifar10', 6111, 94.373],
      ['cifar100', 9930, 73.513],
      ['ImageNet16-120', 857, 47.311],
    ];
    for (const [d, index, acc] of best) {
      expect(argmax(tss.testAccuracies(d))).toBe(index);
      expect(tss.testAccuracy(d, index)).toBeCloseTo(acc, 3);
    }
    expect(tss.testAccuracy('cifar10', 0)).toBeCloseTo(85.863, 3);
  });

  it('space means match MFNAS.md §5', () => {
    expect(mean(tss.testAccuracies('cifar10'))).toBeCloseTo(87.06, 2);
    expect(mean(tss.testAccuracies('cifar100'))).toBeCloseTo(61.41, 2);
    expect(mean(tss.testAccuracies('ImageNet16-120'))).toBeCloseTo(33.59, 2);
  });

  it('maps index <-> arch string and exposes UniqueString and params', () => {
    const s9930 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
    expect(tss.archString(9930)).toBe(s9930);
    expect(tss.indexOfArch(s9930)).toBe(9930);
    expect(tss.indexOfArch('|none~0|+|none~0|none~1|+|none~0|none~1|bogus~2|')).toBeUndefined();
    const uniques = new Set<string | null>();
    let bad = 0;
    for (let i = 0; i < tss.size; i++) {
      if (tss.indexOfArch(tss.archString(i)) !== i) bad++;
      uniques.add(tss.uniqueString(i));
    }
    expect(bad).toBe(0);
    expect(uniques.size).toBe(6466);
    expect(tss.params('cifar10', 0)).toBe(129306);
    expect(tss.params('cifar100', 0)).toBe(135156);
    expect(tss.params('ImageNet16-120', 0)).toBe(136456);
    expect(tss.paramsPath).toBe(path.join(NATS, 'nats-tss-params.csv'));
    expect(() => tss.archString(15625)).toThrow(InputError);
    expect(tss.columns).toContain('UniqueString');
    expect(tss.numericColumn('NoSuchColumn')).toBeNull();
  });

  it('gives tssSpace its index order', () => {
    const space = tssSpace(tss);
    expect(space.format(parseArchitecture(space, '6111'))).toBe(tss.archString(6111));
    expect(space.indexOf(space.parse(tss.archString(857)))).toBe(857);
  });

  it('SSS table: size, best configurations and params (data/README, MFNAS.md)', () => {
    expect(sss.size).toBe(32768);
    const best: [DatasetName, string, number][] = [
      ['cifar10', '64:64:56:64:24', 93.65],
      ['cifar100', '64:64:48:48:64', 71.34],
      ['ImageNet16-120', '64:64:56:64:56', 47.4],
    ];
    for (const [d, ch, acc] of best) {
      const i = argmax(sss.testAccuracies(d));
      expect(sss.channels(i)).toBe(ch);
      expect(sss.testAccuracy(d, i)).toBeCloseTo(acc, 2);
    }
    expect(argmax(sss.testAccuracies('cifar10'))).toBe(32698);
    expect(sss.channels(1)).toBe('8:8:8:8:16');
    expect(sss.params('cifar10', 1)).toBe(18386);
    expect(sss.params('cifar10', 0)).toBe(11714);
    expect(() => sss.testAccuracy('cifar10', -1)).toThrow(InputError);
  });
});

describe('missing and malformed files', () => {
  it('a missing directory or file gives null tables', () => {
    const bench = openNatsBenchTables(path.join(tmpRoot, 'does-not-exist'));
    expect(bench.tss).toBeNull();
    expect(bench.sss).toBeNull();
    const onlySss = openNatsBenchTables(fakeDataDir({}));
    expect(onlySss.tss).toBeNull();
  });

  it('a TSS table without the params file still loads; params are null', () => {
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': realText('nats-tss-test-accuracy-200ep.csv') });
    const tss = openNatsBenchTables(dir).tss!;
    expect(tss.params('cifar10', 0)).toBeNull();
    expect(tss.paramsPath).toBeNull();
    expect(tss.testAccuracy('cifar100', 9930)).toBeCloseTo(73.513, 3);
  });

  it('a truncated TSS CSV (whole lines cut) is a DataError naming the file', () => {
    const lines = realText('nats-tss-test-accuracy-200ep.csv').split('\n');
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': lines.slice(0, 1001).join('\n') + '\n' });
    const file = path.join(dir, 'nats-bench', 'nats-tss-test-accuracy-200ep.csv');
    expectDataError(() => openNatsBenchTables(dir).tss, file, '1,000 data row(s)', 'expected 15,625');
  });

  it('a TSS CSV cut mid-line is a DataError naming the file and line', () => {
    const text = realText('nats-tss-test-accuracy-200ep.csv');
    // cut inside the first field of data line 8000 (file line 8001)
    let start = 0;
    for (let i = 0; i < 8000; i++) start = text.indexOf('\n', start) + 1;
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': text.slice(0, start + 3) });
    expectDataError(() => openNatsBenchTables(dir).tss, 'nats-tss-test-accuracy-200ep.csv', 'line 8001 has 1 field(s)');
  });

  it('a truncated SSS CSV or params CSV is a DataError naming the file', () => {
    const sssLines = realText('nats-sss-test-accuracy-90ep.csv').split('\n');
    const dir = fakeDataDir({ 'nats-sss-test-accuracy-90ep.csv': sssLines.slice(0, 20000).join('\n') });
    expectDataError(() => openNatsBenchTables(dir).sss, 'nats-sss-test-accuracy-90ep.csv', 'expected 32,768');

    const pLines = realText('nats-tss-params.csv').split('\n');
    const dir2 = fakeDataDir({
      'nats-tss-test-accuracy-200ep.csv': realText('nats-tss-test-accuracy-200ep.csv'),
      'nats-tss-params.csv': pLines.slice(0, 500).join('\n'),
    });
    expectDataError(() => openNatsBenchTables(dir2).tss, 'nats-tss-params.csv', 'expected 15,625');
  });

  it('a missing required column or a non-numeric value is a DataError', () => {
    const text = realText('nats-tss-test-accuracy-200ep.csv');
    const noArch = text.replace('ArchitectureString', 'Arch');
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': noArch });
    expectDataError(() => openNatsBenchTables(dir).tss, 'nats-tss-test-accuracy-200ep.csv', "'ArchitectureString' is missing");

    const lines = text.split('\n');
    const f = lines[5].split(',');
    f[1] = 'abc';
    lines[5] = f.join(',');
    const dir2 = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': lines.join('\n') });
    expectDataError(() => openNatsBenchTables(dir2).tss, 'line 6', 'CIFAR100TestAccuracy200Epochs', '"abc"');

    const g = text.split('\n');
    g[3] = g[3].replace('avg_pool_3x3~0', 'max_pool_3x3~0');
    const dir3 = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': g.join('\n') });
    expectDataError(() => openNatsBenchTables(dir3).tss, 'line 4', "unknown op 'max_pool_3x3'");

    const s = realText('nats-sss-test-accuracy-90ep.csv').split('\n');
    [s[10], s[11]] = [s[11], s[10]];
    const dir4 = fakeDataDir({ 'nats-sss-test-accuracy-90ep.csv': s.join('\n') });
    expectDataError(() => openNatsBenchTables(dir4).sss, 'nats-sss-test-accuracy-90ep.csv', 'line 11');
  });

  it('refuses accuracies outside 0..100, negative counts, non-decimal numbers and an empty UniqueString', () => {
    const tssText = realText('nats-tss-test-accuracy-200ep.csv');
    /** The TSS table with field `col` of data line `line` (1 = first data row) replaced. */
    const withField = (line: number, col: number, value: string) => {
      const lines = tssText.split('\n');
      const f = lines[line].split(',');
      f[col] = value;
      lines[line] = f.join(',');
      return fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': lines.join('\n') });
    };
    expectDataError(() => openNatsBenchTables(withField(3, 0, '101.5')).tss, 'line 4', 'CIFAR10TestAccuracy200Epochs', 'not in 0..100');
    expectDataError(() => openNatsBenchTables(withField(3, 2, '-0.5')).tss, 'line 4', 'ImageNetTestAccuracy200Epochs', 'not in 0..100');
    for (const odd of ['0x1F', '1e', '0b1', 'Infinity', '1_0', '.']) {
      expectDataError(() => openNatsBenchTables(withField(8, 1, odd)).tss, 'line 9', JSON.stringify(odd), 'not a decimal number');
    }
    // Plain decimal forms stay accepted, an empty cell is a missing value.
    const ok = openNatsBenchTables(withField(8, 1, '7.5e1')).tss!;
    expect(ok.testAccuracy('cifar100', 7)).toBe(75);
    expect(openNatsBenchTables(withField(8, 1, '')).tss!.testAccuracy('cifar100', 7)).toBeNull();
    expectDataError(() => openNatsBenchTables(withField(5, 4, '')).tss, 'line 6', 'empty UniqueString');
    // A 100 KB cell is quoted short.
    let err: Error | undefined;
    try {
      void openNatsBenchTables(withField(2, 0, 'z'.repeat(100_000))).tss;
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(DataError);
    expect(err!.message.length).toBeLessThan(400);

    const p = realText('nats-tss-params.csv').split('\n');
    p[4] = p[4].replace(/^3,\d+/, '3,-73306');
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': tssText, 'nats-tss-params.csv': p.join('\n') });
    expectDataError(() => openNatsBenchTables(dir).tss, 'nats-tss-params.csv', 'line 5', 'CIFAR10Params', 'not >= 0');

    const s = realText('nats-sss-test-accuracy-90ep.csv').split('\n');
    s[2] = s[2].replace(',82.56,', ',0x52,');
    expectDataError(() => openNatsBenchTables(fakeDataDir({ 'nats-sss-test-accuracy-90ep.csv': s.join('\n') })).sss, 'line 3', '"0x52"');
  });

  it('tolerates reordered, quoted and extra columns (importer format); optional columns may be absent', () => {
    // rebuild the TSS table with a different column order, an extra column with gaps, no UniqueString,
    // quoted fields (exercises the general CSV parser) and CRLF line ends
    const lines = realText('nats-tss-test-accuracy-200ep.csv').trim().split('\n');
    const header = lines[0].split(',');
    const col = (name: string) => header.indexOf(name);
    const out = ['"ArchitectureString","FLOPs",CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs,CIFAR10TestAccuracy200Epochs'];
    lines.slice(1).forEach((line, i) => {
      const f = line.split(',');
      const flops = i % 7 === 0 ? '' : String(i / 10);
      out.push(
        [`"${f[col('ArchitectureString')]}"`, flops, f[col('CIFAR100TestAccuracy200Epochs')], f[col('ImageNetTestAccuracy200Epochs')], f[col('CIFAR10TestAccuracy200Epochs')]].join(','),
      );
    });
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': out.join('\r\n') + '\r\n' });
    const t = loadTssTable(path.join(dir, 'nats-bench', 'nats-tss-test-accuracy-200ep.csv'));
    expect(t).not.toBeNull();
    const tss = t!;
    expect(tss.size).toBe(15625);
    expect(tss.uniqueString(0)).toBeNull();
    expect(tss.params('cifar10', 0)).toBeNull();
    expect(argmax(tss.testAccuracies('cifar10'))).toBe(6111);
    expect(tss.testAccuracy('ImageNet16-120', 857)).toBeCloseTo(47.311, 3);
    expect(tss.archString(9930)).toBe('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
    const flops = tss.numericColumn('FLOPs')!;
    expect(Number.isNaN(flops[0])).toBe(true);
    expect(flops[1]).toBeCloseTo(0.1, 12);
  });

  it('re-reads a file that changed on disk', () => {
    const text = realText('nats-tss-test-accuracy-200ep.csv');
    const dir = fakeDataDir({ 'nats-tss-test-accuracy-200ep.csv': text });
    const first = openNatsBenchTables(dir).tss!;
    expect(openNatsBenchTables(dir).tss).toBe(first);
    const file = path.join(dir, 'nats-bench', 'nats-tss-test-accuracy-200ep.csv');
    fs.writeFileSync(file, text.split('\n').slice(0, 10).join('\n'));
    expectDataError(() => openNatsBenchTables(dir).tss, 'expected 15,625');
  });
});

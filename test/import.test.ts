/**
 * The NATS-Bench importer against the real official "simple" files in
 * ../shared/data/nats-bench/official-sample/ (architectures 0, 11, 284 of each space) and
 * against corrupt inputs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import ts from 'typescript';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { importNatsBench } from '../src/natsbench/import/natsImport.js';
import { bunzip, unpickle } from '../src/natsbench/import/pickle.js';
import { summarizeRecordFile } from '../src/natsbench/import/record.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';
import { registerNatsBenchCommands } from '../src/cli/commands/natsbench.js';
import { DataError, InputError } from '../src/util/errors.js';

const ROOT = path.resolve(__dirname, '..');
const SHARED = path.resolve(ROOT, '../shared/data/nats-bench');
const SAMPLE = path.join(SHARED, 'official-sample');
const TSS_DIR = path.join(SAMPLE, 'NATS-tss-v1_0-3ffb9-simple');
const SSS_DIR = path.join(SAMPLE, 'NATS-sss-v1_0-50262-simple');
const WRONG_SHAPE = path.join(ROOT, 'test/fixtures/fetch/nats-tss-wrong-shape-000011.pickle.pbz2');
const SAMPLED = [0, 11, 284];

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-import-test-'));
let n = 0;
const fresh = () => path.join(tmpRoot, `case-${n++}`);

afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

interface Table {
  header: string[];
  rows: string[][];
}

function readTable(file: string): Table {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

function cell(t: Table, row: number, column: string): string {
  const c = t.header.indexOf(column);
  if (c < 0) throw new Error(`no column ${column}`);
  return t.rows[row][c];
}

/** The commands of this module on a bare program. */
const cli = (args: string[]) => runCommandsInProcess(registerNatsBenchCommands, args);

/** Transpile `entries` and every module they import (relative imports) from src/ to `outDir`. */
function transpileTree(entries: string[], outDir: string): void {
  const srcRoot = path.join(ROOT, 'src');
  const todo = [...entries];
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) todo.push(path.resolve(path.dirname(file), `${m[1]}.ts`));
    const js = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    }).outputText;
    const dst = path.join(outDir, path.relative(srcRoot, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.writeFileSync(dst, js);
  }
}

/** Copy the sample folder of a space into a temp dir (to damage it). */
function copySample(src: string): string {
  const dst = path.join(fresh(), path.basename(src));
  fs.mkdirSync(dst, { recursive: true });
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  return dst;
}

describe('decoding the official files', () => {
  it('unpickles a record: OrderedDict by training length, tuple keys, numpy scalars', () => {
    const file = path.join(TSS_DIR, '000000.pickle.pbz2');
    const root = unpickle(bunzip(fs.readFileSync(file), file), file) as Map<string, Map<string, unknown>>;
    expect([...root.keys()]).toEqual(['12', '200']);
    const rec = root.get('200')!;
    expect(rec.get('arch_index')).toBe(0);
    const all = rec.get('all_results') as Map<unknown, Map<string, unknown>>;
    const key = [...all.keys()].find((k) => Array.isArray(k) && k[0] === 'cifar10' && k[1] === 777)!;
    const run = all.get(key)!;
    expect(run.get('params')).toBeCloseTo(0.129306, 12); // numpy.float64 scalar
    expect(run.get('epochs')).toBe(200);
    expect((run.get('eval_acc1es') as Map<string, number>).has('ori-test@199')).toBe(true);
    expect(run.get('train_times')).toBeInstanceOf(Map); // OrderedDict
  });

  it('reproduces get_more_info / get_cost_info for one record', () => {
    const s = summarizeRecordFile(path.join(TSS_DIR, '000000.pickle.pbz2'), 'tss', 0);
    expect(s.metrics.cifar10.test).toBe(85.86333333333334);
    expect(s.metrics.cifar10.params).toBe(129306);
    expect(s.metrics.cifar10.flops).toBeCloseTo(15.64737, 10);
    expect(s.metrics.cifar10.valid).toBeGreaterThan(80); // cifar10-valid, x-valid
    expect(s.metrics['ImageNet16-120'].latency).toBeGreaterThan(0);
    expect(s.metrics.cifar100.trainTime).toBeGreaterThan(0);
  });
});

describe('importNatsBench (official sample)', () => {
  it('TSS: values equal the reference tables for indexes 0, 11, 284; missing rows empty', async () => {
    const to = fresh();
    const r = await importNatsBench({ space: 'tss', from: TSS_DIR, to, concurrency: 1 });
    expect(r.total).toBe(15_625);
    expect(r.imported).toBe(3);
    expect(r.epochs).toBe(200);
    expect(r.missing).toHaveLength(15_622);
    expect(r.missing.slice(0, 3)).toEqual([1, 2, 3]);
    const accFile = path.join(to, 'nats-bench', 'nats-tss-test-accuracy-200ep.csv');
    const parFile = path.join(to, 'nats-bench', 'nats-tss-params.csv');
    expect(r.tables).toEqual([accFile, parFile]);

    const ref = readTable(path.join(SHARED, 'nats-tss-test-accuracy-200ep.csv'));
    const refPar = readTable(path.join(SHARED, 'nats-tss-params.csv'));
    const got = readTable(accFile);
    const gotPar = readTable(parFile);
    // Same leading columns as the reference; extra columns after them.
    expect(got.header.slice(0, ref.header.length)).toEqual(ref.header);
    expect(got.header).toContain('CIFAR10ValidAccuracy200Epochs');
    expect(gotPar.header.slice(0, refPar.header.length)).toEqual(refPar.header);
    for (const extra of ['CIFAR10FLOPs', 'ImageNetLatency', 'CIFAR100TrainTime']) expect(gotPar.header).toContain(extra);
    expect(got.rows).toHaveLength(15_625);
    expect(gotPar.rows).toHaveLength(15_625);

    for (const i of SAMPLED) {
      for (const col of ['CIFAR10TestAccuracy200Epochs', 'CIFAR100TestAccuracy200Epochs', 'ImageNetTestAccuracy200Epochs']) {
        expect(Number(cell(got, i, col)), `${col} @ ${i}`).toBe(Number(cell(ref, i, col)));
      }
      for (const col of ['Index', 'CIFAR10Params', 'CIFAR100Params', 'ImageNetParams']) {
        expect(cell(gotPar, i, col), `${col} @ ${i}`).toBe(cell(refPar, i, col));
      }
      expect(Number(cell(got, i, 'CIFAR10ValidAccuracy200Epochs'))).toBeGreaterThan(0);
    }
    // Architecture strings (meta_archs) and UniqueString agree for every row, present or not.
    for (let i = 0; i < 15_625; i++) {
      if (got.rows[i][3] !== ref.rows[i][3] || got.rows[i][4] !== ref.rows[i][4]) {
        throw new Error(`row ${i}: ${got.rows[i].slice(3, 5)} vs ${ref.rows[i].slice(3, 5)}`);
      }
    }
    // A missing architecture: strings kept, measured values empty — nothing invented.
    expect(got.rows[1].slice(0, 3)).toEqual(['', '', '']);
    expect(got.rows[1].slice(5).every((c) => c === '')).toBe(true);
    expect(gotPar.rows[1][0]).toBe('1');
    expect(gotPar.rows[1].slice(1).every((c) => c === '')).toBe(true);
    // No temporary files next to the tables.
    expect(fs.readdirSync(path.join(to, 'nats-bench')).sort()).toEqual(['nats-tss-params.csv', 'nats-tss-test-accuracy-200ep.csv']);
  });

  it('SSS: values equal the reference table for indexes 0, 11, 284', async () => {
    const to = fresh();
    const r = await importNatsBench({ space: 'sss', from: SSS_DIR, to });
    expect(r.total).toBe(32_768);
    expect(r.epochs).toBe(90);
    expect(r.missing).toHaveLength(32_765);
    const ref = readTable(path.join(SHARED, 'nats-sss-test-accuracy-90ep.csv'));
    const got = readTable(r.tables[0]);
    expect(path.basename(r.tables[0])).toBe('nats-sss-test-accuracy-90ep.csv');
    expect(got.header.slice(0, ref.header.length)).toEqual(ref.header);
    expect(got.header).toContain('ImageNetValidAccuracy90Epochs');
    expect(got.rows).toHaveLength(32_768);
    for (const i of SAMPLED) {
      for (const col of ref.header) {
        const want = cell(ref, i, col);
        const have = cell(got, i, col);
        if (col === 'Channels') expect(have).toBe(want);
        else expect(Number(have), `${col} @ ${i}`).toBe(Number(want));
      }
    }
    for (let i = 0; i < 32_768; i++) {
      if (got.rows[i][1] !== ref.rows[i][1]) throw new Error(`row ${i}: ${got.rows[i][1]} vs ${ref.rows[i][1]}`);
    }
    expect(got.rows[1].slice(2).every((c) => c === '')).toBe(true);
  });

  it('reads a .tar of the folder and the parent folder, and cleans up', async () => {
    const src = fresh();
    fs.mkdirSync(src, { recursive: true });
    const tarFile = path.join(src, 'NATS-tss-v1_0-3ffb9-simple.tar');
    await tar.c({ file: tarFile, cwd: SAMPLE }, ['NATS-tss-v1_0-3ffb9-simple']);
    const to = fresh();
    const fromTar = await importNatsBench({ space: 'tss', from: tarFile, to });
    expect(fromTar.imported).toBe(3);
    expect(fs.readdirSync(to)).toEqual(['nats-bench']); // temporary extraction removed
    const viaTar = fs.readFileSync(fromTar.tables[0], 'utf8');

    // A truncated .tar: clear error, and the --to folder created for the extraction is gone.
    const badTar = path.join(src, 'cut.tar');
    fs.writeFileSync(badTar, fs.readFileSync(tarFile).subarray(0, 100_000));
    const toBad = fresh();
    await expect(importNatsBench({ space: 'tss', from: badTar, to: toBad })).rejects.toThrow(/cut\.tar: cannot extract \(TAR_BAD_ARCHIVE/);
    expect(fs.existsSync(toBad)).toBe(false);

    const to2 = fresh();
    const fromParent = await importNatsBench({ space: 'tss', from: SAMPLE, to: to2 });
    expect(fromParent.source).toBe(TSS_DIR);
    expect(fs.readFileSync(fromParent.tables[0], 'utf8')).toBe(viaTar);
  });

  it('refuses the wrong space with a hint', async () => {
    await expect(importNatsBench({ space: 'sss', from: TSS_DIR, to: fresh() })).rejects.toThrow(/use --space tss/);
    // Folder renamed, so only the meta file can tell.
    const renamed = path.join(fresh(), 'bench');
    fs.mkdirSync(renamed, { recursive: true });
    for (const f of fs.readdirSync(SSS_DIR)) fs.copyFileSync(path.join(SSS_DIR, f), path.join(renamed, f));
    const err = await importNatsBench({ space: 'tss', from: renamed, to: fresh() }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/meta\.pickle\.pbz2 is the meta file of the sss benchmark.*--space sss/);
    await expect(importNatsBench({ space: 'tss', from: path.join(tmpRoot, 'nope'), to: fresh() })).rejects.toThrow(InputError);
  });
});

describe('compatibility with the table reader (src/natsbench/tables.ts)', () => {
  it('reads the imported columns once the table is complete', async () => {
    // The sample has 3 architectures; fill the other rows' empty cells from the reference tables
    // (as a complete official folder would) and open the result with the system's reader.
    const to = fresh();
    const r = await importNatsBench({ space: 'tss', from: TSS_DIR, to });
    const refs = [path.join(SHARED, 'nats-tss-test-accuracy-200ep.csv'), path.join(SHARED, 'nats-tss-params.csv')].map(readTable);
    r.tables.forEach((file, k) => {
      const t = readTable(file);
      const lines = [t.header.join(',')];
      t.rows.forEach((row, i) => {
        const filled = row.map((c, j) => (c === '' && refs[k].header.includes(t.header[j]) ? cell(refs[k], i, t.header[j]) : c));
        lines.push(filled.join(','));
      });
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
    });
    const { loadTssTable, clearNatsBenchTablesCache } = await import('../src/natsbench/tables.js');
    clearNatsBenchTablesCache();
    const table = loadTssTable(r.tables[0], r.tables[1])!;
    expect(table.testAccuracy('cifar10', 0)).toBe(85.86333333333334);
    expect(table.testAccuracy('cifar100', 284)).toBe(62.13999997558594);
    expect(table.params('ImageNet16-120', 11)).toBe(809576);
    expect(table.uniqueString(11)).toBe(cell(refs[0], 11, 'UniqueString'));
    const valid = table.numericColumn('CIFAR10ValidAccuracy200Epochs')!;
    expect(valid[0]).toBeGreaterThan(80);
    expect(Number.isNaN(valid[1])).toBe(true); // extra columns keep empty cells for missing archs
  });
});

describe('importNatsBench (corrupt input): clear errors, nothing half-written', () => {
  /** An output dir holding earlier tables, to check they survive a failed import untouched. */
  function outputWithOldTables(): { to: string; check: () => void } {
    const to = fresh();
    const dir = path.join(to, 'nats-bench');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'nats-tss-test-accuracy-200ep.csv'), 'old accuracy table\n');
    fs.writeFileSync(path.join(dir, 'nats-tss-params.csv'), 'old params table\n');
    return {
      to,
      check: () => {
        expect(fs.readdirSync(dir).sort()).toEqual(['nats-tss-params.csv', 'nats-tss-test-accuracy-200ep.csv']);
        expect(fs.readFileSync(path.join(dir, 'nats-tss-test-accuracy-200ep.csv'), 'utf8')).toBe('old accuracy table\n');
        expect(fs.readFileSync(path.join(dir, 'nats-tss-params.csv'), 'utf8')).toBe('old params table\n');
      },
    };
  }

  it('truncated bz2 record', async () => {
    const src = copySample(TSS_DIR);
    const f = path.join(src, '000011.pickle.pbz2');
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 40_000));
    const out = outputWithOldTables();
    const err = await importNatsBench({ space: 'tss', from: src, to: out.to }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain(f);
    expect(err.message).toMatch(/corrupt or truncated bzip2 data/);
    out.check();
  });

  it('truncated meta file', async () => {
    const src = copySample(SSS_DIR);
    const f = path.join(src, 'meta.pickle.pbz2');
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 1000));
    const err = await importNatsBench({ space: 'sss', from: src, to: fresh() }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/meta\.pickle\.pbz2: corrupt or truncated bzip2 data/);
  });

  it('a file that is not bzip2', async () => {
    const src = copySample(TSS_DIR);
    fs.writeFileSync(path.join(src, '000284.pickle.pbz2'), 'hello');
    await expect(importNatsBench({ space: 'tss', from: src, to: fresh() })).rejects.toThrow(/000284\.pickle\.pbz2: not a bzip2 file/);
  });

  it('a pickle of the wrong shape (record lacking the last-epoch accuracy)', async () => {
    const src = copySample(TSS_DIR);
    fs.copyFileSync(WRONG_SHAPE, path.join(src, '000011.pickle.pbz2'));
    const out = outputWithOldTables();
    const err = await importNatsBench({ space: 'tss', from: src, to: out.to }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain('000011.pickle.pbz2');
    expect(err.message).toMatch(/eval_acc1es.*no 'ori-test@199' entry/);
    out.check();
  });

  it('a pickle of the wrong shape (meta file, or an SSS record, in place of a TSS record)', async () => {
    const src = copySample(TSS_DIR);
    fs.copyFileSync(path.join(TSS_DIR, 'meta.pickle.pbz2'), path.join(src, '000011.pickle.pbz2'));
    const out = outputWithOldTables();
    await expect(importNatsBench({ space: 'tss', from: src, to: out.to })).rejects.toThrow(/000011\.pickle\.pbz2: no 200-epoch results/);
    fs.copyFileSync(path.join(SSS_DIR, '000011.pickle.pbz2'), path.join(src, '000011.pickle.pbz2'));
    await expect(importNatsBench({ space: 'tss', from: src, to: out.to })).rejects.toThrow(/looks like a sss record; use --space sss/);
    // A record under another index's name.
    fs.copyFileSync(path.join(TSS_DIR, '000000.pickle.pbz2'), path.join(src, '000011.pickle.pbz2'));
    await expect(importNatsBench({ space: 'tss', from: src, to: out.to })).rejects.toThrow(/holds architecture 0, but its file name says 11/);
    out.check();
  });

  it('--strict refuses incomplete input', async () => {
    const out = outputWithOldTables();
    await expect(importNatsBench({ space: 'tss', from: TSS_DIR, to: out.to, strict: true })).rejects.toThrow(/15,622 of 15,625 architecture records are missing/);
    out.check();
  });

  it('a folder without records', async () => {
    const src = path.join(fresh(), 'NATS-tss-v1_0-3ffb9-simple');
    fs.mkdirSync(src, { recursive: true });
    fs.copyFileSync(path.join(TSS_DIR, 'meta.pickle.pbz2'), path.join(src, 'meta.pickle.pbz2'));
    await expect(importNatsBench({ space: 'tss', from: src, to: fresh() })).rejects.toThrow(/no architecture records/);
    await expect(importNatsBench({ space: 'tss', from: path.dirname(WRONG_SHAPE), to: fresh() })).rejects.toThrow(/no meta\.pickle\.pbz2 found/);
  });
});

describe('mfnas bench import (CLI)', () => {
  it('imports and reports the missing architectures', async () => {
    const to = fresh();
    const r = await cli(['bench', 'import', '--space', 'sss', '--from', SSS_DIR, '--to', to, '--jobs', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported 3 of 32,768 architectures/);
    expect(r.stdout).toMatch(/32,765 architectures have no record file/);
    expect(r.stdout).toContain(path.join(to, 'nats-bench', 'nats-sss-test-accuracy-90ep.csv'));
    const wrong = await cli(['bench', 'import', '--space', 'tss', '--from', SSS_DIR, '--to', to]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/use --space sss/);
    const json = await cli(['--data-dir', to, 'bench', 'import', '--space', 'tss', '--from', TSS_DIR, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ space: 'tss', imported: 3, missing: 15_622 });
  });
});

describe('worker threads (compiled build)', () => {
  it('gives the same tables as the in-process path', async () => {
    // Transpile the importer (and what it imports) to JS under node_modules/.cache so that the
    // worker script exists and bare imports resolve; then run it with 2 workers.
    const out = path.join(ROOT, 'node_modules', '.cache', `mfnas-import-test-${process.pid}`);
    try {
      transpileTree([path.join(ROOT, 'src/natsbench/import/natsImport.ts'), path.join(ROOT, 'src/natsbench/import/importThread.ts')], out);
      fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
      const toWorkers = fresh();
      const script = `
        import { importNatsBench } from ${JSON.stringify(path.join(out, 'natsbench/import/natsImport.js'))};
        const r = await importNatsBench({ space: 'tss', from: ${JSON.stringify(TSS_DIR)}, to: ${JSON.stringify(toWorkers)}, concurrency: 2 });
        console.log(JSON.stringify(r.tables));
      `;
      const run = (name: string, code: string) => {
        fs.writeFileSync(path.join(out, name), code);
        return execFileSync(process.execPath, [path.join(out, name)], { cwd: ROOT }).toString();
      };
      const tables = JSON.parse(run('ok.mjs', script)) as string[];
      const toInline = fresh();
      const inline = await importNatsBench({ space: 'tss', from: TSS_DIR, to: toInline, concurrency: 1 });
      expect(tables.map((t) => path.basename(t))).toEqual(inline.tables.map((t) => path.basename(t)));
      for (let i = 0; i < tables.length; i++) {
        expect(fs.readFileSync(tables[i], 'utf8')).toBe(fs.readFileSync(inline.tables[i], 'utf8'));
      }
      // Errors found in a worker arrive as the same DataError message.
      const bad = copySample(TSS_DIR);
      fs.writeFileSync(path.join(bad, '000011.pickle.pbz2'), fs.readFileSync(path.join(TSS_DIR, '000011.pickle.pbz2')).subarray(0, 30_000));
      const failing = `
        import { importNatsBench } from ${JSON.stringify(path.join(out, 'natsbench/import/natsImport.js'))};
        try { await importNatsBench({ space: 'tss', from: ${JSON.stringify(bad)}, to: ${JSON.stringify(fresh())}, concurrency: 2 }); console.log('no error'); }
        catch (e) { console.log(e.name + ': ' + e.message); }
      `;
      const msg = run('fail.mjs', failing);
      expect(msg).toMatch(/^DataError: .*000011\.pickle\.pbz2: corrupt or truncated bzip2 data/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

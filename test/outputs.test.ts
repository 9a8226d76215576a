/**
 * Output files are checked before the work that produces them, and appear whole or not at all
 * (src/util/atomicWrite.ts and the commands that write files).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { importNatsBench } from '../src/natsbench/import/natsImport.js';
import { registerNatsBenchCommands } from '../src/cli/commands/natsbench.js';
import { registerCorrelateCommand } from '../src/cli/commands/correlate.js';
import { registerSearchCommand } from '../src/cli/commands/search.js';
import { checkOutputDir, checkOutputFile, writeFilesAtomic } from '../src/util/atomicWrite.js';
import { DataError, InputError } from '../src/util/errors.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, '../shared/data');
const TSS_DIR = path.join(DATA, 'nats-bench/official-sample/NATS-tss-v1_0-3ffb9-simple');

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-outputs-test-'));
let n = 0;
const fresh = () => {
  const d = path.join(tmpRoot, `case-${n++}`);
  fs.mkdirSync(d);
  return d;
};
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Every entry under `dir`, recursively (relative paths). */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(pattern);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr.trimEnd().length).toBeLessThanOrEqual(200);
}

describe('writeFilesAtomic', () => {
  it('writes all files, replacing earlier versions, and leaves nothing else', () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'a.csv'), 'old a\n');
    writeFilesAtomic([{ path: path.join(dir, 'a.csv'), data: 'new a\n' }, { path: path.join(dir, 'sub', 'b.csv'), data: 'b\n' }]);
    expect(fs.readFileSync(path.join(dir, 'a.csv'), 'utf8')).toBe('new a\n');
    expect(fs.readFileSync(path.join(dir, 'sub', 'b.csv'), 'utf8')).toBe('b\n');
    expect(tree(dir)).toEqual(['a.csv', 'sub', path.join('sub', 'b.csv')]);
  });

  it('puts every file back when a later rename fails, and removes its temporaries and new folders', () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'first.csv'), 'old first\n');
    const realRename = fs.renameSync;
    let calls = 0;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      // The second file's rename fails (as on a full or read-only disk); the first has happened.
      if (String(to).endsWith('second.csv') && ++calls === 1) throw Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
      return realRename(from, to);
    });
    const err = (() => {
      try {
        writeFilesAtomic([
          { path: path.join(dir, 'first.csv'), data: 'new first\n' },
          { path: path.join(dir, 'new', 'second.csv'), data: 'second\n' },
        ]);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/second\.csv.*ENOSPC.*nothing was changed/);
    expect(fs.readFileSync(path.join(dir, 'first.csv'), 'utf8')).toBe('old first\n');
    expect(tree(dir)).toEqual(['first.csv']);
  });

  it('refuses a folder where a file goes, before writing anything', () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'a.csv'), 'old a\n');
    fs.mkdirSync(path.join(dir, 'b.csv'));
    expect(() => writeFilesAtomic([{ path: path.join(dir, 'a.csv'), data: 'new' }, { path: path.join(dir, 'b.csv'), data: 'new' }]))
      .toThrow(DataError);
    expect(fs.readFileSync(path.join(dir, 'a.csv'), 'utf8')).toBe('old a\n');
    expect(tree(dir)).toEqual(['a.csv', 'b.csv']);
  });
});

describe('checkOutputFile / checkOutputDir', () => {
  it('accept a new file in an existing folder, and a new or existing folder', () => {
    const dir = fresh();
    checkOutputFile(path.join(dir, 'rows.csv'), '--out');
    checkOutputDir(dir, '--out');
    checkOutputDir(path.join(dir, 'new', 'deeper'), '--out');
    expect(tree(dir)).toEqual([]); // checking creates nothing
  });

  it.each([
    ['a folder given as the file', (d: string) => d, /--out: .* is a folder; give a file name/],
    ['a file in a missing folder', (d: string) => path.join(d, 'missing', 'rows.csv'), /the folder .*missing" does not exist; create it first/],
    ['a path through a file', (d: string) => { fs.writeFileSync(path.join(d, 'f'), ''); return path.join(d, 'f', 'rows.csv'); }, /--out: /],
  ])('checkOutputFile refuses %s', (_name, make, pattern) => {
    const target = make(fresh());
    expect(() => checkOutputFile(target, '--out')).toThrow(InputError);
    expect(() => checkOutputFile(target, '--out')).toThrow(pattern);
  });

  it('checkOutputDir refuses an existing file, a path through a file, and a file name that is a folder', () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'f'), '');
    expect(() => checkOutputDir(path.join(dir, 'f'), '--out')).toThrow(/exists and is not a folder/);
    expect(() => checkOutputDir(path.join(dir, 'f', 'sub'), '--out')).toThrow(/is a file, so .* cannot be created/);
    fs.mkdirSync(path.join(dir, 'result.json'));
    expect(() => checkOutputDir(dir, '--out', ['result.json'])).toThrow(/result\.json" is a folder/);
  });
});

describe('correlate --out', () => {
  const base = (cache: string) => ['correlate', '--data-dir', DATA, '--space', 'tss', '--dataset', 'cifar10', '--indices', '0,1,2',
    '--proxies', 'params', '--workers', '1', '--batch', '4', '--batches', '1', '--cache', cache];

  it.each([
    ['a folder', (d: string) => d, /--out: .* is a folder/],
    ['a file in a missing folder', (d: string) => path.join(d, 'no', 'rows.csv'), /does not exist/],
  ])('naming %s fails at once with one line (nothing scored, no temporary file)', async (_name, make, pattern) => {
    const dir = fresh();
    const cache = path.join(dir, 'scores.sqlite');
    const out = make(dir);
    const r = await runCommandsInProcess(registerCorrelateCommand, [...base(cache), '--out', out]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, pattern);
    // No scoring session was opened (it creates the cache), and nothing was left beside --out.
    expect(tree(dir)).toEqual([]);
  });
});

describe('search --out', () => {
  const base = (cache: string) => ['search', '--data-dir', DATA, '--space', 'tss', '--dataset', 'ImageNet16-120', '--batch', '8',
    '--batches', '1', '--population', '4', '--tournament', '2', '--steps', '1', '--mutations', '1', '--workers', '1', '--cache', cache];

  it('naming an existing file fails at once with one line', async () => {
    const dir = fresh();
    const cache = path.join(dir, 'scores.sqlite');
    fs.writeFileSync(path.join(dir, 'taken'), 'keep me\n');
    const r = await runCommandsInProcess(registerSearchCommand, [...base(cache), '--out', path.join(dir, 'taken')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /--out: .*taken" exists and is not a folder/);
    expect(tree(dir)).toEqual(['taken']);
    expect(fs.readFileSync(path.join(dir, 'taken'), 'utf8')).toBe('keep me\n');
  });

  it('a folder holding a folder named like one of its outputs fails at once', async () => {
    const dir = fresh();
    const out = path.join(dir, 'run');
    fs.mkdirSync(path.join(out, 'history-seed3.csv'), { recursive: true });
    const r = await runCommandsInProcess(registerSearchCommand, [...base(path.join(dir, 'c.sqlite')), '--seed', '3', '--out', out]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /history-seed3\.csv" is a folder/);
    expect(fs.existsSync(path.join(dir, 'c.sqlite'))).toBe(false);
  });
});

describe('bench import --to: all tables or none', () => {
  /** A data dir with earlier TSS tables; returns a check that they are untouched. */
  function withOldTables(): { to: string; dir: string; check: () => void } {
    const to = fresh();
    const dir = path.join(to, 'nats-bench');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'nats-tss-test-accuracy-200ep.csv'), 'old accuracy table\n');
    fs.writeFileSync(path.join(dir, 'nats-tss-params.csv'), 'old params table\n');
    const before = tree(to);
    return {
      to, dir,
      check: () => {
        expect(tree(to)).toEqual(before);
        expect(fs.readFileSync(path.join(dir, 'nats-tss-test-accuracy-200ep.csv'), 'utf8')).toBe('old accuracy table\n');
      },
    };
  }

  it('a table path that is a folder is refused before reading anything, and the other table is kept', async () => {
    const out = withOldTables();
    fs.rmSync(path.join(out.dir, 'nats-tss-params.csv'));
    fs.mkdirSync(path.join(out.dir, 'nats-tss-params.csv'));
    const progress = vi.fn();
    const err = await importNatsBench({ space: 'tss', from: TSS_DIR, to: out.to, concurrency: 1, onProgress: progress }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/nats-tss-params\.csv" is a folder/);
    expect(progress).not.toHaveBeenCalled();
    out.check();

    const r = await runCommandsInProcess(registerNatsBenchCommands, ['bench', 'import', '--space', 'tss', '--from', TSS_DIR, '--to', out.to, '--jobs', '1']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /nats-tss-params\.csv" is a folder/);
  });

  it('--to through a file, or nats-bench being a file, exits 2 at once', async () => {
    const to = fresh();
    fs.writeFileSync(path.join(to, 'file'), '');
    const r = await runCommandsInProcess(registerNatsBenchCommands, ['bench', 'import', '--space', 'tss', '--from', TSS_DIR, '--to', path.join(to, 'file', 'x')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /--to: .*file" is a file/);
    fs.writeFileSync(path.join(to, 'nats-bench'), '');
    const r2 = await runCommandsInProcess(registerNatsBenchCommands, ['natsbench', 'import', '--space', 'tss', '--from', TSS_DIR, '--to', to]);
    expect(r2.code).toBe(2);
    expectOneLine(r2.stderr, /nats-bench" exists and is not a folder/);
  });

  it('a failure while renaming the second table restores the first', async () => {
    const out = withOldTables();
    const realRename = fs.renameSync;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (String(to).endsWith('nats-tss-params.csv') && String(from).includes('.tmp-')) throw Object.assign(new Error('EIO'), { code: 'EIO' });
      return realRename(from, to);
    });
    const err = await importNatsBench({ space: 'tss', from: TSS_DIR, to: out.to, concurrency: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/nats-tss-params\.csv.*EIO/);
    vi.restoreAllMocks();
    expect(fs.readFileSync(path.join(out.dir, 'nats-tss-params.csv'), 'utf8')).toBe('old params table\n');
    out.check();
  });
});

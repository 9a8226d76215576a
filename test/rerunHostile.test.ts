/**
 * `search --rerun` checks result.json with the command line's schema before any work: a doctored
 * file is one line naming the field (exit 2), never a search without end or "the same answer as
 * recorded" for answers that were never there. The flags and the library's `search()` refuse the
 * same values with the same words.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { search } from '../src/api/index.js';
import { registerSearchCommand } from '../src/cli/commands/search.js';
import { SEARCH_SETTING_BOUNDS } from '../src/search/settings.js';
import { DATA, runCliWithin } from './helpers/cli.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-rerun-hostile-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
// Had a doctored file been accepted, the search would fail on the missing data (another message), not run.
const emptyDataDir = fs.mkdtempSync(path.join(tmpRoot, 'empty-'));

const cli = (args: string[]) => runCommandsInProcess(registerSearchCommand, args);

function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0].length).toBeLessThanOrEqual(200);
  // eslint-disable-next-line no-control-regex
  expect(lines[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
}

// Analytic fidelities (no forward pass): a real two-run search in well under a second of scoring.
const SMALL = ['--space', 'tss', '--dataset', 'cifar10', '--batch', '4', '--batches', '1', '--population', '8', '--tournament', '4',
  '--steps', '3', '--mutations', '1', '--workers', '1', '--no-cache', '--fidelities', 'params,flops', '--seed', '1', '--runs', '2'];

let original: any;
let originalFile: string;
let n = 0;

/** A copy of the real result.json, changed by `edit`. */
function doctored(edit: (json: any) => void): string {
  const json = structuredClone(original);
  edit(json);
  const file = path.join(tmpRoot, `doctored-${n++}.json`);
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

beforeAll(async () => {
  const out = fs.mkdtempSync(path.join(tmpRoot, 'run-'));
  const r = await cli(['search', '--data-dir', DATA, ...SMALL, '--json', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  originalFile = path.join(out, 'result.json');
  original = JSON.parse(fs.readFileSync(originalFile, 'utf8'));
  expect(original.runs).toHaveLength(2);
});

describe('search --rerun checks result.json before any work', () => {
  it('the untouched file reruns to the same answers', async () => {
    const r = await cli(['search', '--data-dir', DATA, '--rerun', originalFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('rerun: the same answers as recorded');
  });

  it.each<[string, (j: any) => void, RegExp]>([
    ['runs not an array', (j) => { j.runs = 'x'; }, /^mfnas: --rerun: runs must be an array of 2 run records \{seed, best: \{arch\}\} \(settings\.runs\), got "x" in /],
    ['runs empty', (j) => { j.runs = []; }, /--rerun: runs must be an array of 2 run records .*, got 0 records in /],
    ['a run missing', (j) => { j.runs.pop(); }, /--rerun: runs must be an array of 2 run records .*, got 1 record in /],
    ['a run of another seed', (j) => { j.runs[1].seed = 7; }, /--rerun: runs\[1\]\.seed must be 2 \(settings\.seed \+ 1\), got 7 in /],
    ['a run that is no record', (j) => { j.runs[0] = null; }, /--rerun: runs\[0\]\.seed must be 1 \(settings\.seed \+ 0\), got null in /],
    ['an answer that is no architecture', (j) => { j.runs[0].best.arch = '|bogus~0|'; }, /--rerun: runs\[0\]\.best\.arch must be a tss architecture, got "\|bogus~0\|"/],
    ['an answer missing', (j) => { delete j.runs[1].best; }, /--rerun: runs\[1\]\.best\.arch must be a tss architecture, got nothing/],
    ['settings not an object', (j) => { j.settings = 'x'; }, /--rerun: .* records no settings/],
    ['population 1e9', (j) => { j.settings.population = 1e9; }, /^mfnas: --rerun: settings\.population must be an integer from 2 to 10000, got 1000000000 in /],
    ['steps 1e12', (j) => { j.settings.steps = 1e12; }, /--rerun: settings\.steps must be an integer from 0 to 100000, got 1000000000000 in /],
    ['runs 1e6', (j) => { j.settings.runs = 1e6; }, /--rerun: settings\.runs must be an integer from 1 to 10000, got 1000000 in /],
    ['samples 1e9', (j) => { j.settings.samples = 1e9; }, /--rerun: settings\.samples must be an integer from 1 to 32768, got 1000000000/],
    ['mutations 1e6', (j) => { j.settings.mutations = 1e6; }, /--rerun: settings\.mutations must be an integer from 0 to 1000/],
    ['batch 1e9', (j) => { j.settings.batch = 1e9; }, /--rerun: settings\.batch must be an integer from 1 to 4096/],
    ['a negative seed', (j) => { j.settings.seed = -1; }, /--rerun: settings\.seed must be an integer from 0 to 4294967295, got -1 in /],
    ['a seed as text', (j) => { j.settings.dataSeed = '0'; }, /--rerun: settings\.dataSeed must be an integer from 0 to 4294967295, got "0" in /],
    ['a missing number', (j) => { delete j.settings.tournament; }, /--rerun: settings\.tournament must be an integer from 2 to 10000, got null in /],
    ['the last seed passed', (j) => { j.settings.seed = 2 ** 32 - 1; }, /--rerun: settings\.runs 2 from settings\.seed 4294967295 goes past the largest seed/],
    ['tournament above population', (j) => { j.settings.tournament = 9; }, /--rerun: settings\.tournament \(9\) cannot exceed settings\.population \(8\)/],
    ['a time budget as text', (j) => { j.settings.timeBudget = 'soon'; }, /--rerun: settings\.timeBudget must be a number, got "soon"/],
    ['a time budget of a century', (j) => { j.settings.timeBudget = 52_560_000; }, /--rerun: settings\.timeBudget must be at most 525600/],
    ['a negative limit', (j) => { j.settings.maxFlops = -5; }, /--rerun: settings\.maxFlops must be greater than 0, got -5/],
    ['an unknown proxy', (j) => { j.settings.proxy = 'nope'; }, /--rerun: settings\.proxy must be a proxy, a preset or ensemble\(a,b,\.\.\.\), got "nope"/],
    ['fidelities as text', (j) => { j.settings.fidelities = 'params'; }, /--rerun: settings\.fidelities must be a list of different proxies/],
    ['an unknown algorithm', (j) => { j.settings.algorithm = 'genetic'; }, /--rerun: settings\.algorithm must be mfnas, rea, random, got "genetic"/],
    ['a space that is an object', (j) => { j.settings.space = { x: 1 }; }, /--rerun: settings\.space must be one of tss, sss, macro, got \{"x":1\}/],
    ['a dataset with escapes', (j) => { j.settings.dataset = '\u001b[2Jcifar10'; }, /--rerun: settings\.dataset must be .*, got "\\u001b\[2Jcifar10"/],
    ['skipBad as text', (j) => { j.settings.skipBad = 'yes'; }, /--rerun: settings\.skipBad must be true or false/],
    ['a huge screen', (j) => { j.settings.screen = { batches: 2, batch: 99999, resolution: null, confirm: 3 }; },
      /--rerun: settings\.screen\.batch must be an integer from 1 to 4096, got 99999/],
    ['a screen that is a list', (j) => { j.settings.screen = [2, 4]; }, /--rerun: settings\.screen must be null or \{batches, batch, resolution, confirm\}/],
    ['a screen on REA', (j) => { j.settings.algorithm = 'rea'; j.settings.screen = { batches: 1, batch: 2, resolution: null, confirm: 3 }; },
      /--rerun: settings\.screen is for settings\.algorithm mfnas; rea scores every candidate on one input/],
    ['an environment that is a number', (j) => { j.environment = 5; }, /--rerun: environment must be an object, got 5/],
    ['a fingerprint with escapes', (j) => { j.environment.dataFingerprint = '\u001b[2J'; }, /--rerun: environment\.dataFingerprint must be hexadecimal digits, got "\\u001b\[2J"/],
    ['an engine with a newline', (j) => { j.environment.engine = 'native\nforged line'; }, /--rerun: environment\.engine must be an engine key/],
  ])('%s: exit 2, one line naming the field', async (_, edit, pattern) => {
    const file = doctored(edit);
    const r = await cli(['search', '--data-dir', emptyDataDir, '--rerun', file]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, pattern);
    expect(r.stderr).toContain(path.basename(file));
  });

  it('a folder, and a FIFO, named as the result are refused without reading', async () => {
    const dir = await cli(['search', '--data-dir', emptyDataDir, '--rerun', tmpRoot]);
    expect(dir.code).toBe(2);
    expectOneLine(dir.stderr, /--rerun: the search result .* is a directory, not a regular file/);
    const fifo = path.join(tmpRoot, 'result.json');
    execFileSync('mkfifo', [fifo]);
    // In a child: reading a FIFO without a writer would block this process's event loop for good.
    const r = await runCliWithin(['search', '--data-dir', emptyDataDir, '--rerun', fifo], 30_000);
    expect(r.hung).toBe(false);
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr, /--rerun: the search result .*result\.json" is a FIFO \(named pipe\), not a regular file/);
  }, 60_000);
});

describe('flags, result.json and the library refuse a value with the same words', () => {
  const cases: Array<[field: keyof typeof SEARCH_SETTING_BOUNDS, flag: string, value: number, rule: string]> = [
    ['population', '--population', 1e9, 'must be an integer from 2 to 10000'],
    ['steps', '--steps', 1e12, 'must be an integer from 0 to 100000'],
    ['runs', '--runs', 1e6, 'must be an integer from 1 to 10000'],
    ['mutations', '--mutations', 5000, 'must be an integer from 0 to 1000'],
    ['samples', '--samples', 1e6, 'must be an integer from 1 to 32768'],
    ['batch', '--batch', 1e6, 'must be an integer from 1 to 4096'],
    ['batches', '--batches', 5000, 'must be an integer from 1 to 1000'],
    ['seed', '--seed', -1, 'must be an integer from 0 to 4294967295'],
    ['timeBudget', '--time-budget', 1e9, 'must be at most 525600'],
  ];
  it.each(cases)('%s', async (field, flag, value, rule) => {
    const text = String(value);
    const byFlag = await cli(['search', '--data-dir', emptyDataDir, flag, text]);
    expect(byFlag.code).toBe(2);
    expectOneLine(byFlag.stderr, new RegExp(`^mfnas: ${flag} ${rule}, got "?${text}"?$`));
    const byFile = await cli(['search', '--data-dir', emptyDataDir, '--rerun', doctored((j) => { j.settings[field] = value; })]);
    expect(byFile.code).toBe(2);
    expectOneLine(byFile.stderr, new RegExp(`^mfnas: --rerun: settings\\.${field} ${rule}, got ${text} in `));
    // The library's options (runs is fixed at 1 there).
    if (field !== 'runs') {
      await expect(search({ dataDir: emptyDataDir, [field]: value })).rejects.toThrow(new RegExp(`^${field} ${rule}, got ${text}$`));
    }
  });

  it('the flags refuse a tournament above the population, and a screen too large, before any data is read', async () => {
    const t = await cli(['search', '--data-dir', emptyDataDir, '--population', '10', '--tournament', '20']);
    expectOneLine(t.stderr, /^mfnas: --tournament \(20\) cannot exceed --population \(10\)$/);
    const s = await cli(['search', '--data-dir', emptyDataDir, '--screen', '2x99999']);
    expectOneLine(s.stderr, /^mfnas: --screen SIZE must be an integer from 1 to 4096, got 99999$/);
    await expect(search({ dataDir: emptyDataDir, screen: '2x99999' })).rejects.toThrow(/^screen batch must be an integer from 1 to 4096, got 99999$/);
    await expect(search({ dataDir: emptyDataDir, population: 10, tournament: 20 })).rejects.toThrow(/^tournament \(20\) cannot exceed population \(10\)$/);
  });

  it('--help states the ranges', async () => {
    const program = (await import('commander')).Command;
    const root = new program('mfnas');
    registerSearchCommand(root);
    const help = root.commands[0].helpInformation().replace(/\s+/g, ' ');
    expect(help).toMatch(/population size N \(2 to 10000\)/);
    expect(help).toMatch(/independent runs with seeds seed, seed\+1, … \(1 to 10000\)/);
  });
});

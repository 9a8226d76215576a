/**
 * Set proxies beyond az_nas: `ensemble(a,b,...)` and presets, parsed by the registry, aggregated
 * over a correlate sample, and used as MFNAS fidelities or a baseline's proxy.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { search } from '../src/api/index.js';
import { registerCorrelateCommand } from '../src/cli/commands/correlate.js';
import { registerSearchCommand } from '../src/cli/commands/search.js';
import { azNasAggregate, logRankAggregate } from '../src/proxies/aggregate.js';
import {
  parseProxyList, parseProxySelection, parseScoreSpec, scoreComponents, scoreName, SET_PROXIES, SET_PROXY_LIST, splitProxyItems, type ScoreSpec,
} from '../src/proxies/registry.js';
import { runRandomSearch, runRea } from '../src/search/baselines.js';
import { mfnasAnswer, runMfnas } from '../src/search/mfnas.js';
import type { Candidate, Scores, SearchProblem } from '../src/search/problem.js';
import { combinedRanks } from '../src/search/rank.js';
import { tssSpace } from '../src/spaces/index.js';
import { tssCellCode, type TssCell } from '../src/spaces/tss/cell.js';
import { kendallTau } from '../src/stats/correlation.js';
import { InputError } from '../src/util/errors.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';

const DATA = path.resolve(__dirname, '../../shared/data');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-ensemble-test-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Average rank by counting (1-based; NaN and −∞ lowest), independent of rankdataAverage's sort. */
function countRank(values: readonly number[], i: number): number {
  const v = values.map((x) => (Number.isNaN(x) ? -Infinity : x));
  const less = v.filter((x) => x < v[i]).length;
  const equal = v.filter((x) => x === v[i]).length;
  return less + (equal + 1) / 2;
}

describe('parsing', () => {
  it('splits at top-level commas only and refuses unbalanced parentheses', () => {
    expect(splitProxyItems('zico, ensemble(a,b) ,ensemble(c,ensemble(d,e)),f')).toEqual(['zico', 'ensemble(a,b)', 'ensemble(c,ensemble(d,e))', 'f']);
    expect(() => splitProxyItems('ensemble(a,b')).toThrow(/unbalanced parentheses/);
    expect(() => splitProxyItems('ensemble(a,b))')).toThrow(/unbalanced parentheses/);
  });

  it('an ensemble is a set proxy over its members; a preset member adds its components', () => {
    const e = parseScoreSpec(' ensemble(intgrad_param, naswot,synflow,params) ') as Exclude<ScoreSpec, string>;
    expect(e.name).toBe('ensemble(intgrad_param,naswot,synflow,params)');
    expect(e.components).toEqual(['intgrad_param', 'naswot', 'synflow', 'params']);
    const fused = parseScoreSpec('ensemble(az_nas,synflow)');
    expect(scoreName(fused)).toBe('ensemble(az_nas,synflow)');
    expect(scoreComponents(fused)).toEqual([...SET_PROXIES.az_nas.components, 'synflow']);
    expect(parseScoreSpec('synflow')).toBe('synflow');
    expect(parseScoreSpec('az_nas')).toBe(SET_PROXIES.az_nas);
  });

  it.each([
    ['ensemble(synflow)', /fewer than two members/],
    ['ensemble(synflow,synflow)', /synflow appears twice/],
    ['ensemble(az_nas,az_complexity)', /az_complexity appears twice .*az_nas includes it/],
    ['ensemble(synflow,nope)', /unknown proxy 'nope'/],
    ['nope', /unknown proxy 'nope': use ensemble\(a,b,...\)/],
  ])('%s is refused with the fix', (text, pattern) => {
    expect(() => parseScoreSpec(text)).toThrow(InputError);
    expect(() => parseScoreSpec(text)).toThrow(pattern);
  });

  it('correlate selections score the components once; per-network lists refuse set proxies naming the components', () => {
    const sel = parseProxySelection('synflow,ensemble(synflow,params),az_nas,ensemble(synflow, params)');
    expect(sel.proxies).toEqual(['synflow', 'params', ...SET_PROXIES.az_nas.components]);
    expect(sel.sets.map((s) => s.name)).toEqual(['ensemble(synflow,params)', 'az_nas']);
    expect(parseProxySelection('all').sets).toEqual(SET_PROXY_LIST);
    expect(() => parseProxyList('zico,ensemble(synflow,params)')).toThrow(/use --proxies synflow,params \(its components\)/);
  });
});

describe('log-rank aggregation', () => {
  it('equals Σ ln(rank/m) with ranks by counting, ties and −∞/NaN at the bottom', () => {
    const cols = [[3, 1, 2, 2, -Infinity], [0.5, NaN, 0.5, 9, 1], [10, 20, 30, 40, 50]];
    const got = logRankAggregate(cols);
    const m = 5;
    got.forEach((g, i) => {
      const want = cols.reduce((s, c) => s + Math.log(countRank(c, i) / m), 0);
      expect(g).toBeCloseTo(want, 13);
    });
  });

  it('the ensemble of the four AZ-NAS components equals az_nas', () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({
      az_expressivity: (i * 7) % 5, az_progressivity: Math.sin(i), az_trainability: i === 3 ? -Infinity : (i * 13) % 11, az_complexity: i % 4,
    }));
    const e = parseScoreSpec('ensemble(az_expressivity,az_progressivity,az_trainability,az_complexity)') as Exclude<ScoreSpec, string>;
    const want = azNasAggregate(rows.map((r) => ({ E: r.az_expressivity, P: r.az_progressivity, T: r.az_trainability, C: r.az_complexity })));
    e.aggregate(rows).forEach((v, i) => expect(v).toBeCloseTo(want[i], 13));
  });
});

describe('correlate with ensembles (in process)', () => {
  it('adds a CSV column and τ/ρ per set proxy, computed over the whole sample', async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'correlate-'));
    const out = path.join(dir, 'rows.csv');
    const r = await runCommandsInProcess(registerCorrelateCommand, ['correlate', '--data-dir', DATA, '--space', 'tss', '--dataset', 'cifar10',
      '--indices', '0,1,2,3,4,5,6,7,8,9', '--proxies', 'params,ensemble(params,flops)', '--workers', '1', '--batch', '4', '--batches', '1',
      '--no-cache', '--out', out, '--report', path.join(dir, 'page.html'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json.proxies)).toEqual(['params', 'flops', 'ensemble(params,flops)']);
    const rows: Array<Record<string, string>> = parseCsv(fs.readFileSync(out, 'utf8'), { columns: true });
    expect(Object.keys(rows[0])).toEqual(['index', 'arch', 'accuracy', 'params', 'flops', 'ensemble(params,flops)']);
    // Independently: log ranks by counting over the CSV's own columns.
    const p = rows.map((x) => Number(x.params)), f = rows.map((x) => Number(x.flops));
    const want = rows.map((_, i) => Math.log(countRank(p, i) / rows.length) + Math.log(countRank(f, i) / rows.length));
    rows.forEach((x, i) => expect(Number(x['ensemble(params,flops)'])).toBeCloseTo(want[i], 12));
    expect(json.proxies['ensemble(params,flops)'].kendall).toBeCloseTo(kendallTau(want, rows.map((x) => Number(x.accuracy))), 12);
    expect(fs.readFileSync(path.join(dir, 'page.html'), 'utf8')).toContain('ensemble(params,flops) against test accuracy');
  }, 60_000);
});

/** Deterministic fake scores, so the search rules run fast. */
function fakeTss() {
  const space = tssSpace(null);
  const scored: string[] = [];
  const problem: SearchProblem<TssCell> = {
    space, feasible: () => true,
    async scoreMany(archs) {
      for (const a of archs) scored.push(space.format(a));
      return archs.map((c) => {
        const convs = c.filter((o) => o === 'nor_conv_3x3').length;
        const code = tssCellCode(c);
        return {
          intgrad_param: convs * 10 + (code % 7) + ((code * 13) % 17) / 3, intgrad_mean: convs + ((code * 31) % 11) / 10,
          synflow: convs === 0 ? -Infinity : convs * 3 + (code % 5), params: (code * 7919) % 1000, naswot: (code * 104729) % 977,
        };
      });
    },
  };
  return { problem, scored };
}

const digest = (keys: readonly string[]) => createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 16);

describe('MFNAS with chosen fidelities', () => {
  const params = { population: 20, tournament: 5, steps: 15, mutations: 2 };

  it('the paper\'s default gives exactly the answers and scored sets it gave before fidelities were choosable', async () => {
    // Recorded from the implementation before this change, on the same fake problem.
    const before: Record<number, { answer: string; n: number; hash: string }> = {
      0: { answer: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|', n: 76, hash: 'ade7b9b71e0639f2' },
      3: { answer: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|', n: 78, hash: 'd624f1207d4986da' },
      7: { answer: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|', n: 82, hash: '9041dafd8e9f2719' },
    };
    for (const [seed, want] of Object.entries(before)) {
      for (const fidelities of [undefined, ['intgrad_param', 'intgrad_mean'] as ScoreSpec[]]) {
        const { problem, scored } = fakeTss();
        const out = await runMfnas(problem, { ...params, seed: Number(seed), fidelities });
        expect({ answer: out.answer.key, n: out.history.size, hash: digest(scored) }).toEqual(want);
      }
    }
  });

  it('a set-proxy fidelity is computed over the set ranked; non-finite scores rank at the bottom', () => {
    const set: Scores[] = [{ synflow: 4, params: 1, naswot: 2 }, { synflow: 2, params: 3, naswot: 2 }, { synflow: -Infinity, params: 2, naswot: 1 }];
    const e = parseScoreSpec('ensemble(params,naswot)');
    const r = combinedRanks(set, ['synflow', e]);
    const ens = set.map((_, i) => Math.log(countRank([1, 3, 2], i) / 3) + Math.log(countRank([2, 2, 1], i) / 3));
    const maxEns = Math.max(...ens.map(Math.abs));
    expect(r[0]).toBeCloseTo(4 / 4 + ens[0] / maxEns, 13);
    expect(r[1]).toBeCloseTo(2 / 4 + ens[1] / maxEns, 13);
    expect(r[2]).toBe(-Infinity);
  });

  it('non-default fidelities give a deterministic answer that differs in what it scores', async () => {
    const fidelities = [parseScoreSpec('ensemble(synflow,naswot)'), parseScoreSpec('params')];
    const a = fakeTss(), b = fakeTss(), paper = fakeTss();
    const outA = await runMfnas(a.problem, { ...params, seed: 5, fidelities });
    const outB = await runMfnas(b.problem, { ...params, seed: 5, fidelities });
    await runMfnas(paper.problem, { ...params, seed: 5 });
    expect(outA.answer.key).toBe(outB.answer.key);
    expect(a.scored).toEqual(b.scored);
    expect(a.scored).not.toEqual(paper.scored);
    // The answer is among the history's top 3 by the combined rank, and best of them by fidelity 1.
    const all = [...outA.history.values()];
    expect(mfnasAnswer(outA.history, fidelities).key).toBe(outA.answer.key);
    const ranks = combinedRanks(all.map((c) => c.scores), fidelities);
    const top3 = ranks.map((x, i) => [x, i]).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, 3).map(([, i]) => all[i].key);
    expect(top3).toContain(outA.answer.key);
  });

  it('REA and random search take a set proxy, valued over their history', async () => {
    const spec = parseScoreSpec('ensemble(synflow,params)');
    const rea1 = await runRea(fakeTss().problem, { population: 10, tournament: 4, steps: 30, proxy: spec, seed: 2 });
    const rea2 = await runRea(fakeTss().problem, { population: 10, tournament: 4, steps: 30, proxy: spec, seed: 2 });
    expect(rea1.answer.key).toBe(rea2.answer.key);
    const rnd = await runRandomSearch(fakeTss().problem, { samples: 40, proxy: spec, seed: 1 });
    const all: Candidate<TssCell>[] = [...rnd.history.values()];
    const values = logRankAggregate([all.map((c) => c.scores.synflow!), all.map((c) => c.scores.params!)]);
    expect(rnd.answer.key).toBe(all[values.indexOf(Math.max(...values))].key);
  });
});

describe('search --fidelities (in process, analytic proxies)', () => {
  const base = ['search', '--data-dir', DATA, '--space', 'tss', '--dataset', 'cifar10', '--batch', '4', '--batches', '1',
    '--population', '8', '--tournament', '4', '--steps', '3', '--mutations', '1', '--workers', '1', '--no-cache', '--json'];

  it('records the fidelities, repeats its answer, and --rerun uses them', async () => {
    const out = fs.mkdtempSync(path.join(tmpRoot, 'search-'));
    const args = [...base, '--fidelities', 'params,ensemble(flops,params)'];
    const r1 = await runCommandsInProcess(registerSearchCommand, [...args, '--out', out]);
    expect(r1.code, r1.stderr).toBe(0);
    const r2 = await runCommandsInProcess(registerSearchCommand, args);
    const [j1, j2] = [JSON.parse(r1.stdout), JSON.parse(r2.stdout)];
    expect(j1.settings.fidelities).toEqual(['params', 'ensemble(flops,params)']);
    expect(Object.keys(j1.runs[0].best.scores).sort()).toEqual(['flops', 'params']);
    expect(j2.runs.map((x: any) => [x.best.arch, x.evaluated])).toEqual(j1.runs.map((x: any) => [x.best.arch, x.evaluated]));
    const again = await runCommandsInProcess(registerSearchCommand, ['search', '--data-dir', DATA, '--rerun', path.join(out, 'result.json'), '--no-cache', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).settings).toEqual(j1.settings);
    expect(again.stderr).toContain('rerun: the same answer as recorded');
  }, 60_000);

  it.each([
    [['--fidelities', 'params,params'], /--fidelities names params twice/],
    [['--fidelities', 'ensemble(params)'], /fewer than two members/],
    [['--algorithm', 'rea', '--fidelities', 'params,flops'], /--fidelities is for --algorithm mfnas/],
    [['--algorithm', 'rea', '--proxy', 'nope'], /unknown proxy 'nope'/],
  ])('%j is refused with one line', async (flags, pattern) => {
    const r = await runCommandsInProcess(registerSearchCommand, [...base, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });
});

describe('library options mirror the flags', () => {
  it('search() validates fidelities and proxy before reading any data', async () => {
    await expect(search({ fidelities: 'params,params' })).rejects.toThrow(/names params twice/);
    await expect(search({ fidelities: ['ensemble(params,flops'] })).rejects.toThrow(/unbalanced parentheses/);
    await expect(search({ algorithm: 'rea', fidelities: ['params'] })).rejects.toThrow(/fidelities are for algorithm 'mfnas'/);
    await expect(search({ algorithm: 'rea', proxy: 'ensemble(params)' })).rejects.toThrow(InputError);
  });
});

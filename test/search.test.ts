import { describe, expect, it } from 'vitest';
import { mfnasAnswer, removeOldest, runMfnas, addChildren } from '../src/search/mfnas.js';
import { runRandomSearch, runRea } from '../src/search/baselines.js';
import { combinedRanks, topByRank } from '../src/search/rank.js';
import type { Candidate, Scores, SearchProblem } from '../src/search/problem.js';
import { sssSpace, tssSpace } from '../src/spaces/index.js';
import type { SssChannels } from '../src/spaces/sss/channels.js';
import { tssCellCode, type TssCell } from '../src/spaces/tss/cell.js';

/** A synthetic problem: deterministic fake scores from the arch, so the rules can be checked fast. */
function fakeTss(opts: { feasible?: (c: TssCell) => boolean } = {}) {
  const space = tssSpace(null);
  let calls = 0;
  const scored: string[] = [];
  const score = (c: TssCell): Scores => {
    const convs = c.filter((o) => o === 'nor_conv_3x3').length;
    const code = tssCellCode(c);
    return { intgrad_param: convs * 10 + (code % 7), intgrad_mean: convs + ((code * 31) % 11) / 10 };
  };
  const problem: SearchProblem<TssCell> = {
    space,
    feasible: opts.feasible ?? (() => true),
    async scoreMany(archs) {
      calls++;
      for (const a of archs) scored.push(space.format(a));
      return archs.map(score);
    },
  };
  return { problem, scored, calls: () => calls };
}

const cand = (key: string, generation: number, scores: Scores = {}): Candidate<string> => ({ arch: key, key, scores, generation });

describe('MFNAS rank and rules', () => {
  it('ranks by each fidelity over its max |score|, summed', () => {
    const r = combinedRanks([{ intgrad_param: 10, intgrad_mean: 1 }, { intgrad_param: 5, intgrad_mean: 2 }, { intgrad_param: -20, intgrad_mean: 0 }]);
    expect(r[0]).toBeCloseTo(10 / 20 + 1 / 2, 12);
    expect(r[1]).toBeCloseTo(5 / 20 + 2 / 2, 12);
    expect(r[2]).toBeCloseTo(-1, 12);
    expect(topByRank(r, 2)).toEqual([1, 0]);
  });

  it('ageing removes the first member of the oldest generation, and nothing when all are equal', () => {
    const pop = [cand('a', 3), cand('b', 1), cand('c', 2), cand('d', 1)];
    expect(removeOldest(pop)!.key).toBe('b');
    expect(pop.map((c) => c.key)).toEqual(['a', 'c', 'd']);
    const same = [cand('a', 2), cand('b', 2)];
    expect(removeOldest(same)).toBeNull();
    expect(same.length).toBe(2);
  });

  it('the answer is the best by intgrad_param among the top 3 by combined rank', () => {
    const h = new Map<string, Candidate<string>>();
    // ranks (max param 10, max mean 10): a = 1.0+0.1, b = 0.5+1.0, c = 0.9+0.6, d = 0.95+0.0, e = 0.1+0.1
    const add = (k: string, p: number, m: number) => h.set(k, cand(k, 0, { intgrad_param: p, intgrad_mean: m }));
    add('a', 10, 1); add('b', 5, 10); add('c', 9, 6); add('d', 9.5, 0); add('e', 1, 1);
    // top 3 by rank: b (1.5), c (1.5), a (1.1); best intgrad_param among them: a — not d (top param overall, rank 0.95).
    expect(mfnasAnswer(h).key).toBe('a');
  });

  it('children in the history keep their score but take the new generation; new ones are scored once', async () => {
    const { problem, scored } = fakeTss();
    const space = problem.space;
    const a = space.parse('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|');
    const b = space.parse('|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|');
    const history = new Map<string, Candidate<TssCell>>();
    const pop: Candidate<TssCell>[] = [];
    await addChildren(problem, [a], 1, pop, history);
    const firstScore = history.get(space.format(a))!.scores;
    await addChildren(problem, [a, b, b], 5, pop, history);
    expect(scored).toEqual([space.format(a), space.format(b)]);
    expect(history.get(space.format(a))!.generation).toBe(5);
    expect(history.get(space.format(a))!.scores).toBe(firstScore);
    expect(pop.map((c) => c.key)).toEqual([space.format(a), space.format(b)]);
  });
});

describe('MFNAS search runs', () => {
  const params = { population: 20, tournament: 5, steps: 15, mutations: 2, seed: 3 };

  it('keeps the population at N, is reproducible and respects limits', async () => {
    // Limit: at most 2 conv3x3 edges.
    const feasible = (c: TssCell) => c.filter((o) => o === 'nor_conv_3x3').length <= 2;
    const run1 = fakeTss({ feasible });
    const sizes: number[] = [];
    const out1 = await runMfnas(run1.problem, params, { onStep: () => sizes.push(0) });
    const run2 = fakeTss({ feasible });
    const out2 = await runMfnas(run2.problem, params);
    expect(out1.answer.key).toBe(out2.answer.key);
    expect(run1.scored).toEqual(run2.scored);
    expect(out1.steps.length).toBe(params.steps + 1);
    for (const c of out1.history.values()) expect(feasible(c.arch)).toBe(true);
    expect(new Set(run1.scored).size).toBe(run1.scored.length); // nothing scored twice
    const run3 = fakeTss({ feasible });
    const out3 = await runMfnas(run3.problem, { ...params, seed: 4 });
    expect(run3.scored).not.toEqual(run1.scored);
    expect(out3.history.size).toBeGreaterThan(params.population);
  });

  it('finds the optimum of a smooth synthetic objective', async () => {
    const { problem } = fakeTss();
    const out = await runMfnas(problem, { population: 30, tournament: 10, steps: 40, mutations: 4, seed: 0 });
    expect(out.answer.arch.filter((o) => o === 'nor_conv_3x3').length).toBe(6);
  });

  it('stops cleanly on the time budget and still answers', async () => {
    const { problem } = fakeTss();
    let steps = 0;
    const out = await runMfnas(problem, params, { onStep: () => steps++, shouldStop: () => steps >= 3 });
    expect(out.stoppedEarly).toBe(true);
    expect(out.steps.length).toBe(3);
    expect(out.history.has(out.answer.key)).toBe(true);
  });

  it('reports limits nothing satisfies', async () => {
    const { problem } = fakeTss({ feasible: () => false });
    await expect(runMfnas(problem, params)).rejects.toThrow(/relax --max-flops/);
  });

  it('screened: evolves on the cheap scores, confirms the best of the history on the full input and answers among them', async () => {
    const cheap = fakeTss();
    const confirmedArchs: string[] = [];
    // The full input: the same objective without the cheap input's tie-break noise, reversed in the tie-break.
    const full = (c: TssCell): Scores => {
      const convs = c.filter((o) => o === 'nor_conv_3x3').length;
      return { intgrad_param: convs * 10 - (tssCellCode(c) % 7), intgrad_mean: convs };
    };
    const problem: SearchProblem<TssCell> = {
      ...cheap.problem,
      async confirmMany(archs) { for (const a of archs) confirmedArchs.push(cheap.problem.space.format(a)); return archs.map(full); },
    };
    const p = { population: 30, tournament: 10, steps: 40, mutations: 4, seed: 0 };
    const out = await runMfnas(problem, { ...p, confirm: 5 });
    expect(out.confirmed!.length).toBe(5);
    expect(confirmedArchs.length).toBe(5);
    // The confirmed are the history's 5 best by the rank the evolution used.
    const all = [...out.history.values()];
    const top5 = topByRank(combinedRanks(all.map((c) => c.scores)), 5).map((i) => all[i].key);
    expect(out.confirmed!.map((c) => c.key)).toEqual(top5);
    // The answer carries its full-input scores and is the paper's pick among the confirmed.
    expect(out.confirmed!.some((c) => c.key === out.answer.key)).toBe(true);
    expect(out.answer.scores).toEqual(full(out.answer.arch));
    const byFull = new Map(out.confirmed!.map((c) => [c.key, c]));
    expect(out.answer.key).toBe(mfnasAnswer(byFull).key);
    // The evolution itself is the plain search's: same history, same cheap evaluations.
    const plain = fakeTss();
    const base = await runMfnas(plain.problem, p);
    expect([...out.history.keys()]).toEqual([...base.history.keys()]);
    expect(out.history.get(out.answer.key)!.scores).not.toEqual(out.answer.scores);
    await expect(runMfnas(cheap.problem, { ...p, confirm: 5 })).rejects.toThrow(/confirmMany/);
    await expect(runMfnas(problem, { ...p, confirm: 0 })).rejects.toThrow(/--confirm/);
  });

  it('runs on SSS', async () => {
    const space = sssSpace();
    const problem: SearchProblem<SssChannels> = {
      space, feasible: () => true,
      async scoreMany(archs) { return archs.map((a) => ({ intgrad_param: a.reduce((s, c) => s + c, 0), intgrad_mean: a[0] })); },
    };
    const out = await runMfnas(problem, { population: 20, tournament: 5, steps: 30, mutations: 4, seed: 1 });
    expect(space.format(out.answer.arch)).toBe('64:64:64:64:64');
  });
});

describe('baselines', () => {
  it('random search returns the best of K by its proxy', async () => {
    const { problem, scored } = fakeTss();
    const out = await runRandomSearch(problem, { samples: 50, proxy: 'intgrad_param', seed: 1 });
    expect(scored.length).toBe(50);
    const best = Math.max(...[...out.history.values()].map((c) => c.scores.intgrad_param!));
    expect(out.answer.scores.intgrad_param).toBe(best);
  });
  it('REA keeps its population size and improves on its initial population', async () => {
    const { problem } = fakeTss();
    const out = await runRea(problem, { population: 20, tournament: 5, steps: 100, proxy: 'intgrad_param', seed: 2 });
    const init = [...out.history.values()].filter((c) => c.generation === 0);
    expect(out.answer.scores.intgrad_param!).toBeGreaterThanOrEqual(Math.max(...init.map((c) => c.scores.intgrad_param!)));
    expect(out.steps.length).toBe(101);
  });
});

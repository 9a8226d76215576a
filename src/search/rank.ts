/**
 * The multi-fidelity rank of MFNAS (MFNAS.md §4): within a set of candidates, each fidelity's
 * score is divided by the largest |score| in the set and the two are summed.
 *
 * A fidelity may be any per-network proxy or a set proxy (`--fidelities`); a set proxy is
 * computed over the same set the rank is taken over (the tournament sample, the population or
 * the history), as the rank's own normalisation is.
 */
import { MFNAS_FIDELITIES, scoreValues, type ScoreSpec } from '../proxies/registry.js';
import type { Scores } from './problem.js';

/**
 * Rank of each member of `set` (same order). Higher is better. A member whose score in some
 * fidelity is not finite (NaN, ±∞: a network that computes nothing) ranks −∞, below every
 * other; the normalising max is taken over the finite scores.
 */
export function combinedRanks(set: readonly Scores[], fidelities: readonly ScoreSpec[] = MFNAS_FIDELITIES): number[] {
  const ranks = new Array<number>(set.length).fill(0);
  for (const f of fidelities) {
    // A missing per-network score counted 0 in the paper's rank (kept: the default must not move).
    const values = typeof f === 'string' ? set.map((s) => s[f] ?? 0) : scoreValues(f, set);
    let max = 0;
    for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) ranks[i] = -Infinity;
      else if (max !== 0) ranks[i] += v / max;
    });
  }
  return ranks;
}

/**
 * The value of one fidelity alone for each member of `set`, NaN mapped to −∞ (what the answer
 * is chosen by among the top 3).
 */
export function fidelityValues(set: readonly Scores[], fidelity: ScoreSpec): number[] {
  return scoreValues(fidelity, set).map((v) => (Number.isNaN(v) ? -Infinity : v));
}

/** Indices of the k best by rank; ties keep the earlier member first. */
export function topByRank(ranks: readonly number[], k: number): number[] {
  return ranks.map((r, i) => i).sort((a, b) => ranks[b] - ranks[a] || a - b).slice(0, k);
}

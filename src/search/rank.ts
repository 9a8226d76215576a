/**
 * The multi-fidelity rank of MFNAS (MFNAS.md §4): within a set of candidates, each fidelity's
 * score is divided by the largest |score| in the set and the two are summed.
 */
import { MFNAS_FIDELITIES, type ProxyName } from '../proxies/registry.js';
import type { Scores } from './problem.js';


/** Rank of each member of `set` (same order). Higher is better. */
export function combinedRanks(set: readonly Scores[], fidelities: readonly ProxyName[] = MFNAS_FIDELITIES): number[] {
  const ranks = new Array<number>(set.length).fill(0);
  for (const f of fidelities) {
    let max = 0;
    for (const s of set) max = Math.max(max, Math.abs(s[f] ?? 0));
    if (max === 0) continue;
    set.forEach((s, i) => { ranks[i] += (s[f] ?? 0) / max; });
  }
  return ranks;
}

/** Indices of the k best by rank; ties keep the earlier member first. */
export function topByRank(ranks: readonly number[], k: number): number[] {
  return ranks.map((r, i) => i).sort((a, b) => ranks[b] - ranks[a] || a - b).slice(0, k);
}

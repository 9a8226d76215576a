/**
 * Set-level proxies: scores that exist only relative to a set of candidates, computed from
 * per-network proxies (their "components") over the whole set. AZ-NAS's combined score is one:
 * each network's rank, among the candidates, in each of its four components (Lee & Ham,
 * CVPR 2024; ../shared/docs/AZ-NAS.md §7). Adding or removing a candidate changes every
 * candidate's value, so such a score is never cached per network: the caller scores the
 * components (cached as usual) and aggregates over the set it compares.
 */
import type { ProxyScores } from './scoreNetwork.js';
import type { ProxyName } from './registry.js';

export interface SetProxyDefinition<Name extends string = string> {
  readonly name: Name;
  readonly paper: string;
  readonly definition: string;
  readonly version: number;
  /** The per-network proxies it is computed from (all must be scored for every candidate). */
  readonly components: readonly ProxyName[];
  /** One score per candidate (higher is better), from each candidate's component scores. */
  aggregate(rows: readonly ProxyScores[]): number[];
}

/** Identity, for type inference (keeps `name` a literal). */
export function defineSetProxy<Name extends string>(definition: SetProxyDefinition<Name>): SetProxyDefinition<Name> {
  return definition;
}

/**
 * Ascending ranks 1..m with ties given the mean of the positions they occupy — SciPy's
 * `rankdata(method='average')`. −∞ is the smallest value (so −∞ entries tie at the bottom);
 * NaN is ranked as −∞, as AZ-NAS maps NaN scores to −∞ before ranking.
 */
export function rankdataAverage(values: readonly number[]): number[] {
  const v = values.map((x) => (Number.isNaN(x) ? -Infinity : x));
  const order = v.map((_, i) => i).sort((a, b) => (v[a] < v[b] ? -1 : v[a] > v[b] ? 1 : a - b));
  const ranks = new Array<number>(v.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && v[order[end]] === v[order[start]]) end++;
    // Positions start+1 .. end (1-based) share their mean.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/** The four AZ-NAS components of one candidate: expressivity, progressivity, trainability, complexity. */
export interface AzComponents {
  readonly E: number;
  readonly P: number;
  readonly T: number;
  readonly C: number;
}

/**
 * AZ-NAS's non-linear ranking aggregation over the m candidates of `rows`:
 * s(i) = Σ_{M ∈ E,P,T,C} ln(rank_M(i) / m), rank_M the average rank of `rankdataAverage`
 * (largest component → rank m). Every component counts larger-is-better (complexity too).
 * Values are ≤ 0; higher is better.
 */
export function azNasAggregate(rows: readonly AzComponents[]): number[] {
  const m = rows.length;
  const out = new Array<number>(m).fill(0);
  for (const key of ['C', 'E', 'P', 'T'] as const) {
    const ranks = rankdataAverage(rows.map((r) => r[key]));
    for (let i = 0; i < m; i++) out[i] += Math.log(ranks[i] / m);
  }
  return out;
}

/** `az_nas`, AZ-NAS's combined score over the scored set. */
export const azNas = defineSetProxy({
  name: 'az_nas', version: 1,
  paper: 'Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024',
  definition: 'Σ over az_expressivity, az_progressivity, az_trainability and az_complexity of ln(rank/m), rank the average rank (largest = m, −∞ tied at the bottom) among the m architectures scored together.',
  components: ['az_expressivity', 'az_progressivity', 'az_trainability', 'az_complexity'],
  aggregate: (rows) => azNasAggregate(rows.map((r) => {
    const get = (p: ProxyName): number => {
      const v = r[p];
      if (v === undefined) throw new Error(`az_nas needs ${p} for every candidate`);
      return v;
    };
    return { E: get('az_expressivity'), P: get('az_progressivity'), T: get('az_trainability'), C: get('az_complexity') };
  })),
});

/**
 * The log-rank aggregation of AZ-NAS generalised to any columns: s(i) = Σ_k ln(rank_k(i) / m),
 * rank_k the average rank of column k among the m candidates (`rankdataAverage`: largest = m,
 * NaN and −∞ tied at the bottom). Summed in column order. Values are ≤ 0; higher is better.
 * Unlike a sum of raw scores it is invariant to each column's scale, and a candidate must be
 * good in every column to score well (ln punishes a bottom rank far more than it rewards a top one).
 */
export function logRankAggregate(columns: readonly (readonly number[])[]): number[] {
  const m = columns[0]?.length ?? 0;
  const out = new Array<number>(m).fill(0);
  for (const column of columns) {
    if (column.length !== m) throw new Error('logRankAggregate: columns of different lengths');
    const ranks = rankdataAverage(column);
    for (let i = 0; i < m; i++) out[i] += Math.log(ranks[i] / m);
  }
  return out;
}

/** The per-network column of `proxy` over `rows`; a missing score counts as NaN (the bottom). */
export function columnOf(rows: readonly ProxyScores[], proxy: ProxyName): number[] {
  return rows.map((r) => r[proxy] ?? NaN);
}

/** The text `ensemble(a,b,...)` that names an ensemble of these members. */
export function ensembleName(members: readonly ProxyName[]): string {
  return `ensemble(${members.join(',')})`;
}

/**
 * An ensemble: the log-rank aggregation (`logRankAggregate`) of per-network proxies over the
 * set being compared. `name` defaults to its `ensemble(...)` text; presets give their own.
 */
export function ensembleProxy<Name extends string = string>(
  members: readonly ProxyName[], named?: { name: Name; paper?: string; definition?: string },
): SetProxyDefinition<Name> {
  if (members.length === 0) throw new Error('an ensemble needs members');
  return defineSetProxy<Name>({
    name: named?.name ?? (ensembleName(members) as Name), version: 1,
    paper: named?.paper ?? 'log-rank aggregation as in Lee & Ham, AZ-NAS, CVPR 2024',
    definition: named?.definition ??
      `Σ over ${members.join(', ')} of ln(rank/m), rank the average rank (largest = m, −∞ and NaN tied at the bottom) among the m architectures compared together.`,
    components: [...members],
    aggregate: (rows) => logRankAggregate(members.map((p) => columnOf(rows, p))),
  });
}

/**
 * Pareto fronts of "cheap and good": a cost to minimise (FLOPs, parameters) against a value to
 * maximise (benchmark accuracy, a proxy score). Used by `--objectives` (the set a search
 * returns) and by the report's accuracy–cost charts and `pareto.csv`.
 */

export interface CostValue {
  /** To minimise. */
  readonly cost: number;
  /** To maximise. */
  readonly value: number;
}

/**
 * Indices of the non-dominated members of `points`, by cost ascending. A point is dominated
 * when another is no costlier and no worse, and better in one of the two. Points with a
 * non-finite cost or value take no part. Of points equal in both (isomorphic TSS cells share
 * cost and scores), only the first in input order is kept, so the front has one entry per
 * trade-off and the same input always gives the same front.
 */
export function paretoFront(points: readonly CostValue[]): number[] {
  const order = points.map((_, i) => i)
    .filter((i) => Number.isFinite(points[i].cost) && Number.isFinite(points[i].value))
    // Cheapest first; at equal cost the best first, then input order (stable tie-break).
    .sort((a, b) => points[a].cost - points[b].cost || points[b].value - points[a].value || a - b);
  const front: number[] = [];
  let bestValue = -Infinity;
  for (const i of order) {
    // Anything earlier is no costlier; it dominates i unless i is strictly better than all of them.
    if (points[i].value > bestValue) {
      front.push(i);
      bestValue = points[i].value;
    }
  }
  return front;
}

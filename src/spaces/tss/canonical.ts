/**
 * Functional equivalence of TSS cells (MFNAS.md §1).
 *
 * `canonicalTss` reproduces NAS-Bench-201's `Structure.to_unique_str(consider_zero=True)`,
 * which is how NATS-Bench's `UniqueString` column was built. It partitions the 15,625 cells
 * into exactly the table's 6,466 classes (checked in test/spaces.test.ts). The rule, node by
 * node (node 0 is the string `0`):
 *   - each incoming edge `op~i` becomes a term:
 *       `#` (zero)            if op is `none` or node i's string is exactly `#`;
 *       node i's string       if op is `skip_connect` (identity);
 *       `(<node i>)@<op>`     otherwise (conv / pool applied to node i);
 *   - node j's string is its terms sorted (JS code-unit order = Python's str sort here, the
 *     strings are ASCII) and joined with `+` — the sum is commutative;
 *   - the key is node 3's string.
 * Quirk kept on purpose (it defines the benchmark's grouping): a node whose inputs are all
 * zero becomes `#+#` (or `#+#+#`), which is NOT recognised as zero downstream, and `#` terms
 * are kept in sums. So some functionally identical cells keep different keys (a fully
 * simplified key would give 5,390 classes); every class is, however, functionally uniform.
 *
 * `tssLiveness` / `liveEdges` say which edges actually matter, for networks that skip dead
 * branches (definition below).
 */
import { checkCell, EDGE_FROM, EDGE_TO, tssCellFromCode, TSS_SIZE, type TssCell, type TssOp } from './cell.js';

/** NAS-Bench-201 / NATS-Bench unique string of a cell; equal strings = same function. */
export function canonicalTss(cell: TssCell): string {
  checkCell(cell);
  const nodes: string[] = ['0'];
  for (let j = 1; j <= 3; j++) {
    const terms: string[] = [];
    for (let e = 0; e < 6; e++) {
      if (EDGE_TO[e] !== j) continue;
      const src = nodes[EDGE_FROM[e]];
      const op = cell[e];
      if (op === 'none' || src === '#') terms.push('#');
      else if (op === 'skip_connect') terms.push(src);
      else terms.push(`(${src})@${op}`);
    }
    terms.sort(); // default sort compares UTF-16 code units, same as Python for ASCII
    nodes.push(terms.join('+'));
  }
  return nodes[3];
}

export interface TssLiveness {
  /**
   * nonZero[n]: node n can carry a non-zero signal, i.e. n = 0, or n has an incoming edge with
   * op ≠ `none` whose source is nonZero. A node that is not nonZero is constant zero at
   * initialisation (`none` gives zeros; skip, average pooling and ReLU→conv→BN with β = 0 in
   * training mode all map an all-zero input to zeros).
   */
  readonly nonZero: readonly boolean[];
  /**
   * reachesOutput[n]: n = 3, or n has an outgoing edge with op ≠ `none` to a node that
   * reachesOutput. A node that does not reach the output cannot influence the cell output.
   */
  readonly reachesOutput: readonly boolean[];
  /**
   * live[e] for the 6 edges in string order: op ≠ `none` AND nonZero[source] AND
   * reachesOutput[target]. Every other edge is dead: at initialisation, replacing its op by
   * `none` changes neither the cell output nor the gradient of any live edge's weights, and
   * its own conv weights (if any) receive an identically zero gradient. (After training a
   * BN β on a zero-input conv could make it a constant; NATS-Bench's UniqueString treats a
   * conv of a `#` node as zero too.)
   */
  readonly live: readonly boolean[];
}

export function tssLiveness(cell: TssCell): TssLiveness {
  checkCell(cell);
  const nonZero = [true, false, false, false];
  for (let e = 0; e < 6; e++) {
    // edges are ordered by target node, so sources are final when visited
    if (cell[e] !== 'none' && nonZero[EDGE_FROM[e]]) nonZero[EDGE_TO[e]] = true;
  }
  const reachesOutput = [false, false, false, true];
  for (let e = 5; e >= 0; e--) {
    // reverse order: targets of edges from node i (> i) are final when visited
    if (cell[e] !== 'none' && reachesOutput[EDGE_TO[e]]) reachesOutput[EDGE_FROM[e]] = true;
  }
  const live = cell.map(
    (op, e) => op !== 'none' && nonZero[EDGE_FROM[e]] && reachesOutput[EDGE_TO[e]],
  );
  return { nonZero, reachesOutput, live };
}

/** Which of the 6 edges are live (see `TssLiveness.live`). */
export function liveEdges(cell: TssCell): boolean[] {
  return tssLiveness(cell).live.slice();
}

/** The same cell with every dead edge set to `none` (same function, same live weights). */
export function pruneDeadEdges(cell: TssCell): TssCell {
  const { live } = tssLiveness(cell);
  return cell.map((op, e): TssOp => (live[e] ? op : 'none'));
}

/** True if the cell output is constant zero (no live edge). */
export function isZeroCell(cell: TssCell): boolean {
  return !tssLiveness(cell).live.some(Boolean);
}

let representativeByKey: Map<string, number> | null = null;

/**
 * The member of a cell's equivalence class that mfnas evaluates in its place: the one with the
 * smallest mixed-radix code. Scoring the representative makes every member of a class get the
 * very same score (same weights, same batches) and lets a cache hold one entry per class.
 */
export function tssRepresentative(cell: TssCell): TssCell {
  if (!representativeByKey) {
    representativeByKey = new Map();
    for (let code = 0; code < TSS_SIZE; code++) {
      const key = canonicalTss(tssCellFromCode(code));
      if (!representativeByKey.has(key)) representativeByKey.set(key, code);
    }
  }
  return tssCellFromCode(representativeByKey.get(canonicalTss(cell))!);
}

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
import { cellLiveness, type CellLiveness } from '../../networks/blocks/cellOps.js';
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

/** Which nodes and edges of a cell matter: see `CellLiveness` (src/networks/blocks/cell.ts). */
export type TssLiveness = CellLiveness;

export function tssLiveness(cell: TssCell): TssLiveness {
  checkCell(cell);
  return cellLiveness(cell);
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

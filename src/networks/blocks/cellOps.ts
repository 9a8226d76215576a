/**
 * The NAS-Bench-201 cell's structure as plain data — its ops, its edge topology and which edges
 * can matter — apart from the block kind (./cell.ts) that runs it, so that the search space, the
 * NATS-Bench importer and its worker threads use them without loading TensorFlow.js.
 */
/** NAS-Bench-201 operations, in NATS-Bench's own order. */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/**
 * A cell as its 6 edge ops, in NAS-Bench-201's string order:
 * [1←0, 2←0, 2←1, 3←0, 3←1, 3←2]. Edge e goes from node EDGE_FROM[e] to node EDGE_TO[e].
 */
export type Nb201Cell = readonly Nb201Op[];
export const EDGE_FROM = [0, 0, 1, 0, 1, 2] as const;
export const EDGE_TO = [1, 2, 2, 3, 3, 3] as const;

export interface CellLiveness {
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

/** Which nodes and edges of a cell matter (see `CellLiveness`); `cell` must be 6 valid ops. */
export function cellLiveness(cell: Nb201Cell): CellLiveness {
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

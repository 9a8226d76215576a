/**
 * TSS cells (NAS-Bench-201), MFNAS.md §1: the value type, its string form, codes, sampling and
 * the genetic operators. The space definition built from these is in ./index.ts.
 *
 * A cell string is `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`: three `+`-separated groups for
 * nodes 1, 2, 3; group j lists its j incoming edges `op~i` (i = source node, in order 0..j-1).
 * As a `TssCell` the 6 ops are kept in string order [1←0, 2←0, 2←1, 3←0, 3←1, 3←2].
 *
 * Note: the NATS-Bench *index* of a cell is not computable from the cell; it is the row order
 * of the benchmark table (see ./index.ts). `tssCellCode` below is only a
 * convenient dense enumeration (5^6 = 15,625 codes), unrelated to that index.
 */
import { EDGE_FROM, EDGE_TO, NB201_OPS, type Nb201Cell, type Nb201Op } from '../../networks/blocks/cellOps.js';
import { InputError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

/**
 * TSS operations, in NATS-Bench's own order, and the cell's edges: the network's NAS-Bench-201
 * cell defines them (src/networks/blocks/cell.ts); the space names them for its own use.
 * A `TssCell` is the 6 edge ops in string order [1←0, 2←0, 2←1, 3←0, 3←1, 3←2]; edge e goes
 * from node EDGE_FROM[e] to node EDGE_TO[e].
 */
export const TSS_OPS = NB201_OPS;
export type TssOp = Nb201Op;
export type TssCell = Nb201Cell;
export { EDGE_FROM, EDGE_TO };

export const TSS_EDGES = 6;
export const TSS_NODES = 4;
export const TSS_SIZE = 15_625; // 5^6

const OP_INDEX: ReadonlyMap<string, number> = new Map(TSS_OPS.map((op, i) => [op, i]));

export function isTssOp(text: string): text is TssOp {
  return OP_INDEX.has(text);
}

/** Index of an op in `TSS_OPS` (0 = none … 4 = avg_pool_3x3). */
export function tssOpIndex(op: TssOp): number {
  const i = OP_INDEX.get(op);
  if (i === undefined) throw new InputError(`unknown TSS op '${op}': valid ops are ${TSS_OPS.join(', ')}`);
  return i;
}

/** First edge index of node j's group (node 1 → 0, node 2 → 1, node 3 → 3). */
export function firstEdgeOfNode(node: number): number {
  return ((node - 1) * node) / 2;
}

/** Edge index of the edge `from → to` (0 ≤ from < to ≤ 3). */
export function edgeIndex(from: number, to: number): number {
  return firstEdgeOfNode(to) + from;
}

/**
 * Parse a cell string such as
 * `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|`.
 * Surrounding whitespace is ignored. Throws InputError naming what is wrong.
 */
export function parseTssCell(text: string): TssCell {
  const s = text.trim();
  const example = '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|';
  if (!s.startsWith('|') || !s.endsWith('|') || s.length < 2) {
    throw new InputError(
      `malformed TSS cell '${text}': expected the form ${example} (groups for nodes 1, 2, 3, each op written as name~source)`,
    );
  }
  const groups = s.split('+');
  if (groups.length !== 3) {
    throw new InputError(
      `malformed TSS cell '${text}': found ${groups.length} '+'-separated group(s), expected 3 (nodes 1, 2, 3) as in ${example}`,
    );
  }
  const ops: TssOp[] = [];
  groups.forEach((group, g) => {
    const node = g + 1;
    if (!group.startsWith('|') || !group.endsWith('|') || group.length < 2) {
      throw new InputError(
        `malformed TSS cell '${text}': group ${node} '${group}' must be written as |op~0|…| (each group starts and ends with '|')`,
      );
    }
    const tokens = group.slice(1, -1).split('|');
    if (tokens.length !== node) {
      throw new InputError(
        `malformed TSS cell '${text}': node ${node} must have ${node} input edge(s) (${Array.from({ length: node }, (_, i) => `op~${i}`).join('|')}), found ${tokens.length} in '${group}'`,
      );
    }
    tokens.forEach((token, i) => {
      const tilde = token.lastIndexOf('~');
      if (tilde < 0) {
        throw new InputError(`malformed TSS cell '${text}': edge '${token}' of node ${node} must be written as op~${i}`);
      }
      const op = token.slice(0, tilde);
      const src = token.slice(tilde + 1);
      if (!isTssOp(op)) {
        throw new InputError(
          `malformed TSS cell '${text}': unknown op '${op}' on the edge into node ${node}; valid ops are ${TSS_OPS.join(', ')}`,
        );
      }
      if (src !== String(i)) {
        throw new InputError(
          `malformed TSS cell '${text}': edge '${token}' of node ${node} has source index '${src}', expected ~${i} (node ${node}'s edges come from nodes 0..${node - 1} in order)`,
        );
      }
      ops.push(op);
    });
  });
  return ops;
}

export function formatTssCell(cell: TssCell): string {
  checkCell(cell);
  const parts: string[] = [];
  for (let node = 1; node < TSS_NODES; node++) {
    const first = firstEdgeOfNode(node);
    const edges: string[] = [];
    for (let i = 0; i < node; i++) edges.push(`${cell[first + i]}~${i}`);
    parts.push(`|${edges.join('|')}|`);
  }
  return parts.join('+');
}

/** Throws InputError unless `cell` is 6 valid ops. */
export function checkCell(cell: TssCell): void {
  if (cell.length !== TSS_EDGES) {
    throw new InputError(`a TSS cell has ${TSS_EDGES} edges, got ${cell.length}`);
  }
  for (const op of cell) {
    if (!isTssOp(op)) throw new InputError(`unknown TSS op '${op}': valid ops are ${TSS_OPS.join(', ')}`);
  }
}

/**
 * Dense mixed-radix code 0..15624 of a cell: base-5 digits of the op indices, edge 0 most
 * significant. NOT the NATS-Bench index.
 */
export function tssCellCode(cell: TssCell): number {
  checkCell(cell);
  let code = 0;
  for (const op of cell) code = code * 5 + tssOpIndex(op);
  return code;
}

export function tssCellFromCode(code: number): TssCell {
  if (!Number.isInteger(code) || code < 0 || code >= TSS_SIZE) {
    throw new InputError(`TSS cell code ${code} is out of range 0..${TSS_SIZE - 1}`);
  }
  const ops: TssOp[] = new Array(TSS_EDGES);
  for (let e = TSS_EDGES - 1; e >= 0; e--) {
    ops[e] = TSS_OPS[code % 5];
    code = Math.floor(code / 5);
  }
  return ops;
}

/** All 15,625 cells in code order. */
export function allTssCells(): TssCell[] {
  return Array.from({ length: TSS_SIZE }, (_, c) => tssCellFromCode(c));
}

/** Uniform over the 15,625 cells (each edge op uniform and independent). */
export function sampleTssCell(rng: Rng): TssCell {
  return Array.from({ length: TSS_EDGES }, () => TSS_OPS[rng.int(TSS_OPS.length)]);
}

/**
 * Single-edge mutation (MFNAS.md §4): pick a node group with probability proportional to its
 * in-degree (node 1: 1/6, node 2: 2/6, node 3: 3/6), an edge uniformly within that group, and
 * set it to one of the 4 other ops uniformly. (Net effect: each of the 6 edges has
 * probability 1/6.) Returns a new cell; the input is not modified.
 */
export function mutateTssCell(cell: TssCell, rng: Rng): TssCell {
  checkCell(cell);
  const r = rng.int(6); // 0 → node 1; 1,2 → node 2; 3,4,5 → node 3
  const node = r < 1 ? 1 : r < 3 ? 2 : 3;
  const edge = firstEdgeOfNode(node) + rng.int(node);
  const current = tssOpIndex(cell[edge]);
  let k = rng.int(TSS_OPS.length - 1);
  if (k >= current) k++;
  const out = cell.slice();
  out[edge] = TSS_OPS[k];
  return out;
}

/** Uniform crossover: each edge from parent a or b with probability 0.5. */
export function crossoverTssCell(a: TssCell, b: TssCell, rng: Rng): TssCell {
  checkCell(a);
  checkCell(b);
  return a.map((op, e) => (rng.bernoulli(0.5) ? op : b[e]));
}

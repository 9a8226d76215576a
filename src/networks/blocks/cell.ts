/**
 * Block kind `cell`: a NAS-Bench-201 cell (the cell of NATS-Bench's TSS and SSS networks). Four
 * nodes; node j (1..3) is the sum of one op applied to each earlier node; node 0 is the input
 * and node 3 the output. The ops, the edge topology and which edges can matter are plain data in
 * ./cellOps.ts; src/spaces/tss re-exports them for the search space.
 */
import * as tf from '@tensorflow/tfjs';
import { addN, avgPool3x3ExcludePad } from '../../engine/ops.js';
import { InputError } from '../../util/errors.js';
import { bnSpec, convSpec, type BnSpec, type ConvSpec, type LayerSpec } from '../layers.js';
import { cellLiveness, EDGE_FROM, EDGE_TO, NB201_OPS, type Nb201Cell, type Nb201Op } from './cellOps.js';
import type { BlockKind, NodeRef } from './kind.js';

export * from './cellOps.js';

/**
 * The operation on one cell edge, as the sequence NAS-Bench-201 builds:
 * - `zero`: zeros with `cout` channels (op `none`);
 * - `identity`: skip_connect when channels match;
 * - `conv_bn`: [ReLU →] conv → BN (nor_conv_kxk has the ReLU; skip_connect across a channel
 *   change has none);
 * - `pool`: avg_pool_3x3 (exclude padding), preceded by ReLU → Conv1x1 → BN across a channel change.
 */
export type EdgeImpl =
  | { readonly kind: 'zero' }
  | { readonly kind: 'identity' }
  | { readonly kind: 'conv_bn'; readonly relu: boolean; readonly conv: ConvSpec; readonly bn: BnSpec }
  | { readonly kind: 'pool'; readonly pre: { readonly conv: ConvSpec; readonly bn: BnSpec } | null };

export interface EdgeSpec {
  readonly from: number;
  readonly to: number;
  readonly op: Nb201Op;
  readonly impl: EdgeImpl;
  /** False when the edge's output can never influence the cell output (see `CellLiveness`). */
  readonly live: boolean;
}

export interface CellSpec {
  readonly kind: 'cell';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly size: number;
  readonly edges: readonly EdgeSpec[];
}

function edgeImpl(name: string, op: Nb201Op, cin: number, cout: number, size: number): EdgeImpl {
  const conv = (k: number) => convSpec(`${name}.conv`, cin, cout, k, 1, size);
  const bn = () => bnSpec(`${name}.bn`, cout, size);
  switch (op) {
    case 'none':
      return { kind: 'zero' };
    case 'skip_connect':
      return cin === cout ? { kind: 'identity' } : { kind: 'conv_bn', relu: false, conv: conv(1), bn: bn() };
    case 'nor_conv_1x1':
      return { kind: 'conv_bn', relu: true, conv: conv(1), bn: bn() };
    case 'nor_conv_3x3':
      return { kind: 'conv_bn', relu: true, conv: conv(3), bn: bn() };
    case 'avg_pool_3x3':
      return { kind: 'pool', pre: cin === cout ? null : { conv: conv(1), bn: bn() } };
  }
}

/** A cell of the given op per edge, mapping `cin` to `cout` channels at spatial size `size`. */
export function cellSpec(name: string, cell: Nb201Cell, cin: number, cout: number, size: number): CellSpec {
  if (cell.length !== 6 || cell.some((op) => !NB201_OPS.includes(op))) {
    throw new InputError(`a NAS-Bench-201 cell has 6 edges with ops from ${NB201_OPS.join(', ')}, got [${cell.join(', ')}]`);
  }
  const { live } = cellLiveness(cell);
  const edges = cell.map((op, e): EdgeSpec => {
    const from = EDGE_FROM[e];
    const edgeCin = from === 0 ? cin : cout;
    return { from, to: EDGE_TO[e], op, impl: edgeImpl(`${name}.edge${e}`, op, edgeCin, cout, size), live: live[e] };
  });
  return { kind: 'cell', name, cin, cout, size, edges };
}

/** The parameterised layers of the given edges, in edge order. */
function edgeLayers(edges: readonly EdgeSpec[]): LayerSpec[] {
  const out: LayerSpec[] = [];
  for (const edge of edges) {
    const impl = edge.impl;
    if (impl.kind === 'conv_bn') out.push(impl.conv, impl.bn);
    else if (impl.kind === 'pool' && impl.pre) out.push(impl.pre.conv, impl.pre.bn);
  }
  return out;
}

/**
 * Cells that compute exactly their input: every live edge is an identity `skip_connect` and
 * exactly one path of them leads from node 0 to node 3 (two would double the input).
 */
export function isIdentityCell(cell: CellSpec): boolean {
  const live = cell.edges.filter((e) => e.live);
  if (live.length === 0 || live.some((e) => e.impl.kind !== 'identity')) return false;
  const paths = [1, 0, 0, 0];
  for (const e of live) paths[e.to] += paths[e.from]; // edges come ordered by target node
  return paths[3] === 1;
}

/** Cells whose output is constant zero: no live edge. */
export function isZeroCell(cell: CellSpec): boolean {
  return !cell.edges.some((e) => e.live);
}

function zeros(like: tf.Tensor4D, channels: number): tf.Tensor4D {
  const [n, h, w] = like.shape;
  return tf.zeros([n, h, w, channels]);
}

export const cellKind: BlockKind<CellSpec> = {
  name: 'cell',
  layers: (cell) => edgeLayers(cell.edges),
  liveLayers: (cell) => edgeLayers(cell.edges.filter((e) => e.live)),

  forward(cell, x, layers) {
    const nodes: Array<tf.Tensor4D | null> = [x, null, null, null];
    // Every edge applies its own ReLU to its source node; the results are identical, so the
    // ReLU of a node is computed once and shared (saving memory and time on the tape). The
    // hook still sees one ReLU per edge, as a per-edge module network would report.
    const relus = new Map<tf.Tensor, tf.Tensor4D>();
    for (let j = 1; j <= 3; j++) {
      const terms: tf.Tensor4D[] = [];
      for (const edge of cell.edges) {
        if (edge.to !== j || (layers.skipDead && !edge.live)) continue;
        // A zero node stays zero through every op of a freshly initialised cell; only reached
        // when !skipDead, so compute it honestly from a zero tensor.
        const input = nodes[edge.from] ?? zeros(x, cell.cout);
        const impl = edge.impl;
        switch (impl.kind) {
          case 'zero':
            break;
          case 'identity':
            terms.push(input);
            break;
          case 'conv_bn':
            terms.push(layers.bn(impl.bn, layers.conv(impl.conv, impl.relu ? layers.sharedRelu(relus, input) : input)));
            break;
          case 'pool': {
            const y = impl.pre ? layers.bn(impl.pre.bn, layers.conv(impl.pre.conv, layers.sharedRelu(relus, input))) : input;
            terms.push(avgPool3x3ExcludePad(y));
            break;
          }
        }
      }
      nodes[j] = terms.length > 0 ? addN(terms) : null;
    }
    return nodes[3] ?? zeros(x, cell.cout);
  },

  graph(cell, x, g) {
    const nodes: Array<NodeRef | null> = [x, null, null, null];
    // One ReLU per source node, shared by its edges (as `forward` computes it).
    const relus = new Map<NodeRef, NodeRef>();
    let zeroNode: NodeRef | null = null;
    const zerosOf = (): NodeRef => (zeroNode ??= g.zeros(`${cell.name}.zeros`, x, cell.cin, cell.cout));
    const reluOf = (from: number, input: NodeRef): NodeRef => {
      let r = relus.get(input);
      if (r === undefined) relus.set(input, (r = g.relu(`${cell.name}.node${from}.relu`, input)));
      return r;
    };
    for (let j = 1; j <= 3; j++) {
      const terms: NodeRef[] = [];
      for (const [e, edge] of cell.edges.entries()) {
        if (edge.to !== j) continue;
        const impl = edge.impl;
        if (impl.kind === 'zero') continue;
        // A node all of whose inputs are `none` is zero; `forward` feeds zeros to its out-edges.
        const input = nodes[edge.from] ?? zerosOf();
        switch (impl.kind) {
          case 'identity':
            terms.push(input);
            break;
          case 'conv_bn': {
            const src = impl.relu ? reluOf(edge.from, input) : input;
            terms.push(g.bn(impl.bn, g.conv(impl.conv, src)));
            break;
          }
          case 'pool': {
            const y = impl.pre ? g.bn(impl.pre.bn, g.conv(impl.pre.conv, reluOf(edge.from, input))) : input;
            terms.push(g.avgPool3(`${cell.name}.edge${e}.pool`, y));
            break;
          }
        }
      }
      nodes[j] = terms.length === 0 ? null
        : terms.length === 1 ? terms[0]
          : g.sum(`${cell.name}.node${j}.sum`, terms);
    }
    return nodes[3] ?? zerosOf();
  },

  output: (cell) => ({ size: cell.size, channels: cell.cout }),
  isIdentity: isIdentityCell,
  isConstantZero: isZeroCell,
};

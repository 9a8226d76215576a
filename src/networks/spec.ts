/**
 * One description of a NATS-Bench network, shared by everything that needs its structure:
 * the analytic cost model (params, FLOPs), the TensorFlow.js model, the proxies (which layers
 * belong to which cell) and the reports. Building it is pure and cheap (no tensors).
 *
 * Layout follows NATS-Bench's TinyNetwork (MFNAS.md §1): stem, cells and residual reduction
 * blocks, last BN + ReLU, global pool, classifier. This file has the building blocks; each
 * search space assembles its own macro network from them (src/spaces/<space>/network.ts).
 */
import { datasetInfo, type DatasetRef } from '../datasets/registry.js';
import { InputError } from '../util/errors.js';
import { EDGE_FROM, EDGE_TO, type TssCell, type TssOp } from '../spaces/tss/cell.js';
import { liveEdges } from '../spaces/tss/canonical.js';
import type { SpaceName } from '../spaces/types.js';

/** A convolution without bias; weights are [k, k, cin, cout] (TensorFlow.js HWIO). */
export interface ConvSpec {
  readonly kind: 'conv';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly stride: number;
  /** Symmetric zero padding (PyTorch semantics). */
  readonly pad: number;
  /** Spatial size of the input (square). */
  readonly inSize: number;
}

/** Affine batch norm (γ, β), training-mode statistics. */
export interface BnSpec {
  readonly kind: 'bn';
  readonly name: string;
  readonly c: number;
}

export interface LinearSpec {
  readonly kind: 'linear';
  readonly name: string;
  readonly in: number;
  readonly out: number;
}

export type LayerSpec = ConvSpec | BnSpec | LinearSpec;

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
  readonly op: TssOp;
  readonly impl: EdgeImpl;
  /** False when the edge's output can never influence the cell output (see spaces/tss/canonical.ts). */
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

export interface ReductionSpec {
  readonly kind: 'reduction';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  /** Input spatial size; the output is half of it. */
  readonly size: number;
  readonly convA: ConvSpec;
  readonly bnA: BnSpec;
  readonly convB: ConvSpec;
  readonly bnB: BnSpec;
  /** AvgPool2d(2, 2) → Conv1x1, no BN. */
  readonly shortcut: ConvSpec;
}

export type BlockSpec = CellSpec | ReductionSpec;

export interface NetworkSpec {
  readonly space: SpaceName;
  /**
   * The dataset's name: a NATS-Bench name (`DatasetName`), or a folder dataset's folder name.
   * Classes and resolution below come from the dataset.
   */
  readonly dataset: string;
  /** The architecture in its space's string form. */
  readonly arch: string;
  readonly classes: number;
  readonly resolution: number;
  readonly stem: { readonly conv: ConvSpec; readonly bn: BnSpec };
  /** Cells and reduction blocks in order: the "cell list" the proxies read gradients from. */
  readonly blocks: readonly BlockSpec[];
  readonly lastBn: BnSpec;
  readonly classifier: LinearSpec;
}

/**
 * A BN's 'running_mean' / 'running_var' are buffers, not trained parameters: only a trained
 * network has them (evaluation mode, export); initialisation and the proxies never do.
 */
type ParamRole<L extends LayerSpec> = L extends BnSpec ? 'gamma' | 'beta' | 'running_mean' | 'running_var' : L extends LinearSpec ? 'weight' | 'bias' : 'weight';

/**
 * The name of one of a layer's parameters, `<layer>.<role>` (e.g. `cells.3.edge4.conv.weight`).
 * Initialisation, the model and the proxies all look parameters up by these names, so this is
 * the only place that spells them.
 */
export function paramName<L extends LayerSpec>(layer: L, role: ParamRole<L>): string {
  return `${layer.name}.${role}`;
}

/**
 * Name of the block at position `index` of `NetworkSpec.blocks`. Layer names start with it,
 * which is how per-cell proxies group parameters by block.
 */
export function blockName(index: number): string {
  return `cells.${index}`;
}

const conv = (name: string, cin: number, cout: number, k: number, stride: number, inSize: number): ConvSpec => ({
  kind: 'conv', name, cin, cout, k, stride, pad: (k - 1) >> 1, inSize,
});
const bn = (name: string, c: number): BnSpec => ({ kind: 'bn', name, c });

function edgeImpl(name: string, op: TssOp, cin: number, cout: number, size: number): EdgeImpl {
  switch (op) {
    case 'none':
      return { kind: 'zero' };
    case 'skip_connect':
      return cin === cout
        ? { kind: 'identity' }
        : { kind: 'conv_bn', relu: false, conv: conv(`${name}.conv`, cin, cout, 1, 1, size), bn: bn(`${name}.bn`, cout) };
    case 'nor_conv_1x1':
    case 'nor_conv_3x3': {
      const k = op === 'nor_conv_1x1' ? 1 : 3;
      return { kind: 'conv_bn', relu: true, conv: conv(`${name}.conv`, cin, cout, k, 1, size), bn: bn(`${name}.bn`, cout) };
    }
    case 'avg_pool_3x3':
      return {
        kind: 'pool',
        pre: cin === cout ? null : { conv: conv(`${name}.conv`, cin, cout, 1, 1, size), bn: bn(`${name}.bn`, cout) },
      };
  }
}

/** A cell of the given op per edge, mapping `cin` to `cout` channels at spatial size `size`. */
export function cellSpec(name: string, cell: TssCell, cin: number, cout: number, size: number): CellSpec {
  const live = liveEdges(cell);
  const edges = cell.map((op, e): EdgeSpec => {
    const from = EDGE_FROM[e];
    const edgeCin = from === 0 ? cin : cout;
    return { from, to: EDGE_TO[e], op, impl: edgeImpl(`${name}.edge${e}`, op, edgeCin, cout, size), live: live[e] };
  });
  return { kind: 'cell', name, cin, cout, size, edges };
}

/** The residual reduction block: `cin` → `cout` channels, spatial size halved. */
export function reductionSpec(name: string, cin: number, cout: number, size: number): ReductionSpec {
  return {
    kind: 'reduction', name, cin, cout, size,
    convA: conv(`${name}.conv_a`, cin, cout, 3, 2, size),
    bnA: bn(`${name}.bn_a`, cout),
    convB: conv(`${name}.conv_b`, cout, cout, 3, 1, size / 2),
    bnB: bn(`${name}.bn_b`, cout),
    shortcut: conv(`${name}.shortcut`, cin, cout, 1, 1, size / 2),
  };
}

/**
 * The input resolution of `dataset`, checked: the networks are fully convolutional with a global
 * pool, halving the size twice (two reduction blocks), so any multiple of 4 from 8 up works.
 */
export function networkResolution(dataset: DatasetRef): number {
  const r = datasetInfo(dataset).resolution;
  if (!Number.isSafeInteger(r) || r < 8 || r % 4 !== 0) {
    throw new InputError(`the networks need images of a multiple of 4 pixels, at least 8, got ${r}x${r}: use e.g. --image-size 32`);
  }
  return r;
}

/** The whole network around `blocks`: stem into `stemC` channels, last BN + classifier on `lastC`. */
export function assembleNetwork(
  space: SpaceName, datasetGiven: DatasetRef, arch: string,
  stemC: number, blocks: readonly BlockSpec[], lastC: number,
): NetworkSpec {
  const info = datasetInfo(datasetGiven);
  networkResolution(info);
  return {
    space, dataset: info.name, arch, classes: info.classes, resolution: info.resolution,
    stem: { conv: conv('stem.conv', 3, stemC, 3, 1, info.resolution), bn: bn('stem.bn', stemC) },
    blocks,
    lastBn: bn('lastact.bn', lastC),
    classifier: { kind: 'linear', name: 'classifier', in: lastC, out: info.classes },
  };
}

/** Every parameterised layer of a network, in a fixed order (stem, blocks, last BN, classifier). */
export function networkLayers(spec: NetworkSpec): LayerSpec[] {
  const out: LayerSpec[] = [spec.stem.conv, spec.stem.bn];
  for (const block of spec.blocks) out.push(...blockLayers(block));
  out.push(spec.lastBn, spec.classifier);
  return out;
}

/** The parameterised layers of one block (cell or reduction), in a fixed order. */
export function blockLayers(block: BlockSpec): LayerSpec[] {
  if (block.kind === 'reduction') return [block.convA, block.bnA, block.convB, block.bnB, block.shortcut];
  const out: LayerSpec[] = [];
  for (const edge of block.edges) {
    const impl = edge.impl;
    if (impl.kind === 'conv_bn') out.push(impl.conv, impl.bn);
    else if (impl.kind === 'pool' && impl.pre) out.push(impl.pre.conv, impl.pre.bn);
  }
  return out;
}

/**
 * The evaluation-mode function of a trained network as a small, framework-neutral graph: one
 * list of nodes that both exporters (TensorFlow.js LayersModel, ONNX) translate op for op, so
 * the two files compute the same function, and the same function as mfnas's own
 * `forward(spec, params, x, { batchNorm: 'eval' })` (src/networks/model.ts): each block's kind
 * emits its nodes through the builder below (`BlockKind.graph`), mirroring its own forward.
 *
 * The graph's input is what users feed: NHWC float32 RGB pixels scaled to [0, 1]; its first
 * node normalises with the `mean` / `std` of `preprocess.json`, so (x − mean) / std equals the
 * (pixel − 255·mean) / (255·std) that mfnas's forward receives.
 */
import type { GraphEmitter, NodeRef } from '../networks/blocks/kind.js';
import { kindOf } from '../networks/blocks/registry.js';
import { convGroups, networkBlocks, paramName, type BnSpec, type ConvSpec, type NetworkSpec } from '../networks/spec.js';
import type { ParamTensor } from '../networks/init.js';
import type { TrainedNetwork } from '../networks/trained.js';
import { DataError } from '../util/errors.js';

/** Index of a node in `ExportGraph.nodes`. */
export type { NodeRef };

/** PyTorch's BatchNorm2d epsilon, which mfnas's eval-mode batch norm uses too. */
export const BN_EPS = 1e-5;

export type GraphNode =
  | { readonly op: 'input'; readonly name: string; readonly size: number }
  /** (x − mean) / std per channel. */
  | { readonly op: 'normalize'; readonly name: string; readonly input: NodeRef; readonly mean: readonly number[]; readonly std: readonly number[] }
  /**
   * No bias; symmetric zero padding `pad` (PyTorch). `groups` as PyTorch's Conv2d: output
   * channels [j·cout/g, (j+1)·cout/g) see input channels [j·cin/g, (j+1)·cin/g); weight HWIO
   * [k, k, cin/groups, cout]. groups = cin = cout is a depthwise convolution (weight [k, k, 1, C]).
   */
  | {
    readonly op: 'conv'; readonly name: string; readonly input: NodeRef;
    readonly k: number; readonly cin: number; readonly cout: number; readonly stride: number; readonly pad: number;
    readonly groups: number;
    readonly weight: Float32Array;
  }
  /** Eval-mode batch norm: γ (x − running_mean) / √(running_var + eps) + β. */
  | {
    readonly op: 'bn'; readonly name: string; readonly input: NodeRef; readonly channels: number;
    readonly gamma: Float32Array; readonly beta: Float32Array; readonly mean: Float32Array; readonly variance: Float32Array;
    readonly eps: number;
  }
  | { readonly op: 'relu'; readonly name: string; readonly input: NodeRef }
  /** 3×3, stride 1, padding 1, padding excluded from the divisor (count_include_pad=False). */
  | { readonly op: 'avgPool3'; readonly name: string; readonly input: NodeRef }
  /** 2×2, stride 2, no padding. */
  | { readonly op: 'avgPool2'; readonly name: string; readonly input: NodeRef }
  /**
   * Zeros with `cout` channels, shaped like `input` otherwise: the value of a cell node whose
   * every incoming edge is `none`. Exported as a 1×1 convolution with an all-zero kernel.
   */
  | { readonly op: 'zeros'; readonly name: string; readonly input: NodeRef; readonly cin: number; readonly cout: number }
  /** Sum of two or more tensors, added left to right. */
  | { readonly op: 'add'; readonly name: string; readonly inputs: readonly NodeRef[] }
  /** Mean over H and W: [N, H, W, C] → [N, C]. */
  | { readonly op: 'globalAvgPool'; readonly name: string; readonly input: NodeRef }
  /** x · weight + bias, weight [in, out]. */
  | {
    readonly op: 'dense'; readonly name: string; readonly input: NodeRef; readonly in: number; readonly out: number;
    readonly weight: Float32Array; readonly bias: Float32Array;
  };

export interface ExportGraph {
  /** Topologically ordered: every input of a node comes before it. The first node is the input. */
  readonly nodes: readonly GraphNode[];
  readonly output: NodeRef;
  readonly imageSize: number;
  readonly classes: number;
}

/** The one name under which the exported models take their input. */
export const INPUT_NAME = 'image';
/** The one name under which the exported models give their output (the logits). */
export const OUTPUT_NAME = 'logits';

class Builder implements GraphEmitter {
  readonly nodes: GraphNode[] = [];
  constructor(private readonly params: TrainedNetwork['params']) {}

  add(node: GraphNode): NodeRef {
    this.nodes.push(node);
    return this.nodes.length - 1;
  }

  param(name: string, shape: readonly number[]): Float32Array {
    const p: ParamTensor | undefined = this.params.get(name);
    if (!p) throw new DataError(`the trained network has no parameter ${name}; the checkpoint does not match its architecture (re-run training)`);
    const expected = shape.reduce((a, b) => a * b, 1);
    if (p.data.length !== expected || p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i])) {
      throw new DataError(`parameter ${name} has shape [${p.shape.join(',')}], expected [${shape.join(',')}]; the checkpoint does not match its architecture`);
    }
    return p.data;
  }

  conv(c: ConvSpec, input: NodeRef): NodeRef {
    const groups = convGroups(c);
    if (!Number.isSafeInteger(groups) || groups < 1 || c.cin % groups !== 0 || c.cout % groups !== 0) {
      throw new DataError(`convolution ${c.name} has ${groups} groups, which do not divide its ${c.cin} input and ${c.cout} output channels; the network spec is invalid`);
    }
    return this.add({
      op: 'conv', name: c.name, input, k: c.k, cin: c.cin, cout: c.cout, stride: c.stride, pad: c.pad, groups,
      weight: this.param(paramName(c, 'weight'), [c.k, c.k, c.cin / groups, c.cout]),
    });
  }

  bn(b: BnSpec, input: NodeRef): NodeRef {
    const v = (role: 'gamma' | 'beta' | 'running_mean' | 'running_var') => this.param(paramName(b, role), [b.c]);
    const variance = v('running_var');
    const bad = variance.findIndex((x) => !(x >= 0));
    if (bad >= 0) {
      throw new DataError(`${paramName(b, 'running_var')}[${bad}] is ${variance[bad]}, not a variance; the checkpoint is damaged (re-run training)`);
    }
    return this.add({
      op: 'bn', name: b.name, input, channels: b.c,
      gamma: v('gamma'), beta: v('beta'), mean: v('running_mean'), variance, eps: BN_EPS,
    });
  }

  relu(name: string, input: NodeRef): NodeRef {
    return this.add({ op: 'relu', name, input });
  }

  avgPool3(name: string, input: NodeRef): NodeRef {
    return this.add({ op: 'avgPool3', name, input });
  }

  avgPool2(name: string, input: NodeRef): NodeRef {
    return this.add({ op: 'avgPool2', name, input });
  }

  zeros(name: string, input: NodeRef, cin: number, cout: number): NodeRef {
    return this.add({ op: 'zeros', name, input, cin, cout });
  }

  sum(name: string, inputs: readonly NodeRef[]): NodeRef {
    return this.add({ op: 'add', name, inputs });
  }
}

function checkPreprocess(trained: TrainedNetwork): void {
  const { preprocess, spec, labels } = trained;
  if (preprocess.imageSize !== spec.resolution) {
    throw new DataError(`preprocess.imageSize is ${preprocess.imageSize} but the network takes ${spec.resolution}×${spec.resolution} images; the checkpoint is inconsistent`);
  }
  for (const [what, v] of [['mean', preprocess.mean], ['std', preprocess.std]] as const) {
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x)) || (what === 'std' && v.some((x) => !(x > 0)))) {
      throw new DataError(`preprocess.${what} must be 3 finite numbers${what === 'std' ? ' > 0' : ''}, got ${JSON.stringify(v)}; the checkpoint is damaged`);
    }
  }
  if (labels.length !== spec.classes) {
    throw new DataError(`the trained network has ${labels.length} labels for ${spec.classes} classes; the checkpoint is inconsistent`);
  }
}

/**
 * The evaluation-mode graph of a trained network (see the module comment). Throws a DataError
 * when a parameter is missing or misshapen, or when labels / preprocessing do not fit the spec.
 */
export function exportGraph(trained: TrainedNetwork): ExportGraph {
  checkPreprocess(trained);
  const spec: NetworkSpec = trained.spec;
  const g = new Builder(trained.params);
  const input = g.add({ op: 'input', name: INPUT_NAME, size: spec.resolution });
  let h = g.add({ op: 'normalize', name: 'normalize', input, mean: [...trained.preprocess.mean], std: [...trained.preprocess.std] });
  for (const block of networkBlocks(spec)) h = kindOf(block).graph(block, h, g);
  h = g.add({ op: 'globalAvgPool', name: 'global_pool', input: h });
  const c = spec.classifier;
  const output = g.add({
    op: 'dense', name: c.name, input: h, in: c.in, out: c.out,
    weight: g.param(paramName(c, 'weight'), [c.in, c.out]), bias: g.param(paramName(c, 'bias'), [c.out]),
  });
  return { nodes: g.nodes, output, imageSize: spec.resolution, classes: spec.classes };
}

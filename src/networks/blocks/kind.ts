/**
 * What a block kind is: one file under this folder owns a kind of block — its spec, its layers,
 * its forward pass, its nodes in the export graph and the facts the proxies read about it. The
 * rest of mfnas walks a network block by block and asks each block's kind (./registry.ts), so
 * it never names a kind: a new kind is one file and one `registerBlockKind` call.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BnSpec, ConvSpec, LayerSpec } from '../layers.js';

/** Every block spec names its kind (the registry key) and itself (the prefix of its layers' names). */
export interface BlockSpec {
  readonly kind: string;
  readonly name: string;
}

/**
 * The layers of the running pass, as a kind's `forward` uses them: they read the parameters,
 * apply the pass's BN mode (training statistics, running statistics, or none) and call its
 * hooks, so a kind's forward is the same code in every mode.
 */
export interface ForwardLayers {
  /** True when edges that cannot influence the output may be skipped (see `BlockKind.liveLayers`). */
  readonly skipDead: boolean;
  conv(c: ConvSpec, x: tf.Tensor4D): tf.Tensor4D;
  bn(b: BnSpec, x: tf.Tensor4D): tf.Tensor4D;
  /** A ReLU, reported to the pass's `onRelu` hook. */
  relu(x: tf.Tensor4D): tf.Tensor4D;
  /**
   * A ReLU reported to the hook on every call but computed once per input tensor within
   * `shared` (one map per block run): for branches that each apply their own ReLU to one input.
   */
  sharedRelu(shared: Map<tf.Tensor, tf.Tensor4D>, x: tf.Tensor4D): tf.Tensor4D;
}

/** Index of a node in the export graph (src/export/graph.ts). */
export type NodeRef = number;

/**
 * The export graph's builder as a kind's `graph` uses it (the graph itself and its nodes are in
 * src/export/graph.ts): conv and BN take their trained parameters, the others are named nodes.
 */
export interface GraphEmitter {
  conv(c: ConvSpec, input: NodeRef): NodeRef;
  /** Evaluation-mode BN (running statistics). */
  bn(b: BnSpec, input: NodeRef): NodeRef;
  relu(name: string, input: NodeRef): NodeRef;
  /** 3×3, stride 1, padding 1, padding excluded from the divisor. */
  avgPool3(name: string, input: NodeRef): NodeRef;
  /** 2×2, stride 2, no padding. */
  avgPool2(name: string, input: NodeRef): NodeRef;
  /** Zeros with `cout` channels, shaped like `input` (channels `cin`) otherwise. */
  zeros(name: string, input: NodeRef, cin: number, cout: number): NodeRef;
  /** Sum of two or more nodes, added left to right. */
  sum(name: string, inputs: readonly NodeRef[]): NodeRef;
}

export interface BlockKind<S extends BlockSpec = BlockSpec> {
  /** The `kind` of the specs it handles. */
  readonly name: string;
  /**
   * Every parameterised layer in a fixed order: this order is the network's parameter order
   * (initialisation, training, checkpoints), and parameter counts and FLOPs sum over it.
   */
  layers(block: S): readonly LayerSpec[];
  /**
   * The layers a pass with `skipDead` runs: those that can influence the output of a freshly
   * initialised block (BN β = 0). Absent: all of `layers`.
   */
  liveLayers?(block: S): readonly LayerSpec[];
  /** The block's output for the NHWC input `x`, in the pass given by `layers`. */
  forward(block: S, x: tf.Tensor4D, layers: ForwardLayers): tf.Tensor4D;
  /**
   * The block's evaluation-mode function as export-graph nodes, mirroring `forward` op for op
   * with every branch but constant-zero ones (trained BN β can make a "dead" branch matter).
   */
  graph(block: S, input: NodeRef, g: GraphEmitter): NodeRef;
  /** Spatial size and channels of its output (per image). */
  output(block: S): { readonly size: number; readonly channels: number };
  /** True when the block computes exactly its input (AZ-NAS scores such a block apart). Absent: never. */
  isIdentity?(block: S): boolean;
  /**
   * True when the block stands for "no layer here" in a variable-depth space (NAS-Bench-Macro's
   * identity layer inside a stage): it computes its input exactly, and per-block measures such
   * as AZ-NAS read the network as not having it. Unlike `isIdentity`, which marks a real block
   * of the topology that happens to compute its input (a NAS-Bench-201 cell of skip
   * connections, which AZ-NAS scores −∞). Absent: never.
   */
  isSkippedLayer?(block: S): boolean;
  /** True when the block's output is constant zero at initialisation. Absent: never. */
  isConstantZero?(block: S): boolean;
}

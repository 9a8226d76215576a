/**
 * The TensorFlow.js forward pass of a NetworkSpec, and the loss + weight-gradient pass the
 * proxies need. There is one model definition: faster engines swap the kernels underneath
 * (src/engine), never this file.
 */
import * as tf from '@tensorflow/tfjs';
import {
  add, addN, avgPool2x2, avgPool3x3ExcludePad, batchNormEval, batchNormTrain, conv2d, globalAvgPool, linear, relu,
  softmaxCrossEntropyMean,
} from '../engine/ops.js';
import { gradients } from '../engine/gradients.js';
import type { NetworkParams } from './init.js';
import { paramName, type BlockSpec, type BnSpec, type CellSpec, type ConvSpec, type EdgeSpec, type NetworkSpec, type ReductionSpec } from './spec.js';

export type TensorParams = Map<string, tf.Tensor>;

export interface ForwardOptions {
  /**
   * Skip edges that cannot influence the output (spec `live` = false). Exact for the logits
   * whenever BN β is zero (always so at initialisation), which is when the proxies run; a
   * trained network with nonzero β should be run with `skipDead: false`.
   */
  readonly skipDead?: boolean;
  /**
   * 'train' (default): batch-statistics BN. 'none': every BN is the identity — the BN-free
   * network that SynFlow scores. 'eval': running statistics, read from the parameters
   * `paramName(bn, 'running_mean' | 'running_var')` (a trained network; see runningStatNames).
   */
  readonly batchNorm?: 'train' | 'none' | 'eval';
  /**
   * In 'train' mode, called for every BN with the batch mean and biased variance (copies):
   * training updates its running statistics from them.
   */
  readonly onBatchStats?: (bn: BnSpec, mean: Float32Array, variance: Float32Array) => void;
  /** Called with the input of every ReLU (NASWOT reads the activation pattern). */
  readonly onRelu?: (preActivation: tf.Tensor4D) => void;
  /** Applied to each block's output before the next block (SynFlow rescales here). */
  readonly afterBlock?: (blockIndex: number, output: tf.Tensor4D) => tf.Tensor4D;
}

/** Per-pass state threaded through the layer helpers. */
interface Pass {
  readonly p: TensorParams;
  readonly skipDead: boolean;
  readonly bn: 'train' | 'none' | 'eval';
  readonly onBatchStats?: (bn: BnSpec, mean: Float32Array, variance: Float32Array) => void;
  readonly onRelu?: (preActivation: tf.Tensor4D) => void;
}

export function toTensorParams(params: NetworkParams): TensorParams {
  const out: TensorParams = new Map();
  for (const [name, p] of params) out.set(name, tf.tensor(p.data, p.shape as number[], 'float32'));
  return out;
}

function param(p: TensorParams, name: string): tf.Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`missing parameter ${name}`);
  return t;
}

function convOf(pass: Pass, c: ConvSpec, x: tf.Tensor4D): tf.Tensor4D {
  return conv2d(x, param(pass.p, paramName(c, 'weight')) as tf.Tensor4D, c.stride, c.pad);
}

function bnOf(pass: Pass, b: BnSpec, x: tf.Tensor4D): tf.Tensor4D {
  if (pass.bn === 'none') return x;
  const gamma = param(pass.p, paramName(b, 'gamma')) as tf.Tensor1D;
  const beta = param(pass.p, paramName(b, 'beta')) as tf.Tensor1D;
  if (pass.bn === 'eval') {
    const mean = param(pass.p, paramName(b, 'running_mean')) as tf.Tensor1D;
    const variance = param(pass.p, paramName(b, 'running_var')) as tf.Tensor1D;
    return batchNormEval(x, gamma, beta, mean, variance);
  }
  const sink = pass.onBatchStats;
  return batchNormTrain(x, gamma, beta, 1e-5, sink && ((mean, variance) => sink(b, mean, variance)));
}

function reluOf(pass: Pass, x: tf.Tensor4D): tf.Tensor4D {
  pass.onRelu?.(x);
  return relu(x);
}

/**
 * Every edge of a cell applies its own ReLU to its source node; the results are identical, so
 * the ReLU of a node is computed once and shared (saving memory and time on the tape). The
 * hook still sees one ReLU per edge, as a per-edge module network would report.
 */
function sharedRelu(pass: Pass, cache: Map<tf.Tensor, tf.Tensor4D>, x: tf.Tensor4D): tf.Tensor4D {
  pass.onRelu?.(x);
  let r = cache.get(x);
  if (!r) cache.set(x, (r = relu(x)));
  return r;
}

/** The edge's output, or null for a constant zero (op `none`). */
function edgeForward(pass: Pass, edge: EdgeSpec, x: tf.Tensor4D, relus: Map<tf.Tensor, tf.Tensor4D>): tf.Tensor4D | null {
  const impl = edge.impl;
  switch (impl.kind) {
    case 'zero':
      return null;
    case 'identity':
      return x;
    case 'conv_bn':
      return bnOf(pass, impl.bn, convOf(pass, impl.conv, impl.relu ? sharedRelu(pass, relus, x) : x));
    case 'pool': {
      const y = impl.pre ? bnOf(pass, impl.pre.bn, convOf(pass, impl.pre.conv, sharedRelu(pass, relus, x))) : x;
      return avgPool3x3ExcludePad(y);
    }
  }
}

function cellForward(pass: Pass, cell: CellSpec, x: tf.Tensor4D): tf.Tensor4D {
  const nodes: Array<tf.Tensor4D | null> = [x, null, null, null];
  const relus = new Map<tf.Tensor, tf.Tensor4D>();
  for (let j = 1; j <= 3; j++) {
    const terms: tf.Tensor4D[] = [];
    for (const edge of cell.edges) {
      if (edge.to !== j || (pass.skipDead && !edge.live)) continue;
      const input = nodes[edge.from];
      // A zero node stays zero through every op of a freshly initialised cell; only reached
      // when !skipDead, so compute it honestly from a zero tensor.
      const y = edgeForward(pass, edge, input ?? zeros(x, cell.cout), relus);
      if (y) terms.push(y);
    }
    nodes[j] = terms.length > 0 ? addN(terms) : null;
  }
  return nodes[3] ?? zeros(x, cell.cout);
}

function zeros(like: tf.Tensor4D, channels: number): tf.Tensor4D {
  const [n, h, w] = like.shape;
  return tf.zeros([n, h, w, channels]);
}

function reductionForward(pass: Pass, r: ReductionSpec, x: tf.Tensor4D): tf.Tensor4D {
  const a = bnOf(pass, r.bnA, convOf(pass, r.convA, reluOf(pass, x)));
  const b = bnOf(pass, r.bnB, convOf(pass, r.convB, reluOf(pass, a)));
  const shortcut = convOf(pass, r.shortcut, avgPool2x2(x));
  return add(shortcut, b);
}

function blockForward(pass: Pass, block: BlockSpec, x: tf.Tensor4D): tf.Tensor4D {
  // A block's intermediates die with it: what a gradient needs, its op saved (tfjs keeps those).
  return tf.tidy(() => (block.kind === 'cell' ? cellForward(pass, block, x) : reductionForward(pass, block, x)));
}

/** Logits [N, classes] for an NHWC batch. */
export function forward(spec: NetworkSpec, p: TensorParams, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
  const pass: Pass = {
    p, skipDead: options.skipDead ?? false, bn: options.batchNorm ?? 'train', onRelu: options.onRelu, onBatchStats: options.onBatchStats,
  };
  let h = bnOf(pass, spec.stem.bn, convOf(pass, spec.stem.conv, x));
  spec.blocks.forEach((block, i) => {
    h = blockForward(pass, block, h);
    if (options.afterBlock) h = options.afterBlock(i, h);
  });
  h = reluOf(pass, bnOf(pass, spec.lastBn, h));
  const pooled = globalAvgPool(h);
  return linear(pooled, param(p, paramName(spec.classifier, 'weight')) as tf.Tensor2D, param(p, paramName(spec.classifier, 'bias')) as tf.Tensor1D);
}

/** Names of the parameters that can receive a nonzero gradient when dead edges are skipped. */
export function liveParamNames(spec: NetworkSpec, skipDead: boolean): Set<string> {
  const names = new Set<string>();
  const addConv = (c: ConvSpec) => names.add(paramName(c, 'weight'));
  const addBn = (b: BnSpec) => { names.add(paramName(b, 'gamma')); names.add(paramName(b, 'beta')); };
  addConv(spec.stem.conv); addBn(spec.stem.bn);
  for (const block of spec.blocks) {
    if (block.kind === 'reduction') {
      addConv(block.convA); addBn(block.bnA); addConv(block.convB); addBn(block.bnB); addConv(block.shortcut);
      continue;
    }
    for (const edge of block.edges) {
      if (skipDead && !edge.live) continue;
      const impl = edge.impl;
      if (impl.kind === 'conv_bn') { addConv(impl.conv); addBn(impl.bn); }
      else if (impl.kind === 'pool' && impl.pre) { addConv(impl.pre.conv); addBn(impl.pre.bn); }
    }
  }
  addBn(spec.lastBn);
  names.add(paramName(spec.classifier, 'weight'));
  names.add(paramName(spec.classifier, 'bias'));
  return names;
}

export interface LossAndGrads {
  readonly loss: number;
  /** Gradient per requested parameter name (flattened, same layout as the parameter). */
  readonly grads: Map<string, Float32Array>;
}

/**
 * A scalar objective of the parameters and its gradients with respect to `names` (all other
 * parameters held fixed). Names not in `reachable` get an all-zero gradient without being
 * traced (tfjs cannot differentiate with respect to a tensor the pass never touches).
 */
export function objectiveAndGrads(
  p: TensorParams, names: readonly string[], reachable: ReadonlySet<string>,
  objective: (params: TensorParams) => tf.Scalar,
): LossAndGrads {
  const traced = names.filter((n) => reachable.has(n));
  const tensors = traced.map((n) => param(p, n));
  const f = (...ts: tf.Tensor[]): tf.Scalar => {
    const local: TensorParams = new Map(p);
    traced.forEach((n, i) => local.set(n, ts[i]));
    return objective(local);
  };
  // gradients() (tfjs's, releasing memory as it goes) with allowNoGradients: a parameter cut off
  // from the loss (e.g. before a cell whose output is constant zero) gets no gradient instead of
  // an exception.
  const { value, grads } = tf.tidy(() => {
    const r = gradients(() => f(...tensors), tensors, undefined, true);
    return { value: r.value, grads: tensors.map((t, i) => r.grads[i] ?? tf.zerosLike(t)) };
  });
  const out = new Map<string, Float32Array>();
  traced.forEach((n, i) => out.set(n, grads[i].dataSync() as Float32Array));
  for (const n of names) if (!out.has(n)) out.set(n, new Float32Array(param(p, n).size));
  const loss = value.dataSync()[0];
  tf.dispose([value, ...grads]);
  return { loss, grads: out };
}

/**
 * Cross-entropy (mean over the batch) and the gradients of the requested parameters, in
 * training mode. Parameters that the pass cannot reach get an all-zero gradient.
 */
export function lossAndGrads(
  spec: NetworkSpec, p: TensorParams, x: tf.Tensor4D, labels: Int32Array,
  wanted: readonly string[], options: ForwardOptions = {},
): LossAndGrads {
  const reachable = liveParamNames(spec, options.skipDead ?? false);
  return objectiveAndGrads(p, wanted, reachable,
    (local) => softmaxCrossEntropyMean(forward(spec, local, x, options), labels));
}

/**
 * The stem alone (conv → BN, no ReLU): the input of the first block. With `blockForwardAt`,
 * lets a proxy run the network block by block and read every block's raw output (AZ-NAS).
 */
export function stemForward(spec: NetworkSpec, p: TensorParams, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor4D {
  const pass: Pass = {
    p, skipDead: options.skipDead ?? false, bn: options.batchNorm ?? 'train', onRelu: options.onRelu, onBatchStats: options.onBatchStats,
  };
  return bnOf(pass, spec.stem.bn, convOf(pass, spec.stem.conv, x));
}

/** Block `index` of `spec.blocks` alone, on its input `x` (its raw output: no activation after it). */
export function blockForwardAt(spec: NetworkSpec, p: TensorParams, index: number, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor4D {
  const pass: Pass = {
    p, skipDead: options.skipDead ?? false, bn: options.batchNorm ?? 'train', onRelu: options.onRelu, onBatchStats: options.onBatchStats,
  };
  return blockForward(pass, spec.blocks[index], x);
}

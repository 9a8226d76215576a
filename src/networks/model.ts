/**
 * The TensorFlow.js forward pass of a NetworkSpec, and the loss + weight-gradient pass the
 * proxies need. There is one model definition: faster engines swap the kernels underneath
 * (src/engine), never this file.
 */
import * as tf from '@tensorflow/tfjs';
import {
  batchNormEval, batchNormTrain, conv2d, globalAvgPool, groupedConv2d, linear, relu, softmaxCrossEntropyMean,
} from '../engine/ops.js';
import { gradients } from '../engine/gradients.js';
import type { BlockSpec, ForwardLayers } from './blocks/kind.js';
import { kindOf } from './blocks/registry.js';
import type { NetworkParams } from './init.js';
import { convGroups, layerParamShapes, paramName, type BnSpec, type ConvSpec } from './layers.js';
import { networkBlocks, runLayers, type NetworkSpec } from './spec.js';

export type TensorParams = Map<string, tf.Tensor>;

export interface ForwardOptions {
  /**
   * Skip branches that cannot influence the output (each block kind decides: its `forward`
   * skips them and its `liveLayers` leaves their layers out). Exact for the logits
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

/** The layers of one pass (parameters, BN mode, hooks) as block kinds call them. */
function forwardLayers(p: TensorParams, options: ForwardOptions): ForwardLayers {
  const bnMode = options.batchNorm ?? 'train';
  const { onRelu, onBatchStats } = options;
  return {
    skipDead: options.skipDead ?? false,
    conv(c: ConvSpec, x: tf.Tensor4D): tf.Tensor4D {
      const w = param(p, paramName(c, 'weight')) as tf.Tensor4D;
      // groups > 1: groupedConv2d (depthwise when groups = cin = cout, [k,k,1,C] reshaped to
      // [k,k,C,1], same memory order); groups = 1 stays the plain conv2d.
      const groups = convGroups(c);
      return groups === 1 ? conv2d(x, w, c.stride, c.pad) : groupedConv2d(x, w, c.stride, c.pad, groups);
    },
    bn(b: BnSpec, x: tf.Tensor4D): tf.Tensor4D {
      if (bnMode === 'none') return x;
      const gamma = param(p, paramName(b, 'gamma')) as tf.Tensor1D;
      const beta = param(p, paramName(b, 'beta')) as tf.Tensor1D;
      if (bnMode === 'eval') {
        const mean = param(p, paramName(b, 'running_mean')) as tf.Tensor1D;
        const variance = param(p, paramName(b, 'running_var')) as tf.Tensor1D;
        return batchNormEval(x, gamma, beta, mean, variance);
      }
      return batchNormTrain(x, gamma, beta, 1e-5, onBatchStats && ((mean, variance) => onBatchStats(b, mean, variance)));
    },
    relu(x: tf.Tensor4D): tf.Tensor4D {
      onRelu?.(x);
      return relu(x);
    },
    sharedRelu(shared: Map<tf.Tensor, tf.Tensor4D>, x: tf.Tensor4D): tf.Tensor4D {
      onRelu?.(x);
      let r = shared.get(x);
      if (!r) shared.set(x, (r = relu(x)));
      return r;
    },
  };
}

function runBlock(layers: ForwardLayers, block: BlockSpec, x: tf.Tensor4D): tf.Tensor4D {
  // A block's intermediates die with it: what a gradient needs, its op saved (tfjs keeps those).
  return tf.tidy(() => kindOf(block).forward(block, x, layers));
}

/** Logits [N, classes] for an NHWC batch. */
export function forward(spec: NetworkSpec, p: TensorParams, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
  const layers = forwardLayers(p, options);
  let h = runBlock(layers, spec.stem, x);
  spec.blocks.forEach((block, i) => {
    h = runBlock(layers, block, h);
    if (options.afterBlock) h = options.afterBlock(i, h);
  });
  h = runBlock(layers, spec.head, h);
  const pooled = globalAvgPool(h);
  return linear(pooled, param(p, paramName(spec.classifier, 'weight')) as tf.Tensor2D, param(p, paramName(spec.classifier, 'bias')) as tf.Tensor1D);
}

/** Names of the parameters that can receive a nonzero gradient when dead edges are skipped. */
export function liveParamNames(spec: NetworkSpec, skipDead: boolean): Set<string> {
  const names = new Set<string>();
  for (const block of networkBlocks(spec)) {
    for (const layer of runLayers(block, skipDead)) for (const [name] of layerParamShapes(layer)) names.add(name);
  }
  for (const [name] of layerParamShapes(spec.classifier)) names.add(name);
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
 * The stem alone: the input of the first block. With `blockForwardAt`, lets a proxy run the
 * network block by block and read every block's raw output (AZ-NAS).
 */
export function stemForward(spec: NetworkSpec, p: TensorParams, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor4D {
  return runBlock(forwardLayers(p, options), spec.stem, x);
}

/** Block `index` of `spec.blocks` alone, on its input `x` (its raw output: no activation after it). */
export function blockForwardAt(spec: NetworkSpec, p: TensorParams, index: number, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor4D {
  return runBlock(forwardLayers(p, options), spec.blocks[index], x);
}

/**
 * One training step and the test-split evaluation, on plain Float32Array parameters.
 *
 * The parameters live in JS (the checkpoint, the optimizer and the running statistics all work
 * on the same arrays) and are copied into tensors for each pass: a copy of ~1M floats costs
 * about a millisecond, far below a forward/backward pass, and keeps every number the optimizer
 * sees independent of the engine's memory management.
 */
import { gradients } from '../engine/gradients.js';
import * as tf from '@tensorflow/tfjs';
import { forward, type TensorParams } from '../networks/model.js';
import type { NetworkParams } from '../networks/init.js';
import { layerParamShapes, networkLayers, paramName, type BnSpec, type NetworkSpec } from '../networks/spec.js';
import { softmaxCrossEntropyMean } from '../engine/ops.js';

/** PyTorch's BatchNorm2d momentum: running = (1 − m)·running + m·batch statistic. */
export const BN_MOMENTUM = 0.1;

export interface StepResult {
  /** Mean cross-entropy over the batch. */
  readonly loss: number;
  /** Images whose top-1 prediction equals the label. */
  readonly correct: number;
  /** Gradient of the mean loss for every trained parameter (same names as `trainableNames`). */
  readonly grads: Map<string, Float32Array>;
}

/** Names of the trained parameters (conv/linear weights, linear bias, BN γ and β), in network order. */
export function trainableNames(spec: NetworkSpec): string[] {
  return networkLayers(spec).flatMap((layer) => layerParamShapes(layer).map(([name]) => name));
}

/** Every BN of the network, in network order. */
export function batchNorms(spec: NetworkSpec): BnSpec[] {
  return networkLayers(spec).filter((l): l is BnSpec => l.kind === 'bn');
}

/** Running mean 0 and running variance 1 for every BN, as PyTorch initialises its buffers. */
export function addRunningStats(spec: NetworkSpec, params: NetworkParams): void {
  for (const bn of batchNorms(spec)) {
    params.set(paramName(bn, 'running_mean'), { shape: [bn.c], data: new Float32Array(bn.c) });
    params.set(paramName(bn, 'running_var'), { shape: [bn.c], data: new Float32Array(bn.c).fill(1) });
  }
}

/**
 * PyTorch's update of a BN's buffers from one training batch of `count` values per channel:
 * running_mean ← (1 − m)·running_mean + m·mean, running_var ← (1 − m)·running_var + m·var·n/(n − 1)
 * (the unbiased variance), in float32.
 */
export function updateRunningStats(
  runningMean: Float32Array, runningVar: Float32Array, mean: Float32Array, biasedVar: Float32Array, count: number,
  momentum = BN_MOMENTUM,
): void {
  const unbias = count > 1 ? count / (count - 1) : 1;
  for (let c = 0; c < runningMean.length; c++) {
    runningMean[c] = Math.fround((1 - momentum) * runningMean[c] + momentum * mean[c]);
    runningVar[c] = Math.fround((1 - momentum) * runningVar[c] + momentum * biasedVar[c] * unbias);
  }
}

function tensorsOf(params: NetworkParams, names: Iterable<string>): TensorParams {
  const out: TensorParams = new Map();
  for (const name of names) {
    const p = params.get(name);
    if (!p) throw new Error(`missing parameter ${name}`);
    out.set(name, tf.tensor(p.data, p.shape as number[], 'float32'));
  }
  return out;
}

function countCorrect(logits: Float32Array, labels: Int32Array, classes: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    // First maximum, as torch.argmax / topk take it.
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/**
 * Forward in training mode, mean cross-entropy, the gradient of every trained parameter and the
 * top-1 hits, in one pass; the batch statistics of every BN update `params`' running statistics.
 * `x` is NHWC, normalised.
 */
export function trainStep(
  spec: NetworkSpec, params: NetworkParams, x: Float32Array, labels: Int32Array,
): StepResult {
  const names = trainableNames(spec);
  const n = labels.length;
  const tensors = tensorsOf(params, names);
  const input = tf.tensor4d(x, [n, spec.resolution, spec.resolution, 3]);
  const stats: Array<[BnSpec, Float32Array, Float32Array]> = [];
  let logits: Float32Array | null = null;
  try {
    const list = names.map((name) => tensors.get(name)!);
    // allowNoGradients: a parameter whose every path to the loss runs through a zero (an edge
    // after a `none`-only node) has gradient zero, as PyTorch's x·0 gives it.
    const { value, grads } = tf.tidy(() => {
      // Our gradients(): tfjs's tape and arithmetic, freeing what the backward pass has consumed.
      const r = gradients(() => {
        const local: TensorParams = new Map(names.map((name, i) => [name, list[i]]));
        const z = forward(spec, local, input, {
          batchNorm: 'train', skipDead: false, onBatchStats: (bn, mean, variance) => { stats.push([bn, mean, variance]); },
        });
        logits = z.dataSync() as Float32Array;
        return softmaxCrossEntropyMean(z, labels);
      }, list, undefined, true);
      return { value: r.value, grads: list.map((t, i) => r.grads[i] ?? tf.zerosLike(t)) };
    });
    const out = new Map<string, Float32Array>();
    names.forEach((name, i) => out.set(name, Float32Array.from(grads[i].dataSync() as Float32Array)));
    const loss = value.dataSync()[0];
    tf.dispose([value, ...grads]);
    for (const [bn, mean, variance] of stats) {
      const count = n * bn.size * bn.size;
      updateRunningStats(params.get(paramName(bn, 'running_mean'))!.data, params.get(paramName(bn, 'running_var'))!.data, mean, variance, count);
    }
    return { loss, correct: countCorrect(logits!, labels, spec.classes), grads: out };
  } finally {
    tf.dispose([input, ...tensors.values()]);
  }
}

export interface EvalResult {
  /** Mean cross-entropy over the images. */
  readonly loss: number;
  /** Top-1 accuracy in % (0..100). */
  readonly accuracy: number;
  readonly n: number;
}

/**
 * Evaluation mode (BN with running statistics), no gradients, in batches of `batch` images
 * produced by `batchAt(start, count)` (NHWC, normalised).
 */
export function evaluate(
  spec: NetworkSpec, params: NetworkParams, n: number, batch: number,
  batchAt: (start: number, count: number) => { x: Float32Array; labels: Int32Array },
): EvalResult {
  const tensors = tensorsOf(params, params.keys());
  let lossSum = 0;
  let correct = 0;
  try {
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const { x, labels } = batchAt(start, count);
      const logits = tf.tidy(() => forward(spec, tensors, tf.tensor4d(x, [count, spec.resolution, spec.resolution, 3]), { batchNorm: 'eval' }));
      const z = logits.dataSync() as Float32Array;
      logits.dispose();
      correct += countCorrect(z, labels, spec.classes);
      lossSum += crossEntropySum(z, labels, spec.classes);
    }
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return { loss: n > 0 ? lossSum / n : NaN, accuracy: n > 0 ? (100 * correct) / n : NaN, n };
}

/** Σ over images of −log softmax(z)[label], in double precision. */
function crossEntropySum(z: Float32Array, labels: Int32Array, classes: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, z[i * classes + c]);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(z[i * classes + c] - max);
    sum += max + Math.log(s) - z[i * classes + labels[i]];
  }
  return sum;
}

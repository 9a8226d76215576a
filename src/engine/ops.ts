/**
 * The differentiable layer primitives of NAS-Bench-201 / NATS-Bench networks, NHWC, float32,
 * with PyTorch semantics. Every op has a correct forward and backward on every engine (native,
 * wasm, node, cpu); see test/engine.test.ts for the float64 reference checks.
 *
 * An op checks its arguments and runs an mfnas kernel (./kernels/): the implementation the
 * engine selected when it started, its forward, and the gradient registered with it. Ops know
 * nothing about backends.
 *
 * Call `initEngine()` (./backend.ts) before using them.
 */
import * as tf from '@tensorflow/tfjs';
import {
  mfnasKernel, type BatchStatsSink, type MfnasKernelName, type KernelAttrs, type KernelInputs, type KernelOutput,
} from './kernels/index.js';

export type { BatchStatsSink } from './kernels/index.js';
export { poolCounts } from './kernels/generic.js';

type CustomGradFunc = Parameters<typeof tf.customGrad>[0];
type GradSave = (tensors: tf.Tensor[]) => void;

const noSave: GradSave = () => undefined;

/**
 * Runs the selected implementation of kernel `name`. With a registered gradient the forward
 * runs inside `tf.customGrad`, so tfjs records that gradient instead of differentiating the
 * forward's own ops.
 */
function runKernel<N extends MfnasKernelName>(name: N, inputs: KernelInputs<N>, attrs: KernelAttrs<N>): KernelOutput<N> {
  const kernel = mfnasKernel(name);
  const { gradient } = kernel;
  if (!gradient) return kernel.forward(inputs, attrs, noSave);
  const f = (...args: unknown[]) => {
    const save = args.pop() as GradSave;
    const xs = args as KernelInputs<N>; // the tensors `inputs` holds
    return {
      value: kernel.forward(xs, attrs, save),
      gradFunc: (dy: KernelOutput<N>, saved: tf.Tensor[]) => gradient(dy, saved, xs, attrs),
    };
  };
  const op = tf.customGrad(f as unknown as CustomGradFunc) as unknown as (...xs: tf.Tensor[]) => KernelOutput<N>;
  return op(...(inputs as tf.Tensor[]));
}

// ---------------------------------------------------------------------------------------------
// Convolution

/**
 * 2-D convolution without bias, PyTorch padding semantics: `pad` zeros on every side (so a
 * 3x3 stride-2 pad-1 conv on an even input pads 1 at the top/left too, unlike tfjs 'same',
 * which would pad 0 before and 1 after). x [N,H,W,Ci], w [kh,kw,Ci,Co].
 * Gradients come from the backend's Conv2DBackpropInput/Filter kernels (mfnas's on wasm).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride = 1, pad = 0): tf.Tensor4D {
  return runKernel('Conv2dTorchPad', [x, w], { stride, pad });
}

function convOutSize(op: string, size: number, k: number, stride: number, pad: number): number {
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  if (out < 1) throw new Error(`${op}: a ${k}-wide filter with stride ${stride} and pad ${pad} leaves no output on size ${size}`);
  return out;
}

function checkConvAttrs(op: string, stride: number, pad: number): void {
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`${op}: stride ${stride} is not a positive integer`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${op}: pad ${pad} is not a non-negative integer`);
}

/**
 * Depthwise 2-D convolution without bias (PyTorch `Conv2d(C, C, k, stride, pad, groups=C)`):
 * each channel convolved with its own filter. x [N,H,W,C], w [kh,kw,C,1] (PyTorch's [C,1,kh,kw]
 * transposed), `pad` zeros on every side. Gradients for x and w on every engine (mfnas's own,
 * see kernels/generic.ts: tfjs-wasm has no depthwise backprop kernels).
 */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride = 1, pad = 0): tf.Tensor4D {
  if (x.rank !== 4 || w.rank !== 4) throw new Error(`depthwiseConv2d: x and w must be rank 4, got ${x.rank} and ${w.rank}`);
  const [, h, wd, c] = x.shape;
  const [kh, kw, wc, m] = w.shape;
  if (wc !== c || m !== 1) throw new Error(`depthwiseConv2d: filter [${w.shape.join(',')}] does not fit ${c} channels (expected [kh,kw,${c},1])`);
  checkConvAttrs('depthwiseConv2d', stride, pad);
  convOutSize('depthwiseConv2d', h, kh, stride, pad);
  convOutSize('depthwiseConv2d', wd, kw, stride, pad);
  return runKernel('DepthwiseConv2dTorchPad', [x, w], { stride, pad });
}

/**
 * Grouped 2-D convolution without bias (PyTorch `Conv2d(Ci, Co, k, stride, pad, groups=g)`):
 * x [N,H,W,Ci], w [kh,kw,Ci/g,Co]; output channels [j·Co/g, (j+1)·Co/g) see input channels
 * [j·Ci/g, (j+1)·Ci/g) (PyTorch's weight [Co,Ci/g,kh,kw] transposed to [kh,kw,Ci/g,Co]).
 * g = 1 is `conv2d`; g = Ci = Co is `depthwiseConv2d` (w reshaped, same memory order);
 * otherwise the channels are split into g groups, each convolved by `conv2d` and the outputs
 * concatenated (gradients through conv2d's, split's and concat's).
 */
export function groupedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride = 1, pad = 0, groups = 1): tf.Tensor4D {
  if (x.rank !== 4 || w.rank !== 4) throw new Error(`groupedConv2d: x and w must be rank 4, got ${x.rank} and ${w.rank}`);
  const ci = x.shape[3];
  const [kh, kw, cig, co] = w.shape;
  if (!Number.isInteger(groups) || groups < 1 || ci % groups !== 0 || co % groups !== 0) {
    throw new Error(`groupedConv2d: ${groups} groups do not divide ${ci} input and ${co} output channels`);
  }
  if (cig !== ci / groups) throw new Error(`groupedConv2d: filter [${w.shape.join(',')}] has ${cig} input channels per group, expected ${ci / groups}`);
  checkConvAttrs('groupedConv2d', stride, pad);
  convOutSize('groupedConv2d', x.shape[1], kh, stride, pad);
  convOutSize('groupedConv2d', x.shape[2], kw, stride, pad);
  if (groups === 1) return conv2d(x, w, stride, pad);
  if (groups === ci && co === ci) return depthwiseConv2d(x, tf.reshape(w, [kh, kw, ci, 1]) as tf.Tensor4D, stride, pad);
  const xs = tf.split(x, groups, 3) as tf.Tensor4D[];
  const ws = tf.split(w, groups, 3) as tf.Tensor4D[];
  const ys = xs.map((xg, j) => conv2d(xg, ws[j]!, stride, pad));
  const y = tf.concat(ys, 3) as tf.Tensor4D;
  tf.dispose([...xs, ...ws, ...ys]);
  return y;
}

// ---------------------------------------------------------------------------------------------
// Pooling

/**
 * avg_pool_3x3 of NAS-Bench-201: 3x3, stride 1, padding 1, padding excluded from the divisor
 * (PyTorch `count_include_pad=False`: 4 at corners, 6 at edges, 9 inside).
 */
export function avgPool3x3ExcludePad(x: tf.Tensor4D): tf.Tensor4D {
  return runKernel('AvgPool3x3ExcludePad', [x], {});
}

/** AvgPool2d(2, stride 2) (floor mode: an odd last row/column is dropped). */
export function avgPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return runKernel('AvgPool2x2', [x], {});
}

/** Global average pool: [N,H,W,C] → [N,C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return runKernel('GlobalAvgPool', [x], {});
}

// ---------------------------------------------------------------------------------------------
// Batch norm

/**
 * BatchNorm2d in training mode: per-channel statistics over N,H,W with the biased variance,
 * y = γ·(x − μ)/√(σ² + eps) + β. Gradients for x, γ and β. `onBatchStats` gets the mean and
 * biased variance of this batch (training keeps running statistics from them), as copies it
 * may keep.
 */
export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5, onBatchStats?: BatchStatsSink,
): tf.Tensor4D {
  return runKernel('BatchNormTrain', [x, gamma, beta], onBatchStats ? { eps, onBatchStats } : { eps });
}

/**
 * BatchNorm2d in evaluation mode: y = γ·(x − running mean)/√(running var + eps) + β.
 * No gradient is needed (evaluation and export only).
 */
export function batchNormEval(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, runningMean: tf.Tensor1D, runningVar: tf.Tensor1D, eps = 1e-5,
): tf.Tensor4D {
  return runKernel('BatchNormEval', [x, gamma, beta, runningMean, runningVar], { eps });
}

// ---------------------------------------------------------------------------------------------
// Pointwise, linear, loss

/**
 * a + b for two tensors of the same shape (a cell node's sum of edges, a residual). Same result
 * as tf.add, but nothing is kept for the gradient (see kernels/generic.ts).
 */
export function add<T extends tf.Tensor>(a: T, b: T): T {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`add: shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] differ`);
  return runKernel('Add', [a, b], {}) as T;
}

/**
 * ((x0 + x1) + x2) + … for tensors of one shape (a cell node's sum of its edges): the bits of a
 * chain of `add`s, in one pass. One tensor is returned as it is.
 */
export function addN<T extends tf.Tensor>(xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('addN: no tensors');
  if (xs.length === 1) return xs[0]!;
  for (const x of xs) {
    if (!tf.util.arraysEqual(x.shape, xs[0]!.shape)) throw new Error(`addN: shapes [${xs[0]!.shape.join(',')}] and [${x.shape.join(',')}] differ`);
  }
  return runKernel('AddN', [...xs], {}) as T;
}

/** ReLU; the gradient at 0 is 0 (as PyTorch). */
export function relu<T extends tf.Tensor>(x: T): T {
  return runKernel('Relu', [x], {}) as T;
}

/** x [N,in] · w [in,out] + b [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return runKernel('Linear', [x, w, b], {});
}

/** Mean over the batch of −log softmax(logits)[label]. logits [N,C], labels in 0..C-1. */
export function softmaxCrossEntropyMean(logits: tf.Tensor2D, labels: Int32Array | readonly number[]): tf.Scalar {
  const [n, c] = logits.shape;
  if (labels.length !== n) throw new Error(`softmaxCrossEntropyMean: ${labels.length} labels for ${n} logits`);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= c) throw new Error(`softmaxCrossEntropyMean: label ${l} outside 0..${c - 1}`);
  }
  return runKernel('SoftmaxCrossEntropyMean', [logits], { labels });
}

/** `none`: zeros of the given shape (no gradient flows). */
export function zerosOp(shape: number[]): tf.Tensor {
  return tf.zeros(shape);
}

/** `skip_connect`: the input itself (no copy). */
export function identity<T extends tf.Tensor>(x: T): T {
  return x;
}

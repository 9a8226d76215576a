/**
 * The differentiable layer primitives of NAS-Bench-201 / NATS-Bench networks, NHWC, float32,
 * with PyTorch semantics. Every op has a correct forward and backward on every backend
 * (wasm, tfjs-node, cpu); see test/engine.test.ts for the float64 reference checks.
 *
 * Call `initEngine()` (./backend.ts) before using them.
 */
import * as tf from '@tensorflow/tfjs';
import { NATIVE_KERNEL_NAMES as K } from './kernels/native.js';

type GradSave = (tensors: tf.Tensor[]) => void;

function custom<T extends tf.Tensor>(
  f: (...args: never[]) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] },
): (...inputs: tf.Tensor[]) => T {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => T;
}

/**
 * True when the active backend has the mfnas kernel `name` (the native engine registers them).
 * Ops then call it through the kernel registry instead of composing the result from tfjs ops.
 */
function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

function runKernel<T extends tf.Tensor | tf.Tensor[]>(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): T {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as T;
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
  const [kh, kw] = w.shape;
  if (pad === 0) return tf.conv2d(x, w, stride, 'valid');
  if (stride === 1 && 2 * pad === kh - 1 && 2 * pad === kw - 1) {
    // Symmetric: tfjs 'same' at stride 1 with an odd kernel pads (k-1)/2 on each side.
    return tf.conv2d(x, w, 1, 'same');
  }
  if (tf.getBackend() === 'tensorflow') {
    // Explicit padding support in native TF gradients is not guaranteed: pad, then 'valid'.
    const xp = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
    return tf.conv2d(xp, w, stride, 'valid');
  }
  return tf.conv2d(x, w, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
}

// ---------------------------------------------------------------------------------------------
// Per-channel helpers and cached constants
//
// On the wasm backend, reductions over N,H,W (`tf.sum(x, [0,1,2])`, 5–10 ms at [64,32,32,16])
// and broadcasts of a [C] vector (`tf.mul(x, c)`, ~5 ms; `tf.batchNorm` ~15 ms) are slow, while
// XNNPACK's pooling and depthwise convolution are fast: a channel mean is a global average pool
// followed by a tiny [1,N]·[N,C] product (~0.7 ms), and a per-channel x·a + b is a 1x1 depthwise
// conv with bias (~1 ms). (A ones[1,M]·x[M,C] product is not: tfjs-wasm packs the right-hand
// operand as GEMM weights on every call, ~11 ms for a fresh x.) Other backends use the plain
// broadcasting ops.

function fastChannelOps(): boolean {
  return tf.getBackend() === 'wasm';
}

const constCache = new Map<string, tf.Tensor>();

function cachedConst<T extends tf.Tensor>(key: string, make: () => T): T {
  const k = `${tf.getBackend()}:${key}`;
  let t = constCache.get(k) as T | undefined;
  if (t == null || t.isDisposed) {
    t = tf.keep(make());
    constCache.set(k, t);
  }
  return t;
}

/** Per-channel mean over N,H,W: [N,H,W,C] → [C]. */
function channelMean(x: tf.Tensor4D): tf.Tensor1D {
  const [n, h, w, c] = x.shape;
  if (!fastChannelOps()) return tf.mean(x, [0, 1, 2]) as tf.Tensor1D;
  const perImage = tf.reshape(tf.avgPool(x, [h, w], 1, 'valid'), [n, c]) as tf.Tensor2D;
  const avgRow = cachedConst(`avg-row-${n}`, () => tf.fill([1, n], 1 / n) as tf.Tensor2D);
  return tf.reshape(tf.matMul(avgRow, perImage), [c]) as tf.Tensor1D;
}

/** Per-channel sum over N,H,W: [N,H,W,C] → [C]. */
function channelSum(x: tf.Tensor4D): tf.Tensor1D {
  if (!fastChannelOps()) return tf.sum(x, [0, 1, 2]) as tf.Tensor1D;
  return tf.mul(channelMean(x), x.size / x.shape[3]) as tf.Tensor1D;
}

/** x·scale + shift per channel (scale, shift [C]; shift optional). */
function channelAffine(x: tf.Tensor4D, scale: tf.Tensor1D, shift?: tf.Tensor1D): tf.Tensor4D {
  if (!fastChannelOps()) return shift ? tf.add(tf.mul(x, scale), shift) : tf.mul(x, scale);
  const c = x.shape[3];
  const filter = tf.reshape(scale, [1, 1, c, 1]) as tf.Tensor4D;
  return tf.fused.depthwiseConv2d({ x, filter, strides: 1, pad: 'valid', bias: shift });
}

// ---------------------------------------------------------------------------------------------
// Pooling

/** Per-position window sizes of a 3x3 stride-1 pad-1 pool on an H x W map (4 / 6 / 9). */
export function poolCounts(h: number, w: number): Float32Array {
  const c = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    const ri = (i > 0 ? 1 : 0) + 1 + (i < h - 1 ? 1 : 0);
    for (let j = 0; j < w; j++) {
      const rj = (j > 0 ? 1 : 0) + 1 + (j < w - 1 ? 1 : 0);
      c[i * w + j] = ri * rj;
    }
  }
  return c;
}

/** 1/count as [H,W,C] (a full-width inner dimension broadcasts fast on wasm; [H,W,1] does not). */
function invCounts(h: number, w: number, c: number): tf.Tensor3D {
  return cachedConst(`pool3-inv-${h}x${w}x${c}`, () => {
    const counts = poolCounts(h, w);
    const inv = new Float32Array(h * w * c);
    for (let p = 0; p < h * w; p++) inv.fill(1 / counts[p], p * c, (p + 1) * c);
    return tf.tensor3d(inv, [h, w, c]);
  });
}

const avgPool3x3Op = custom<tf.Tensor4D>((x: tf.Tensor4D) => {
  // tfjs (like TensorFlow) averages over the in-image positions of a 'same' window, i.e.
  // PyTorch count_include_pad=False. Only the stock gradient is wrong (it divides by 9).
  const value = tf.avgPool(x, 3, 1, 'same');
  const [, h, w, c] = x.shape;
  return {
    value,
    gradFunc: (dy: tf.Tensor4D) =>
      tf.tidy(() => {
        if (hasKernel(K.avgPoolGrad)) return runKernel<tf.Tensor4D>(K.avgPoolGrad, { dy }, { inputShape: x.shape, kernel: 3, stride: 1, pad: 1 });
        // y = S(x) ⊙ inv with S the zero-padded 3x3 box sum; Sᵀ = S, so dx = S(dy ⊙ inv),
        // S as a depthwise conv with a ones filter.
        const ones = cachedConst(`ones-3x3x${c}`, () => tf.ones([3, 3, c, 1]) as tf.Tensor4D);
        return tf.depthwiseConv2d(tf.mul(dy, invCounts(h, w, c)) as tf.Tensor4D, ones, 1, 'same');
      }),
  };
});

/**
 * avg_pool_3x3 of NAS-Bench-201: 3x3, stride 1, padding 1, padding excluded from the divisor
 * (PyTorch `count_include_pad=False`: 4 at corners, 6 at edges, 9 inside).
 */
export function avgPool3x3ExcludePad(x: tf.Tensor4D): tf.Tensor4D {
  return avgPool3x3Op(x);
}

const avgPool2x2Op = custom<tf.Tensor4D>((x: tf.Tensor4D) => {
  const value = tf.avgPool(x, 2, 2, 'valid');
  const [, h, w] = x.shape;
  return {
    value,
    gradFunc: (dy: tf.Tensor4D) =>
      tf.tidy(() => {
        if (hasKernel(K.avgPoolGrad)) return runKernel<tf.Tensor4D>(K.avgPoolGrad, { dy }, { inputShape: x.shape, kernel: 2, stride: 2, pad: 0 });
        // Nearest-neighbour ×2 upsampling (much faster than the stock AvgPoolGrad on wasm).
        const [, ho, wo] = dy.shape;
        let dx = tf.image.resizeNearestNeighbor(tf.mul(dy, 0.25) as tf.Tensor4D, [2 * ho, 2 * wo]);
        if (2 * ho !== h || 2 * wo !== w) dx = tf.pad(dx, [[0, 0], [0, h - 2 * ho], [0, w - 2 * wo], [0, 0]]);
        return dx;
      }),
  };
});

/** AvgPool2d(2, stride 2) (floor mode: an odd last row/column is dropped). */
export function avgPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return avgPool2x2Op(x);
}

const globalAvgPoolOp = custom<tf.Tensor2D>((x: tf.Tensor4D) => {
  const [n, h, w, c] = x.shape;
  const value = tf.reshape(tf.avgPool(x, [h, w], 1, 'valid'), [n, c]) as tf.Tensor2D;
  return {
    value,
    gradFunc: (dy: tf.Tensor2D) =>
      tf.tidy(() => {
        const ones = cachedConst(`ones-1x${h}x${w}x${c}`, () => tf.ones([1, h, w, c]));
        return tf.mul(tf.reshape(dy, [n, 1, 1, c]), tf.mul(ones, 1 / (h * w)));
      }),
  };
});

/** Global average pool: [N,H,W,C] → [N,C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return globalAvgPoolOp(x);
}

// ---------------------------------------------------------------------------------------------
// Batch norm (training mode)

const bnCache = new Map<number, (...inputs: tf.Tensor[]) => tf.Tensor4D>();

function bnOp(eps: number): (...inputs: tf.Tensor[]) => tf.Tensor4D {
  let op = bnCache.get(eps);
  if (op) return op;
  op = custom<tf.Tensor4D>((x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, save: GradSave) => {
    if (hasKernel(K.batchNorm)) {
      const [value, mean, variance] = runKernel<tf.Tensor[]>(K.batchNorm, { x, gamma, beta }, { eps });
      save([x, gamma, mean, variance]);
      return {
        value: value as tf.Tensor4D,
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [sx, sg, sm, sv] = saved;
          return runKernel<tf.Tensor[]>(K.batchNormGrad, { x: sx, dy, gamma: sg, mean: sm, variance: sv }, { eps });
        },
      };
    }
    const m = x.size / x.shape[3];
    const mean = channelMean(x);
    const xc = channelAffine(x, tf.onesLike(mean), tf.neg(mean)); // x − μ (two-pass variance)
    const variance = channelMean(tf.square(xc)); // biased
    const invStd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
    const value = channelAffine(xc, tf.mul(gamma, invStd) as tf.Tensor1D, beta);
    save([xc, invStd, gamma]);
    return {
      value,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sxc, sInv, sg] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
          // With x̂ = xc·invStd:  dβ = Σ dy,  dγ = Σ dy·x̂ = invStd·Σ dy·xc,
          // dx = γ·invStd·(dy − dβ/m − x̂·dγ/m) = k·(dy + xc·a + b)
          //   with k = γ·invStd, a = −invStd·dγ/m, b = −dβ/m.
          const dBeta = channelSum(dy);
          const dGamma = tf.mul(channelSum(tf.mul(dy, sxc) as tf.Tensor4D), sInv) as tf.Tensor1D;
          const k = tf.mul(sg, sInv) as tf.Tensor1D;
          const a = tf.mul(tf.mul(dGamma, sInv), -1 / m) as tf.Tensor1D;
          const b = tf.mul(dBeta, -1 / m) as tf.Tensor1D;
          const dx = channelAffine(tf.add(dy, channelAffine(sxc, a, b)) as tf.Tensor4D, k);
          return [dx, dGamma, dBeta];
        }),
    };
  });
  bnCache.set(eps, op);
  return op;
}

/**
 * BatchNorm2d in training mode: per-channel statistics over N,H,W with the biased variance,
 * y = γ·(x − μ)/√(σ² + eps) + β. Gradients for x, γ and β.
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor4D {
  return bnOp(eps)(x, gamma, beta);
}

// ---------------------------------------------------------------------------------------------
// Pointwise, linear, loss

const reluOp = custom<tf.Tensor>((x: tf.Tensor, save: GradSave) => {
  const value = tf.relu(x);
  // Save the output, not the input: the conv that follows saves the same tensor (shared data),
  // and the stock gradient's cast(step(x)) costs an extra copy on wasm.
  save([value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      hasKernel(K.reluGrad) ? runKernel<tf.Tensor>(K.reluGrad, { y: saved[0], dy }) : tf.tidy(() => tf.mul(dy, tf.step(saved[0]))),
  };
});

/** ReLU; the gradient at 0 is 0 (as PyTorch). */
export function relu<T extends tf.Tensor>(x: T): T {
  return reluOp(x) as T;
}

/** x [N,in] · w [in,out] + b [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.add(tf.matMul(x, w), b);
}

/** Mean over the batch of −log softmax(logits)[label]. logits [N,C], labels in 0..C-1. */
export function softmaxCrossEntropyMean(logits: tf.Tensor2D, labels: Int32Array | readonly number[]): tf.Scalar {
  const [n, c] = logits.shape;
  if (labels.length !== n) throw new Error(`softmaxCrossEntropyMean: ${labels.length} labels for ${n} logits`);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= c) throw new Error(`softmaxCrossEntropyMean: label ${l} outside 0..${c - 1}`);
  }
  // One-hot built in JS: the stock wasm OneHot returns all zeros when asked for float32.
  const oh = new Float32Array(n * c);
  for (let i = 0; i < n; i++) oh[i * c + labels[i]] = 1;
  const op = custom<tf.Scalar>((z: tf.Tensor2D, save: GradSave) => {
    const logp = tf.logSoftmax(z);
    const onehot = tf.tensor2d(oh, [n, c]);
    const value = tf.mul(tf.sum(tf.mul(onehot, logp)), -1 / n) as tf.Scalar;
    save([logp, onehot]);
    return {
      value,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [lp, oh] = saved;
          return tf.mul(tf.sub(tf.exp(lp), oh), tf.mul(dy, 1 / n));
        }),
    };
  });
  return op(logits);
}

/** `none`: zeros of the given shape (no gradient flows). */
export function zerosOp(shape: number[]): tf.Tensor {
  return tf.zeros(shape);
}

/** `skip_connect`: the input itself (no copy). */
export function identity<T extends tf.Tensor>(x: T): T {
  return x;
}

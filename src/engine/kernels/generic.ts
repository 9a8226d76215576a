/**
 * The '*' implementation of every mfnas kernel, from plain tfjs ops: what every engine runs
 * unless it registers a faster or more exact one (wasm.ts, native.ts, tensorflow.ts). PyTorch
 * semantics throughout (NAS-Bench-201 / NATS-Bench networks were trained with PyTorch).
 */
import * as tf from '@tensorflow/tfjs';
import { cachedConst } from './constants.js';
import { registerMfnasKernel, runMfnasKernel, type MfnasKernelConfig } from './registry.js';

// ---------------------------------------------------------------------------------------------
// Convolution

/**
 * The tfjs padding equal to PyTorch's `pad` zeros on every side. tfjs 'same' would pad a 3x3
 * stride-2 conv on an even input 0 before and 1 after, so only the stride-1 odd-kernel case
 * (which pads (k-1)/2 on each side) may use it.
 */
export function torchPadding(filterShape: readonly number[], stride: number, pad: number): 'valid' | 'same' | [[0, 0], [number, number], [number, number], [0, 0]] {
  const [kh, kw] = filterShape;
  if (pad === 0) return 'valid';
  if (stride === 1 && 2 * pad === kh - 1 && 2 * pad === kw - 1) return 'same';
  return [[0, 0], [pad, pad], [pad, pad], [0, 0]];
}

/** Gradients come from the backend's Conv2DBackpropInput/Filter kernels (mfnas's on wasm). */
export const conv2dTorchPad: MfnasKernelConfig<'Conv2dTorchPad'> = {
  name: 'Conv2dTorchPad',
  backend: '*',
  forward: ([x, w], { stride, pad }) => {
    return tf.conv2d(x, w, stride, torchPadding(w.shape, stride, pad));
  },
};

/**
 * Depthwise convolution (groups = channels). The forward is tfjs's DepthwiseConv2dNative
 * (XNNPACK on wasm). The gradient is mfnas's own, for every backend: tfjs-backend-wasm has no
 * DepthwiseConv2dNativeBackpropInput/Filter kernels, so both input gradients are written as
 * forward depthwise convolutions (plus reshapes, pads, slices, transposes and one sum over the
 * batch), each a fixed sequence of deterministic kernels:
 *
 * dX = dwconv(dilate_s(dy), flip(w)), stride 1, padding kh-1-pad before (crop where negative);
 *      dilate_s inserts s-1 zeros after every row/column of dy.
 * dW = Σ_n dwconv(x as [1,H,W,N·C], dy as a [Ho,Wo,N·C,1] filter), dilation s, padding pad
 *      before: one output [1,kh,kw,N·C] = per-image, per-channel filter gradients, then a sum
 *      over the N images (tf.sum, a fixed order). Rows/columns of x that no window reaches are
 *      cropped first.
 */
export const depthwiseConv2dTorchPad: MfnasKernelConfig<'DepthwiseConv2dTorchPad'> = {
  name: 'DepthwiseConv2dTorchPad',
  backend: '*',
  forward: ([x, w], { stride, pad }) => tf.depthwiseConv2d(x, w, stride, torchPadding(w.shape, stride, pad)),
  gradient: (dy, _saved, [x, w], { stride: s, pad }) =>
    tf.tidy(() => [depthwiseGradInput(dy, w, x.shape, s, pad), depthwiseGradFilter(x, dy, w.shape, s, pad)]),
};

function depthwiseGradInput(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], s: number, pad: number): tf.Tensor4D {
  const [n, h, wd, c] = xShape as [number, number, number, number];
  const [kh, kw] = w.shape;
  const [, ho, wo] = dy.shape;
  let d: tf.Tensor4D = dy;
  if (s > 1) {
    const d6 = tf.pad(tf.reshape(dy, [n, ho, 1, wo, 1, c]), [[0, 0], [0, 0], [0, s - 1], [0, 0], [0, s - 1], [0, 0]]);
    d = tf.reshape(d6, [n, ho * s, wo * s, c]) as tf.Tensor4D;
  }
  const lh = ho * s, lw = wo * s;
  let top = kh - 1 - pad, left = kw - 1 - pad;
  let bottom = h + kh - 1 - top - lh, right = wd + kw - 1 - left - lw;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    const ct = Math.max(0, -top), cl = Math.max(0, -left), cb = Math.max(0, -bottom), cr = Math.max(0, -right);
    d = tf.slice(d, [0, ct, cl, 0], [n, lh - ct - cb, lw - cl - cr, c]);
    top = Math.max(0, top); left = Math.max(0, left); bottom = Math.max(0, bottom); right = Math.max(0, right);
  }
  const flipped = tf.reverse(w, [0, 1]) as tf.Tensor4D;
  return tf.depthwiseConv2d(d, flipped, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
}

function depthwiseGradFilter(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: readonly number[], s: number, pad: number): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  const [kh, kw] = wShape as [number, number];
  const [, ho, wo] = dy.shape;
  // Padding after the input that the forward windows reach; negative = rows never read.
  const pb = kh + (ho - 1) * s - h - pad;
  const pr = kw + (wo - 1) * s - wd - pad;
  let xs: tf.Tensor4D = x;
  if (pb < 0 || pr < 0) xs = tf.slice(x, [0, 0, 0, 0], [n, h + Math.min(0, pb), wd + Math.min(0, pr), c]);
  const [, hs, ws] = xs.shape;
  const xT = tf.reshape(tf.transpose(xs, [1, 2, 0, 3]), [1, hs, ws, n * c]) as tf.Tensor4D;
  const dyT = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * c, 1]) as tf.Tensor4D;
  const perImage = tf.depthwiseConv2d(xT, dyT, 1, [[0, 0], [pad, Math.max(0, pb)], [pad, Math.max(0, pr)], [0, 0]], 'NHWC', [s, s]);
  return tf.reshape(tf.sum(tf.reshape(perImage, [kh, kw, n, c]), 2), [kh, kw, c, 1]) as tf.Tensor4D;
}

// ---------------------------------------------------------------------------------------------
// Per-channel helpers (wasm.ts has faster ones for the wasm backend)

export const channelMean: MfnasKernelConfig<'ChannelMean'> = {
  name: 'ChannelMean',
  backend: '*',
  forward: ([x]) => tf.mean(x, [0, 1, 2]) as tf.Tensor1D,
};

export const channelSum: MfnasKernelConfig<'ChannelSum'> = {
  name: 'ChannelSum',
  backend: '*',
  forward: ([x]) => tf.sum(x, [0, 1, 2]) as tf.Tensor1D,
};

export const channelAffine: MfnasKernelConfig<'ChannelAffine'> = {
  name: 'ChannelAffine',
  backend: '*',
  forward: ([x, scale, shift]) => (shift ? tf.add(tf.mul(x, scale), shift) : tf.mul(x, scale)),
};

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

export const avgPool3x3ExcludePad: MfnasKernelConfig<'AvgPool3x3ExcludePad'> = {
  name: 'AvgPool3x3ExcludePad',
  backend: '*',
  // tfjs (like TensorFlow) averages over the in-image positions of a 'same' window, i.e.
  // PyTorch count_include_pad=False. Only the stock gradient is wrong (it divides by 9).
  forward: ([x]) => tf.avgPool(x, 3, 1, 'same'),
  gradient: (dy, _saved, [x]) =>
    tf.tidy(() => {
      const [, h, w, c] = x.shape;
      // y = S(x) ⊙ inv with S the zero-padded 3x3 box sum; Sᵀ = S, so dx = S(dy ⊙ inv),
      // S as a depthwise conv with a ones filter.
      const ones = cachedConst(`ones-3x3x${c}`, () => tf.ones([3, 3, c, 1]) as tf.Tensor4D);
      return tf.depthwiseConv2d(tf.mul(dy, invCounts(h, w, c)) as tf.Tensor4D, ones, 1, 'same');
    }),
};

export const avgPool2x2: MfnasKernelConfig<'AvgPool2x2'> = {
  name: 'AvgPool2x2',
  backend: '*',
  forward: ([x]) => tf.avgPool(x, 2, 2, 'valid'),
  gradient: (dy, _saved, [x]) =>
    tf.tidy(() => {
      const [, h, w] = x.shape;
      // Nearest-neighbour ×2 upsampling (much faster than the stock AvgPoolGrad on wasm).
      const [, ho, wo] = dy.shape;
      let dx = tf.image.resizeNearestNeighbor(tf.mul(dy, 0.25) as tf.Tensor4D, [2 * ho, 2 * wo]);
      if (2 * ho !== h || 2 * wo !== w) dx = tf.pad(dx, [[0, 0], [0, h - 2 * ho], [0, w - 2 * wo], [0, 0]]);
      return dx;
    }),
};

export const globalAvgPool: MfnasKernelConfig<'GlobalAvgPool'> = {
  name: 'GlobalAvgPool',
  backend: '*',
  forward: ([x]) => {
    const [n, h, w, c] = x.shape;
    return tf.reshape(tf.avgPool(x, [h, w], 1, 'valid'), [n, c]) as tf.Tensor2D;
  },
  gradient: (dy, _saved, [x]) =>
    tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      const ones = cachedConst(`ones-1x${h}x${w}x${c}`, () => tf.ones([1, h, w, c]));
      return tf.mul(tf.reshape(dy, [n, 1, 1, c]), tf.mul(ones, 1 / (h * w)));
    }),
};

// ---------------------------------------------------------------------------------------------
// Batch norm

export const batchNormTrain: MfnasKernelConfig<'BatchNormTrain'> = {
  name: 'BatchNormTrain',
  backend: '*',
  forward: ([x, gamma, beta], { eps, onBatchStats }, save) => {
    // Per-channel reductions and affines go through the channel kernels: the wasm ones are
    // several times faster there than these broadcasting ops.
    const mean = runMfnasKernel('ChannelMean', [x], {});
    const xc = runMfnasKernel('ChannelAffine', [x, tf.onesLike(mean), tf.neg(mean)], {}); // x − μ (two-pass variance)
    const variance = runMfnasKernel('ChannelMean', [tf.square(xc)], {}); // biased
    onBatchStats?.(Float32Array.from(mean.dataSync()), Float32Array.from(variance.dataSync()));
    const invStd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
    const value = runMfnasKernel('ChannelAffine', [xc, tf.mul(gamma, invStd) as tf.Tensor1D, beta], {});
    save([xc, invStd, gamma]);
    return value;
  },
  gradient: (dy, saved, [x]) =>
    tf.tidy(() => {
      const m = x.size / x.shape[3];
      const [sxc, sInv, sg] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
      // With x̂ = xc·invStd:  dβ = Σ dy,  dγ = Σ dy·x̂ = invStd·Σ dy·xc,
      // dx = γ·invStd·(dy − dβ/m − x̂·dγ/m) = k·(dy + xc·a + b)
      //   with k = γ·invStd, a = −invStd·dγ/m, b = −dβ/m.
      const dBeta = runMfnasKernel('ChannelSum', [dy], {});
      const dGamma = tf.mul(runMfnasKernel('ChannelSum', [tf.mul(dy, sxc) as tf.Tensor4D], {}), sInv) as tf.Tensor1D;
      const k = tf.mul(sg, sInv) as tf.Tensor1D;
      const a = tf.mul(tf.mul(dGamma, sInv), -1 / m) as tf.Tensor1D;
      const b = tf.mul(dBeta, -1 / m) as tf.Tensor1D;
      const dx = runMfnasKernel('ChannelAffine', [tf.add(dy, runMfnasKernel('ChannelAffine', [sxc, a, b], {})) as tf.Tensor4D, k], {});
      return [dx, dGamma, dBeta];
    }),
};

export const batchNormEval: MfnasKernelConfig<'BatchNormEval'> = {
  name: 'BatchNormEval',
  backend: '*',
  // Folded into one per-channel x·s + t, s = γ/√(var + ε), t = β − mean·s: the engine's
  // ChannelAffine is fast where tfjs's batchNorm is not (tfjs-wasm's FusedBatchNorm took 610 of
  // the 930 ms of an evaluation-mode forward of TSS 6111 at batch 256; folded, ~1 ms per BN).
  forward: ([x, gamma, beta, runningMean, runningVar], { eps }) => {
    const [scale, shift] = tf.tidy(() => {
      const s = tf.mul(gamma, tf.rsqrt(tf.add(runningVar, eps))) as tf.Tensor1D;
      return [s, tf.sub(beta, tf.mul(runningMean, s)) as tf.Tensor1D];
    });
    const y = runMfnasKernel('ChannelAffine', [x, scale, shift], {});
    tf.dispose([scale, shift]);
    return y;
  },
};

// ---------------------------------------------------------------------------------------------
// Pointwise, linear, loss

export const add: MfnasKernelConfig<'Add'> = {
  name: 'Add',
  backend: '*',
  forward: ([a, b]) => tf.add(a, b),
  // tfjs's own Add saves both inputs (it needs their shapes to undo broadcasting), which keeps
  // two activations per sum alive until the backward pass is over. A same-shape sum needs
  // nothing: its gradient is dy for both inputs (the reshape is tfjs's, a view of dy).
  gradient: (dy, _saved, [a, b]) => [tf.reshape(dy, a.shape), tf.reshape(dy, b.shape)],
};

export const addN: MfnasKernelConfig<'AddN'> = {
  name: 'AddN',
  backend: '*',
  // tfjs's AddN (cpu, wasm) adds the inputs left to right per element: the bits of a chain of
  // Adds, in one pass.
  forward: (xs) => tf.addN(xs),
  gradient: (dy, _saved, xs) => xs.map((x) => tf.reshape(dy, x.shape)),
};

export const relu: MfnasKernelConfig<'Relu'> = {
  name: 'Relu',
  backend: '*',
  forward: ([x], _attrs, save) => {
    const value = tf.relu(x);
    // Save the output, not the input: the conv that follows saves the same tensor (shared
    // data), and the stock gradient's cast(step(x)) costs an extra copy on wasm.
    save([value]);
    return value;
  },
  gradient: (dy, saved) => tf.tidy(() => tf.mul(dy, tf.step(saved[0]))),
};

export const linear: MfnasKernelConfig<'Linear'> = {
  name: 'Linear',
  backend: '*',
  forward: ([x, w, b]) => tf.add(tf.matMul(x, w), b),
};

export const softmaxCrossEntropyMean: MfnasKernelConfig<'SoftmaxCrossEntropyMean'> = {
  name: 'SoftmaxCrossEntropyMean',
  backend: '*',
  forward: ([logits], { labels }, save) => {
    const [n, c] = logits.shape;
    // One-hot built in JS: the stock wasm OneHot returns all zeros when asked for float32.
    const oh = new Float32Array(n * c);
    for (let i = 0; i < n; i++) oh[i * c + labels[i]] = 1;
    const logp = tf.logSoftmax(logits);
    const onehot = tf.tensor2d(oh, [n, c]);
    const value = tf.mul(tf.sum(tf.mul(onehot, logp)), -1 / n) as tf.Scalar;
    save([logp, onehot]);
    return value;
  },
  gradient: (dy, saved, [logits]) =>
    tf.tidy(() => {
      const n = logits.shape[0];
      const [lp, oh] = saved;
      return tf.mul(tf.sub(tf.exp(lp), oh), tf.mul(dy, 1 / n));
    }),
};

for (const k of [
  conv2dTorchPad, depthwiseConv2dTorchPad, channelMean, channelSum, channelAffine, avgPool3x3ExcludePad, avgPool2x2, globalAvgPool,
  batchNormTrain, batchNormEval, add, addN, relu, linear, softmaxCrossEntropyMean,
] as MfnasKernelConfig[]) {
  registerMfnasKernel(k);
}

/**
 * mfnas kernels for the wasm backend (and so the native engine, which runs on it): the
 * per-channel helpers of batch norm.
 *
 * On the wasm backend, reductions over N,H,W (`tf.sum(x, [0,1,2])`, 5–10 ms at [64,32,32,16])
 * and broadcasts of a [C] vector (`tf.mul(x, c)`, ~5 ms; `tf.batchNorm` ~15 ms) are slow, while
 * XNNPACK's pooling and depthwise convolution are fast: a channel mean is a global average pool
 * followed by a tiny [1,N]·[N,C] product (~0.7 ms), and a per-channel x·a + b is a 1x1 depthwise
 * conv with bias (~1 ms). (A ones[1,M]·x[M,C] product is not: tfjs-wasm packs the right-hand
 * operand as GEMM weights on every call, ~11 ms for a fresh x.)
 */
import * as tf from '@tensorflow/tfjs';
import { cachedConst } from './constants.js';
import { registerMfnasKernel } from './registry.js';

function channelMean(x: tf.Tensor4D): tf.Tensor1D {
  const [n, h, w, c] = x.shape;
  const perImage = tf.reshape(tf.avgPool(x, [h, w], 1, 'valid'), [n, c]) as tf.Tensor2D;
  const avgRow = cachedConst(`avg-row-${n}`, () => tf.fill([1, n], 1 / n) as tf.Tensor2D);
  return tf.reshape(tf.matMul(avgRow, perImage), [c]) as tf.Tensor1D;
}

registerMfnasKernel({ name: 'ChannelMean', backend: 'wasm', forward: ([x]) => channelMean(x) });

registerMfnasKernel({
  name: 'ChannelSum',
  backend: 'wasm',
  forward: ([x]) => tf.mul(channelMean(x), x.size / x.shape[3]) as tf.Tensor1D,
});

registerMfnasKernel({
  name: 'ChannelAffine',
  backend: 'wasm',
  forward: ([x, scale, shift]) => {
    const c = x.shape[3];
    const filter = tf.reshape(scale, [1, 1, c, 1]) as tf.Tensor4D;
    return tf.fused.depthwiseConv2d({ x, filter, strides: 1, pad: 'valid', bias: shift });
  },
});

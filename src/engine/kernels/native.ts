/**
 * mfnas kernels for the native engine: batch norm, pooling, sums, the ReLU gradient and the
 * depthwise convolution with both gradients, done by
 * the addon's kernels that ../native/tfjsKernels.ts adds to the wasm backend. ReLU's forward,
 * which tfjs-wasm already does as fast, stays the '*' one.
 */
import * as tf from '@tensorflow/tfjs';
import { NATIVE_TFJS_KERNELS as K } from '../addon/tfjsKernels.js';
import { addN, relu } from './generic.js';
import { registerMfnasKernel } from './registry.js';

function runTfjsKernel<T extends tf.Tensor | tf.Tensor[]>(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): T {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as T;
}

registerMfnasKernel({
  name: 'BatchNormTrain',
  backend: 'native',
  forward: ([x, gamma, beta], { eps, onBatchStats }, save) => {
    const [value, mean, variance] = runTfjsKernel<tf.Tensor[]>(K.batchNorm, { x, gamma, beta }, { eps });
    save([x, gamma, mean, variance]);
    onBatchStats?.(Float32Array.from(mean.dataSync()), Float32Array.from(variance.dataSync()));
    return value as tf.Tensor4D;
  },
  gradient: (dy, saved, _inputs, { eps }) => {
    const [sx, sg, sm, sv] = saved;
    return runTfjsKernel<tf.Tensor[]>(K.batchNormGrad, { x: sx, dy, gamma: sg, mean: sm, variance: sv }, { eps });
  },
});

registerMfnasKernel({
  name: 'Relu',
  backend: 'native',
  forward: relu.forward,
  gradient: (dy, saved) => runTfjsKernel<tf.Tensor>(K.reluGrad, { y: saved[0], dy }),
});

registerMfnasKernel({
  name: 'AvgPool3x3ExcludePad',
  backend: 'native',
  // The addon's separable box sum; tfjs-wasm's (XNNPACK) took about 7x as long.
  forward: ([x]) => runTfjsKernel<tf.Tensor4D>(K.avgPool, { x }, { kernel: 3, stride: 1, pad: 1 }),
  gradient: (dy, _saved, [x]) =>
    tf.tidy(() => runTfjsKernel<tf.Tensor4D>(K.avgPoolGrad, { dy }, { inputShape: x.shape, kernel: 3, stride: 1, pad: 1 })),
});

registerMfnasKernel({
  name: 'AvgPool2x2',
  backend: 'native',
  forward: ([x]) => runTfjsKernel<tf.Tensor4D>(K.avgPool, { x }, { kernel: 2, stride: 2, pad: 0 }),
  gradient: (dy, _saved, [x]) =>
    tf.tidy(() => runTfjsKernel<tf.Tensor4D>(K.avgPoolGrad, { dy }, { inputShape: x.shape, kernel: 2, stride: 2, pad: 0 })),
});

registerMfnasKernel({
  name: 'DepthwiseConv2dTorchPad',
  backend: 'native',
  // oneDNN's depthwise kernels (groups = channels); the filter [kh,kw,C,1] is [kh,kw,1,C] in memory.
  forward: ([x, w], { stride, pad }) =>
    runTfjsKernel<tf.Tensor4D>(K.groupedConv, { x, filter: w }, { stride, pad, groups: x.shape[3] }),
  gradient: (dy, _saved, [x, w], { stride, pad }) => {
    const attrs = { stride, pad, groups: x.shape[3] };
    return [
      runTfjsKernel<tf.Tensor4D>(K.groupedConvGradInput, { dy, filter: w }, { ...attrs, inputShape: x.shape }),
      runTfjsKernel<tf.Tensor4D>(K.groupedConvGradFilter, { x, dy }, { ...attrs, filterShape: w.shape }),
    ];
  },
});

registerMfnasKernel({
  name: 'AddN',
  backend: 'native',
  forward: (xs) => runTfjsKernel<tf.Tensor>(K.addN, Object.fromEntries(xs.map((x, i) => [`x${i}`, x]))),
  gradient: addN.gradient,
});

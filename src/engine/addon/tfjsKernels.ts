/**
 * oneDNN kernels (./binding.ts) registered underneath TensorFlow.js's wasm backend.
 *
 * The model code does not change: the same tfjs ops run, and for the hot ones the wasm
 * backend's kernel is replaced by a call into the native addon that reads and writes the
 * tensors where they already live — the wasm heap — through Float32Array views (no copies).
 * Views are taken after every allocation: growing the heap detaches earlier views.
 *
 * Replaced stock kernels: Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter.
 * Kernels tfjs does not have (NATIVE_TFJS_KERNELS, run by the 'native' mfnas kernels in
 * ../kernels/native.ts): MfnasBatchNormTrain, MfnasBatchNormTrainGrad, MfnasReluGrad,
 * MfnasAvgPool, MfnasAvgPoolGrad (both excluding padding from the divisor), MfnasAddN, and
 * grouped convolution with PyTorch's symmetric padding and its two gradients
 * (MfnasGroupedConv2D, …BackpropInput, …BackpropFilter; the depthwise convolution's kernels).
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeKernels } from './binding.js';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** Names of the tfjs kernels the addon adds to the wasm backend (tfjs has no equivalent). */
export const NATIVE_TFJS_KERNELS = {
  batchNorm: 'MfnasBatchNormTrain',
  batchNormGrad: 'MfnasBatchNormTrainGrad',
  reluGrad: 'MfnasReluGrad',
  avgPool: 'MfnasAvgPool',
  avgPoolGrad: 'MfnasAvgPoolGrad',
  addN: 'MfnasAddN',
  groupedConv: 'MfnasGroupedConv2D',
  groupedConvGradInput: 'MfnasGroupedConv2DBackpropInput',
  groupedConvGradFilter: 'MfnasGroupedConv2DBackpropFilter',
} as const;

/** [n, h, w, ci, co, kh, kw, sh, sw, pt, pb, pl, pr, groups] of a grouped convolution, x [N,H,W,Ci], filter [kh,kw,Ci/g,Co] (or depthwise [kh,kw,C,1]). */
function groupedConvArgs(xShape: number[], filterShape: number[], attrs: Attrs): [...ConvArgs, number] {
  const [n, h, w, ci] = xShape as [number, number, number, number];
  const [kh, kw, f2, f3] = filterShape as [number, number, number, number];
  const s = attrs.stride as number, p = attrs.pad as number, g = attrs.groups as number;
  // ci/g · co filter entries per tap: also right for a depthwise filter shaped [kh,kw,C,1].
  const co = (f2 * f3 * g) / ci;
  return [n, h, w, ci, co, kh, kw, s, s, p, p, p, p, g];
}

function convOutShape(a: [...ConvArgs, number]): number[] {
  const [n, h, w, , co, kh, kw, sh, sw, pt, pb, pl, pr] = a;
  return [n, Math.floor((h + pt + pb - kh) / sh) + 1, Math.floor((w + pl + pr - kw) / sw) + 1, co];
}

type Attrs = Record<string, unknown>;

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') throw new Error(`native Conv2D supports NHWC only, got ${dataFormat}`);
  const dil = attrs.dilations as number | [number, number] | undefined;
  if (dil !== undefined && dil !== 1 && !(Array.isArray(dil) && dil[0] === 1 && dil[1] === 1)) {
    throw new Error('native Conv2D does not support dilation');
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides as number | [number, number], 1, attrs.pad as never,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined, false, 'channelsLast',
  );
}

type ConvArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number];

function convArgs(info: tf.backend_util.Conv2DInfo): ConvArgs {
  const p = info.padInfo;
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.bottom, p.left, p.right];
}

/** The tfjs kernel configs over the addon `native`, for `backendName` (the wasm backend). */
export function makeNativeKernels(native: NativeKernels, backendName = 'wasm'): tf.KernelConfig[] {
  const raw = native.raw;
  const kernel = (kernelName: string, fn: (inputs: Record<string, tf.TensorInfo>, b: WasmBackendLike, attrs: Attrs) => tf.TensorInfo | tf.TensorInfo[]): tf.KernelConfig => ({
    kernelName, backendName,
    kernelFunc: ({ inputs, backend, attrs }) => fn(inputs as Record<string, tf.TensorInfo>, backend as unknown as WasmBackendLike, attrs as Attrs),
  });
  const view = (b: WasmBackendLike, t: tf.TensorInfo) => b.typedArrayFromHeap(t);

  return [
    kernel('Conv2D', ({ x, filter }, b, attrs) => {
      const info = convInfo(x.shape, filter.shape, attrs);
      const y = b.makeOutput(info.outShape, 'float32');
      raw.conv2d(view(b, x), view(b, filter), view(b, y), ...convArgs(info));
      return y;
    }),
    kernel('Conv2DBackpropInput', ({ dy, filter }, b, attrs) => {
      const inputShape = attrs.inputShape as number[];
      const info = convInfo(inputShape, filter.shape, attrs);
      const dx = b.makeOutput(inputShape, 'float32');
      raw.conv2dBackwardData(view(b, dy), view(b, filter), view(b, dx), ...convArgs(info));
      return dx;
    }),
    kernel('Conv2DBackpropFilter', ({ x, dy }, b, attrs) => {
      const filterShape = attrs.filterShape as number[];
      const info = convInfo(x.shape, filterShape, attrs);
      const dw = b.makeOutput(filterShape, 'float32');
      raw.conv2dBackwardFilter(view(b, x), view(b, dy), view(b, dw), ...convArgs(info));
      return dw;
    }),
    kernel(NATIVE_TFJS_KERNELS.groupedConv, ({ x, filter }, b, attrs) => {
      const args = groupedConvArgs(x.shape, filter.shape, attrs);
      const y = b.makeOutput(convOutShape(args), 'float32');
      raw.conv2d(view(b, x), view(b, filter), view(b, y), ...args);
      return y;
    }),
    kernel(NATIVE_TFJS_KERNELS.groupedConvGradInput, ({ dy, filter }, b, attrs) => {
      const inputShape = attrs.inputShape as number[];
      const dx = b.makeOutput(inputShape, 'float32');
      raw.conv2dBackwardData(view(b, dy), view(b, filter), view(b, dx), ...groupedConvArgs(inputShape, filter.shape, attrs));
      return dx;
    }),
    kernel(NATIVE_TFJS_KERNELS.groupedConvGradFilter, ({ x, dy }, b, attrs) => {
      const filterShape = attrs.filterShape as number[];
      const dw = b.makeOutput(filterShape, 'float32');
      raw.conv2dBackwardFilter(view(b, x), view(b, dy), view(b, dw), ...groupedConvArgs(x.shape, filterShape, attrs));
      return dw;
    }),
    kernel(NATIVE_TFJS_KERNELS.batchNorm, ({ x, gamma, beta }, b, attrs) => {
      const [n, h, w, c] = x.shape;
      const y = b.makeOutput(x.shape, 'float32');
      const mean = b.makeOutput([c], 'float32');
      const variance = b.makeOutput([c], 'float32');
      raw.batchNorm(view(b, x), view(b, gamma), view(b, beta), view(b, y), view(b, mean), view(b, variance), n, h, w, c, attrs.eps as number);
      return [y, mean, variance];
    }),
    kernel(NATIVE_TFJS_KERNELS.batchNormGrad, ({ x, dy, gamma, mean, variance }, b, attrs) => {
      const [n, h, w, c] = x.shape;
      const dx = b.makeOutput(x.shape, 'float32');
      const dgamma = b.makeOutput([c], 'float32');
      const dbeta = b.makeOutput([c], 'float32');
      raw.batchNormBackward(view(b, x), view(b, dy), view(b, gamma), view(b, mean), view(b, variance),
        view(b, dx), view(b, dgamma), view(b, dbeta), n, h, w, c, attrs.eps as number);
      return [dx, dgamma, dbeta];
    }),
    kernel(NATIVE_TFJS_KERNELS.reluGrad, ({ y, dy }, b) => {
      // ReLU's output is positive exactly where its input is: the saved output serves as x.
      const dx = b.makeOutput(dy.shape, 'float32');
      raw.reluBackward(view(b, y), view(b, dy), view(b, dx));
      return dx;
    }),
    kernel(NATIVE_TFJS_KERNELS.avgPool, ({ x }, b, attrs) => {
      const [n, h, w, c] = x.shape;
      const k = attrs.kernel as number, s = attrs.stride as number, p = attrs.pad as number;
      const y = b.makeOutput([n, Math.floor((h + 2 * p - k) / s) + 1, Math.floor((w + 2 * p - k) / s) + 1, c], 'float32');
      raw.avgPool(view(b, x), view(b, y), n, h, w, c, k, k, s, s, p, p, p, p, true);
      return y;
    }),
    kernel(NATIVE_TFJS_KERNELS.addN, (inputs, b) => {
      // Inputs x0, x1, …: summed in that order.
      const xs = Object.keys(inputs).map((_, i) => inputs[`x${i}`]!);
      const y = b.makeOutput(xs[0]!.shape, 'float32');
      raw.addN(view(b, y), ...xs.map((x) => view(b, x)));
      return y;
    }),
    kernel(NATIVE_TFJS_KERNELS.avgPoolGrad, ({ dy }, b, attrs) => {
      const inShape = attrs.inputShape as number[];
      const [n, h, w, c] = inShape;
      const k = attrs.kernel as number, s = attrs.stride as number, p = attrs.pad as number;
      const dx = b.makeOutput(inShape, 'float32');
      raw.avgPoolBackward(view(b, dy), view(b, dx), n, h, w, c, k, k, s, s, p, p, p, p, true);
      return dx;
    }),
  ];
}

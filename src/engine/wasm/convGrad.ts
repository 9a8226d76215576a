/**
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` for the wasm backend, written as forward
 * convolutions so that they run on XNNPACK's fast Conv2D (the stock wasm backend has no
 * `Conv2DBackpropFilter` and a naive `Conv2DBackpropInput`).
 *
 * Notation: forward y = conv(x, w), x [N,H,W,Ci], w [kh,kw,Ci,Co], y/dy [N,Ho,Wo,Co], stride
 * (sh,sw), padding (pt,pb,pl,pr) as resolved by tfjs's `computeConv2DInfo` (explicit padding,
 * 'same', 'valid' and numeric padding all work; the gradient is exact for whichever padding the
 * forward pass used).
 *
 * dX = conv(dilate_s(dy), flip(w)ᵀ) with padding (kh-1-pt) before; dilate_s inserts s-1 zeros
 *      between (and after) rows/columns; the padding after is whatever makes the output H x W
 *      (negative amounts are applied as crops: those rows/columns of dy only saw padding).
 * dW = conv(xᵀ, dyᵀ) with xᵀ = x as [Ci,H,W,N] (batch Ci, channels N), dyᵀ = dy as
 *      [Ho,Wo,N,Co] (a Ho x Wo filter), dilation s, padding (pt, ·): output [Ci,kh,kw,Co],
 *      transposed to [kh,kw,Ci,Co]. Rows of x never touched by the forward window are cropped.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelRunner, type KernelBackend, type TensorInfo } from './util.js';

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | number[][];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: number[];
  filterShape?: number[];
}

function checkFormat(attrs: ConvGradAttrs): void {
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') {
    throw new Error(`mfnas conv gradient kernels support only NHWC, got ${attrs.dataFormat}`);
  }
}

function convAttrs(pad: number[][], dilations: [number, number]): Record<string, unknown> {
  return { strides: [1, 1], pad, dilations, dataFormat: 'NHWC', dimRoundingMode: undefined };
}

/** dX of a 2-D convolution, as a forward convolution. */
export function conv2DBackpropInputImpl(
  backendName: string,
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: ConvGradAttrs,
): TensorInfo {
  checkFormat(attrs);
  const inShape = attrs.inputShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [N, H, W] = inShape;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: Ho, outWidth: Wo } = info;
  const Co = info.outChannels;
  const r = new KernelRunner(backendName, backend);
  try {
    let d = dy;
    if (sh > 1 || sw > 1) {
      const d6 = r.reshape(dy, [N, Ho, 1, Wo, 1, Co]);
      const p6 = r.run('PadV2', { x: d6 }, {
        paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
        constantValue: 0,
      });
      d = r.reshape(p6, [N, Ho * sh, Wo * sw, Co]);
    }
    const Lh = Ho * sh;
    const Lw = Wo * sw;
    let top = kh - 1 - info.padInfo.top;
    let left = kw - 1 - info.padInfo.left;
    let bottom = H + kh - 1 - top - Lh;
    let right = W + kw - 1 - left - Lw;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) {
      const ct = Math.max(0, -top), cl = Math.max(0, -left);
      const cb = Math.max(0, -bottom), cr = Math.max(0, -right);
      d = r.run('Slice', { x: d }, { begin: [0, ct, cl, 0], size: [N, Lh - ct - cb, Lw - cl - cr, Co] });
      top = Math.max(0, top); left = Math.max(0, left);
      bottom = Math.max(0, bottom); right = Math.max(0, right);
    }
    const flipped = r.run('Reverse', { x: filter }, { dims: [0, 1] });
    const wT = r.transpose(flipped, [0, 1, 3, 2]);
    r.release(flipped);
    const out = r.run('Conv2D', { x: d, filter: wT }, convAttrs([[0, 0], [top, bottom], [left, right], [0, 0]], [1, 1]));
    return r.finish(out);
  } catch (e) {
    r.abort();
    throw e;
  }
}

/** dW of a 2-D convolution, as a forward convolution. */
export function conv2DBackpropFilterImpl(
  backendName: string,
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: ConvGradAttrs,
): TensorInfo {
  checkFormat(attrs);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides,
    1,
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [N, H, W, Ci] = x.shape;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: Ho, outWidth: Wo } = info;
  const { top: pt, left: pl } = info.padInfo;
  const r = new KernelRunner(backendName, backend);
  try {
    // Padding after the input that the forward window reaches; negative = crop unused rows.
    const pb = kh + (Ho - 1) * sh - H - pt;
    const pr = kw + (Wo - 1) * sw - W - pl;
    let xs = x;
    if (pb < 0 || pr < 0) {
      xs = r.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [N, H + Math.min(0, pb), W + Math.min(0, pr), Ci] });
    }
    const xT = r.transpose(xs, [3, 1, 2, 0]); // [Ci, H, W, N]
    if (xs !== x) r.release(xs);
    const dyT = r.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
    const out = r.run(
      'Conv2D',
      { x: xT, filter: dyT },
      convAttrs([[0, 0], [pt, Math.max(0, pb)], [pl, Math.max(0, pr)], [0, 0]], [sh, sw]),
    ); // [Ci, kh, kw, Co]
    r.release(xT);
    r.release(dyT);
    const dw = r.transpose(out, [1, 2, 0, 3]);
    return r.finish(dw);
  } catch (e) {
    r.abort();
    throw e;
  }
}

export function makeConvGradKernels(backendName: string): tf.KernelConfig[] {
  return [
    {
      kernelName: 'Conv2DBackpropInput',
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        conv2DBackpropInputImpl(
          backendName,
          backend as unknown as KernelBackend,
          inputs.dy as TensorInfo,
          inputs.filter as TensorInfo,
          attrs as unknown as ConvGradAttrs,
        ),
    },
    {
      kernelName: 'Conv2DBackpropFilter',
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        conv2DBackpropFilterImpl(
          backendName,
          backend as unknown as KernelBackend,
          inputs.x as TensorInfo,
          inputs.dy as TensorInfo,
          attrs as unknown as ConvGradAttrs,
        ),
    },
  ];
}

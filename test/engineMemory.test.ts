/**
 * Memory of a training step: gradients() (tfjs's backprop releasing as it goes), the Add op that
 * saves nothing, and the heap guard's error. Every change here must leave results bit-identical.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineMemoryError, initEngine } from '../src/engine/backend.js';
import { gradients } from '../src/engine/gradients.js';
import { add } from '../src/engine/ops.js';
import { heapFullMessage } from '../src/engine/wasm/heap.js';
import { initNetwork } from '../src/networks/index.js';
import { forward, toTensorParams } from '../src/networks/model.js';
import { softmaxCrossEntropyMean } from '../src/engine/ops.js';
import { parseTssCell, tssNetworkSpec } from '../src/spaces/tss/index.js';
import { kernels as nativeKernels } from './helpers/nativeKernels.js';

// TSS 6111's cell: conv, skip and a 3-edge node, so every kind of fan-in and fan-out.
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const BATCH = 2;

interface WasmModule { _malloc(n: number): number; _free(p: number): void }

/** Peak bytes allocated on the wasm heap while `f` runs (allocation order is deterministic). */
function peakHeapBytes(f: () => void): number {
  const mod = (tf.backend() as unknown as { wasm: WasmModule }).wasm;
  const malloc = mod._malloc, free = mod._free;
  const sizes = new Map<number, number>();
  let live = 0, peak = 0;
  mod._malloc = (n) => { const p = malloc(n); sizes.set(p, n); live += n; peak = Math.max(peak, live); return p; };
  mod._free = (p) => { live -= sizes.get(p) ?? 0; sizes.delete(p); free(p); };
  try {
    f();
  } finally {
    mod._malloc = malloc;
    mod._free = free;
  }
  return peak;
}

function step(useLean: boolean): { loss: Float32Array; grads: Float32Array[]; peak: number; leaked: number } {
  const spec = tssNetworkSpec(parseTssCell(ARCH), 'cifar10', ARCH);
  const params = toTensorParams(initNetwork(spec, 3));
  const names = [...params.keys()].filter((n) => !/running_/.test(n));
  const list = names.map((n) => params.get(n)!);
  const x = tf.tidy(() => tf.randomNormal([BATCH, 32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor4D);
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
  const before = tf.memory().numTensors;
  let out: { value: tf.Tensor; grads: tf.Tensor[] } | undefined;
  const objective = () => {
    const local = new Map(names.map((n, i) => [n, list[i]]));
    return softmaxCrossEntropyMean(forward(spec, local, x, { batchNorm: 'train' }), labels);
  };
  const peak = peakHeapBytes(() => {
    out = tf.tidy(() => {
      const r = useLean ? gradients(objective, list, undefined, true) : tf.engine().gradients(objective, list, undefined, true);
      return { value: r.value, grads: r.grads.map((g, i) => g ?? tf.zerosLike(list[i])) };
    });
  });
  const loss = out!.value.dataSync() as Float32Array;
  const grads = out!.grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose([out!.value, ...out!.grads]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([x, ...params.values()]);
  return { loss, grads, peak, leaked };
}

describe.each((nativeKernels ? ['wasm', 'native'] : ['wasm']) as Array<'wasm' | 'native'>)('training-step memory (%s)', (engine) => {
  beforeAll(async () => { await initEngine({ backend: engine }); });

  it('gradients() gives tfjs\'s results bit for bit with a much lower peak, and leaks nothing', () => {
    step(true); // creates the engine's cached constants, which would count as leaks below
    const stock = step(false);
    const lean = step(true);
    expect(lean.loss).toEqual(stock.loss);
    expect(lean.grads.length).toBe(stock.grads.length);
    lean.grads.forEach((g, i) => expect(g, `grad ${i}`).toEqual(stock.grads[i]));
    expect(lean.peak).toBeLessThan(0.6 * stock.peak);
    expect(lean.leaked).toBe(0);
    expect(stock.leaked).toBe(0);
  });

  it('Add equals tf.add forward and backward, and saves nothing for the gradient', () => {
    const a = tf.tensor4d([1.5, -2, 3.25, 0.1], [1, 2, 2, 1]);
    const b = tf.tensor4d([0.3, 0.7, -1, 2e-8], [1, 2, 2, 1]);
    const w = tf.tensor4d([3, -1, 0.5, 2], [1, 2, 2, 1]);
    const ours = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(add(p, q), w)))([a, b]);
    const theirs = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.add(p, q), w)))([a, b]);
    expect(add(a, b).dataSync()).toEqual(tf.add(a, b).dataSync());
    ours.forEach((g, i) => expect(g.dataSync()).toEqual(theirs[i].dataSync()));
    expect(Array.from(ours[0].dataSync())).toEqual([3, -1, 0.5, 2]);
    expect(() => add(a, tf.zeros([1, 2, 2, 2]))).toThrow(/shapes/);
  });

  it('higher-order gradients still work (nested calls keep what the outer pass needs)', () => {
    const x = tf.tensor1d([1, -2, 3]);
    // d/dx Σ d/dx(x³) = d/dx Σ 3x² = 6x
    const r = gradients(() => tf.sum(gradients(() => tf.sum(tf.mul(tf.mul(x, x), x)), [x]).grads[0]), [x]);
    expect(Array.from(r.grads[0].dataSync())).toEqual([6, -12, 18]);
  });

  it('a tensor the heap cannot hold is an EngineMemoryError naming its size, and the engine keeps working', () => {
    let err: unknown;
    try { tf.fill([4, 16384, 16384, 4], 1); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EngineMemoryError);
    expect((err as EngineMemoryError).batch).toBe(4);
    expect((err as Error).message).toMatch(/out of memory.*\[4,16384,16384,4\].*batch of 4 images.*smaller batch \(e\.g\. 2\)/);
    // A request the 4 GB heap cannot grow to: malloc returns 0, which a kernel must never get.
    expect(() => tf.fill([1073741500], 1)).toThrow(EngineMemoryError);
    expect(tf.add(tf.ones([2]), tf.ones([2])).dataSync()).toEqual(new Float32Array([2, 2]));
  });
});

describe('heap-full message', () => {
  it('names the batch for an image batch, and not otherwise', () => {
    expect(heapFullMessage([256, 32, 32, 16], 'float32', 2 ** 32)).toMatch(/\[256,32,32,16\] tensor \(16 MB\); a batch of 256 images .* \(e\.g\. 128\)/);
    expect(heapFullMessage([1000, 1000], 'float32', 2 ** 30)).not.toMatch(/batch of/);
  });
});

afterAll(async () => { await initEngine({ backend: 'wasm' }); });

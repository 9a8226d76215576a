/**
 * mfnas's kernel registry: which implementation each engine runs, chosen when the engine starts
 * (not per call), with a '*' implementation of every kernel; ops hold no backend checks.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initEngine, type EngineBackend } from '../src/engine/backend.js';
import { linear, batchNormTrain } from '../src/engine/ops.js';
import { mfnasKernelBackends, registerMfnasKernel, type MfnasKernelName } from '../src/engine/kernels/index.js';
import { linear as genericLinear } from '../src/engine/kernels/generic.js';
import { kernels as nativeKernels } from './helpers/nativeKernels.js';

const ALL: MfnasKernelName[] = [
  'Conv2dTorchPad', 'DepthwiseConv2dTorchPad', 'ChannelMean', 'ChannelSum', 'ChannelAffine', 'AvgPool3x3ExcludePad', 'AvgPool2x2', 'GlobalAvgPool',
  'BatchNormTrain', 'BatchNormEval', 'Add', 'AddN', 'Relu', 'Linear', 'SoftmaxCrossEntropyMean',
];

afterAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('mfnas kernel registry', () => {
  it('ops.ts asks nothing about backends', () => {
    const src = readFileSync(new URL('../src/engine/ops.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/getBackend|getKernel|'(wasm|tensorflow|cpu|native)'/);
  });

  it('cpu runs the plain tfjs implementations', async () => {
    await initEngine({ backend: 'cpu' });
    const table = mfnasKernelBackends();
    expect(Object.keys(table).sort()).toEqual([...ALL].sort());
    expect(new Set(Object.values(table))).toEqual(new Set(['*']));
  });

  it('wasm runs its channel helpers, the rest from plain tfjs ops', async () => {
    await initEngine({ backend: 'wasm' });
    const table = mfnasKernelBackends();
    for (const name of ALL) expect(table[name], name).toBe(['ChannelMean', 'ChannelSum', 'ChannelAffine'].includes(name) ? 'wasm' : '*');
  });

  it.runIf(nativeKernels)('native runs oneDNN batch norm and gradients over the wasm ones', async () => {
    await initEngine({ backend: 'native' });
    const table = mfnasKernelBackends();
    expect(table).toMatchObject({
      BatchNormTrain: 'native', Relu: 'native', AvgPool3x3ExcludePad: 'native', AvgPool2x2: 'native', AddN: 'native',
      ChannelMean: 'wasm', ChannelAffine: 'wasm', Conv2dTorchPad: '*', GlobalAvgPool: '*',
    });
  });

  it('registering an implementation twice is refused', () => {
    expect(() => registerMfnasKernel({ ...genericLinear })).toThrow(/already registered/);
  });

  it('an engine-specific implementation wins over "*", chosen when the engine starts, not per call', async () => {
    const calls: string[] = [];
    registerMfnasKernel({
      name: 'Linear', backend: 'cpu',
      forward: (inputs, attrs, save) => { calls.push('cpu'); return genericLinear.forward(inputs, attrs, save); },
    });
    const x = tf.tensor2d([[1, 2]]), w = tf.tensor2d([[3], [4]]), b = tf.tensor1d([0.5]);
    await initEngine({ backend: 'wasm' });
    expect(Array.from(linear(x, w, b).dataSync())).toEqual([11.5]);
    expect(calls).toEqual([]);
    await initEngine({ backend: 'cpu' });
    expect(Array.from(linear(x, w, b).dataSync())).toEqual([11.5]);
    expect(calls).toEqual(['cpu']);
    // Switching the tfjs backend behind the engine's back does not change the selection.
    await tf.setBackend('wasm');
    try {
      linear(x, w, b);
      expect(calls).toEqual(['cpu', 'cpu']);
    } finally {
      await initEngine({ backend: 'wasm' });
    }
    expect(mfnasKernelBackends().Linear).toBe('*');
  });
});

describe.each<EngineBackend>(['wasm', 'cpu', ...(nativeKernels ? ['native' as const] : [])])('batch norm statistics sink on %s', (backend) => {
  it('receives the batch mean and biased variance; the output is the same with or without it', async () => {
    await initEngine({ backend });
    const [n, h, w, c] = [3, 4, 5, 6];
    const data = Float32Array.from({ length: n * h * w * c }, (_, i) => Math.sin(i * 0.37) * 2 + (i % c));
    const x = tf.tensor4d(data, [n, h, w, c]);
    const gamma = tf.tensor1d([1, 0.5, 2, 1.5, 0.25, 1]), beta = tf.tensor1d([0, 0.1, -0.2, 0.3, 0, 1]);
    let got: [Float32Array, Float32Array] | null = null;
    const y1 = batchNormTrain(x, gamma, beta, 1e-5, (m, v) => { got = [m, v]; });
    const y2 = batchNormTrain(x, gamma, beta);
    expect(Buffer.from(y1.dataSync().buffer).equals(Buffer.from(y2.dataSync().buffer))).toBe(true);
    expect(got).not.toBeNull();
    const [mean, variance] = got!;
    const m = n * h * w;
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let p = 0; p < m; p++) s += data[p * c + ch];
      const mu = s / m;
      let v = 0;
      for (let p = 0; p < m; p++) v += (data[p * c + ch] - mu) ** 2;
      expect(mean[ch]).toBeCloseTo(mu, 5);
      expect(variance[ch]).toBeCloseTo(v / m, 4);
    }
    tf.dispose([x, gamma, beta, y1, y2]);
  });
});

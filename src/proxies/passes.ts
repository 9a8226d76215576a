/**
 * The passes proxies share (see definition.ts): what each runs on the network, once per network.
 * A proxy picks one and computes its score from the product.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../datasets/batches.js';
import { gradientParamNames, type NetworkSpec } from '../networks/index.js';
import { forward, liveParamNames, lossAndGrads, objectiveAndGrads, type TensorParams } from '../networks/model.js';
import type { ProxyPass } from './definition.js';
import { paramBlocks, type LayerGradients } from './gradients.js';
import { NaswotKernel } from './naswot.js';

function toTensor(batch: Batch): tf.Tensor4D {
  return tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, 3]);
}

/** Analytic proxies need only the structure. */
export const analyticPass: ProxyPass<NetworkSpec> = {
  name: 'analytic',
  run: (input) => input.spec,
};

/** One cross-entropy gradient pass per batch: every conv/linear weight gradient. */
export function gradientRecords(spec: NetworkSpec, params: TensorParams, batches: readonly Batch[]): LayerGradients[] {
  const names = gradientParamNames(spec);
  const blocks = paramBlocks(spec);
  const perBatch = new Map<string, Float32Array[]>(names.map((n) => [n, []]));
  for (const batch of batches) {
    const x = toTensor(batch);
    try {
      const { grads } = lossAndGrads(spec, params, x, batch.labels, names, { skipDead: true });
      for (const n of names) perBatch.get(n)!.push(grads.get(n)!);
    } finally {
      x.dispose();
    }
  }
  return names.map((name) => ({ name, block: blocks.get(name) ?? null, perBatch: perBatch.get(name)! }));
}

export interface GradientProduct {
  readonly records: readonly LayerGradients[];
  /**
   * `f(records)`, computed once per network whichever proxy asks first: both intgrad fidelities
   * come from one bin selection and one pass over the moments.
   */
  shared<T>(f: (records: readonly LayerGradients[]) => T): T;
}

export const gradientPass: ProxyPass<GradientProduct> = {
  name: 'gradient',
  run(input) {
    const records = gradientRecords(input.spec, input.weights(), input.batches);
    const memo = new Map<unknown, unknown>();
    return {
      records,
      shared<T>(f: (records: readonly LayerGradients[]) => T): T {
        if (!memo.has(f)) memo.set(f, f(records));
        return memo.get(f) as T;
      },
    };
  },
};

export interface SynflowProduct {
  /** Per conv/linear layer, in network order: |w| and ∂R/∂|w| (flattened, same layout). */
  readonly layers: ReadonlyArray<{ readonly name: string; readonly absWeight: Float32Array; readonly grad: Float32Array }>;
  /** The factor each block's output was divided by (see synflowPass). */
  readonly blockScales: readonly number[];
}

/**
 * SynFlow's objective R on the BN-free network with |weights| and an all-ones input, and its
 * gradients. Every activation is then non-negative, so ReLUs are identities and the network is
 * linear in each block's input: each block's output is divided by its mean (measured in a first
 * pass, then held constant) to keep float32 finite; those factors scale every weight's term
 * alike, so a proxy adds back their logs.
 */
export const synflowPass: ProxyPass<SynflowProduct> = {
  name: 'synflow',
  run(input) {
    const spec = input.spec;
    const names = gradientParamNames(spec);
    const absParams: TensorParams = new Map();
    for (const [k, v] of input.weights()) absParams.set(k, tf.abs(v));
    const x = tf.ones([1, spec.resolution, spec.resolution, 3]) as tf.Tensor4D;
    try {
      const scales: number[] = [];
      tf.tidy(() => {
        forward(spec, absParams, x, {
          skipDead: true, batchNorm: 'none',
          afterBlock: (i, h) => {
            const m = h.mean().dataSync()[0];
            scales[i] = m > 0 && Number.isFinite(m) ? m : 1;
            return tf.div(h, scales[i]);
          },
        });
      });
      const reachable = liveParamNames(spec, true);
      const { grads } = objectiveAndGrads(absParams, names, reachable, (local) =>
        tf.sum(forward(spec, local, x, { skipDead: true, batchNorm: 'none', afterBlock: (i, h) => tf.div(h, scales[i]) })) as tf.Scalar);
      const layers = names.map((name) => ({ name, absWeight: absParams.get(name)!.dataSync() as Float32Array, grad: grads.get(name)! }));
      return { layers, blockScales: scales };
    } finally {
      x.dispose();
      tf.dispose([...absParams.values()]);
    }
  },
};

/** The NASWOT kernel of the first proxy batch: binary codes of every ReLU's units. */
export const naswotPass: ProxyPass<NaswotKernel> = {
  name: 'naswot',
  run(input) {
    const batch = input.batches[0];
    const kernel = new NaswotKernel(batch.n);
    const x = toTensor(batch);
    try {
      tf.tidy(() => {
        forward(input.spec, input.weights(), x, {
          onRelu: (pre) => kernel.addActivations(pre.dataSync()),
        });
      });
    } finally {
      x.dispose();
    }
    return kernel;
  },
};

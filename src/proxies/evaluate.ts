/**
 * Scoring one network with any set of proxies. Proxies of one kind share a pass:
 * one cross-entropy gradient pass per batch feeds intgrad (both fidelities), ZiCo, grad_norm and
 * SNIP; SynFlow and NASWOT have their own pass; params and FLOPs are analytic.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../datasets/batches.js';
import { countFlops, countParams, gradientParamNames, initNetwork, type NetworkSpec } from '../networks/index.js';
import { forward, liveParamNames, lossAndGrads, objectiveAndGrads, toTensorParams, type TensorParams } from '../networks/model.js';
import type { LayerGradients } from './gradients.js';
import { intgradScores } from './intgrad.js';
import { zicoScore } from './zico.js';
import { naswotFromCodes, NaswotKernel } from './naswot.js';
import { PROXIES, type ProxyName } from './registry.js';

export type ProxyScores = Partial<Record<ProxyName, number>>;

/** The block (`cells.K`) a parameter belongs to, or null for stem and classifier. */
export function blockOf(paramName: string): string | null {
  const m = /^(cells\.\d+)\./.exec(paramName);
  return m ? m[1] : null;
}

function toTensor(batch: Batch): tf.Tensor4D {
  return tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, 3]);
}

/** One cross-entropy gradient pass per batch: every conv/linear weight gradient. */
export function gradientRecords(spec: NetworkSpec, params: TensorParams, batches: readonly Batch[]): LayerGradients[] {
  const names = gradientParamNames(spec);
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
  return names.map((name) => ({ name, block: blockOf(name), perBatch: perBatch.get(name)! }));
}

function gradNorm(records: readonly LayerGradients[]): number {
  let total = 0;
  for (const r of records) {
    for (const g of r.perBatch) {
      let sq = 0;
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
      total += Math.sqrt(sq);
    }
  }
  return total / Math.max(1, records[0]?.perBatch.length ?? 1);
}

function snip(records: readonly LayerGradients[], params: TensorParams): number {
  let total = 0;
  for (const r of records) {
    const w = params.get(r.name)!.dataSync();
    for (const g of r.perBatch) for (let i = 0; i < g.length; i++) total += Math.abs(g[i] * w[i]);
  }
  return total / Math.max(1, records[0]?.perBatch.length ?? 1);
}

/**
 * SynFlow on the BN-free network with |weights| and an all-ones input. Every activation is then
 * non-negative, so ReLUs are identities and the network is linear in each block's input: we
 * divide each block's output by its mean (measured in a first pass, then held constant) to keep
 * float32 finite, and add back the logs of those factors, which scale every weight's term alike.
 */
function synflow(spec: NetworkSpec, params: NetworkParamsLike): number {
  const names = gradientParamNames(spec);
  const absParams: TensorParams = new Map();
  for (const [k, v] of params) absParams.set(k, tf.abs(v));
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
    let total = 0;
    for (const n of names) {
      const w = absParams.get(n)!.dataSync();
      const g = grads.get(n)!;
      for (let i = 0; i < g.length; i++) total += Math.abs(w[i] * g[i]);
    }
    return Math.log(total) + scales.reduce((s, c) => s + Math.log(c), 0);
  } finally {
    x.dispose();
    tf.dispose([...absParams.values()]);
  }
}

type NetworkParamsLike = TensorParams;

/** NASWOT on the first batch: binary ReLU codes of every unit, kernel, log-determinant. */
function naswot(spec: NetworkSpec, params: TensorParams, batch: Batch): number {
  const kernel = new NaswotKernel(batch.n);
  const x = toTensor(batch);
  try {
    tf.tidy(() => {
      forward(spec, params, x, {
        onRelu: (pre) => kernel.addActivations(pre.dataSync()),
      });
    });
  } finally {
    x.dispose();
  }
  return naswotFromCodes(kernel);
}

export interface EvaluateOptions {
  readonly initSeed: number;
}

/** Scores of one network. `batches` are the proxy batches (ignored by analytic/data-free proxies). */
export function evaluateProxies(
  spec: NetworkSpec, batches: readonly Batch[], proxies: readonly ProxyName[], options: EvaluateOptions,
): ProxyScores {
  const want = new Set(proxies);
  const passes = new Set(proxies.map((p) => PROXIES[p].pass));
  const out: ProxyScores = {};
  if (want.has('params')) out.params = countParams(spec);
  if (want.has('flops')) out.flops = countFlops(spec);
  if (!passes.has('gradient') && !passes.has('synflow') && !passes.has('naswot')) return out;

  const params = toTensorParams(initNetwork(spec, options.initSeed));
  try {
    if (passes.has('gradient')) {
      const records = gradientRecords(spec, params, batches);
      if (want.has('intgrad_param') || want.has('intgrad_mean')) {
        const s = intgradScores(records);
        if (want.has('intgrad_param')) out.intgrad_param = s.intgrad_param;
        if (want.has('intgrad_mean')) out.intgrad_mean = s.intgrad_mean;
      }
      if (want.has('zico')) out.zico = zicoScore(records);
      if (want.has('grad_norm')) out.grad_norm = gradNorm(records);
      if (want.has('snip')) out.snip = snip(records, params);
    }
    if (want.has('synflow')) out.synflow = synflow(spec, params);
    if (want.has('naswot')) out.naswot = naswot(spec, params, batches[0]);
  } finally {
    tf.dispose([...params.values()]);
  }
  return out;
}

/**
 * Scoring one network with any set of proxies. Each pass the requested proxies need runs once
 * (definition.ts): one cross-entropy gradient pass per batch feeds intgrad (both fidelities),
 * ZiCo, grad_norm and SNIP; SynFlow and NASWOT have their own pass; params and FLOPs are analytic.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../datasets/batches.js';
import { initNetwork, type NetworkSpec } from '../networks/index.js';
import { toTensorParams, type TensorParams } from '../networks/model.js';
import type { ProxyInput, ProxyPass } from './definition.js';
import { PROXY_LIST, proxyInfo, type ProxyInfo, type ProxyName } from './registry.js';

export type ProxyScores = Partial<Record<ProxyName, number>>;

export interface EvaluateOptions {
  readonly initSeed: number;
}

/** Scores of one network. `batches` are the proxy batches (ignored by analytic/data-free proxies). */
export function evaluateProxies(
  spec: NetworkSpec, batches: readonly Batch[], proxies: readonly ProxyName[], options: EvaluateOptions,
): ProxyScores {
  // An unknown name is refused, never skipped: a score silently missing would read as NaN.
  for (const p of proxies) proxyInfo(p);
  const want = new Set(proxies);
  // Grouped by pass, in registry order (builtins first, so a registered proxy never changes
  // when a builtin's pass runs): each pass runs once and its product can be dropped before the
  // next pass runs.
  const byPass = new Map<ProxyPass<unknown>, ProxyInfo[]>();
  for (const d of PROXY_LIST) {
    if (!want.has(d.name)) continue;
    const group = byPass.get(d.pass);
    if (group) group.push(d); else byPass.set(d.pass, [d]);
  }

  let weights: TensorParams | undefined;
  const input: ProxyInput = {
    spec, batches, seed: options.initSeed,
    weights: () => (weights ??= toTensorParams(initNetwork(spec, options.initSeed))),
  };
  const scores = new Map<ProxyName, number>();
  try {
    for (const [pass, group] of byPass) {
      const product = pass.run(input);
      for (const d of group) scores.set(d.name, d.compute(product, input));
    }
  } finally {
    if (weights) tf.dispose([...weights.values()]);
  }
  // Keys in registry order, whichever order the passes ran in.
  const out: ProxyScores = {};
  for (const d of PROXY_LIST) if (scores.has(d.name)) out[d.name] = scores.get(d.name)!;
  return out;
}

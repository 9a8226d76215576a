/** SynFlow (Tanaka et al., NeurIPS 2020) as a NAS proxy; the data-free pass is in ../passes.ts. */
import { defineProxy } from '../definition.js';
import { synflowPass, type SynflowProduct } from '../passes.js';

export function synflowScore({ layers, blockScales }: SynflowProduct): number {
  let total = 0;
  for (const { absWeight: w, grad: g } of layers) {
    for (let i = 0; i < g.length; i++) total += Math.abs(w[i] * g[i]);
  }
  // The pass divided each block's output by blockScales[i]; in log space that is a sum.
  return Math.log(total) + blockScales.reduce((s, c) => s + Math.log(c), 0);
}

export const synflow = defineProxy({
  name: 'synflow', version: 1, minBatches: 1,
  paper: 'Tanaka et al., Pruning neural networks without any data by iteratively conserving synaptic flow, NeurIPS 2020 (as a NAS proxy: Abdelfattah et al., ICLR 2021)',
  definition: 'Natural log of Σ over conv and linear weights of |w · ∂R/∂w|, R = sum of the outputs of the network with |weights|, BN removed, on an all-ones input (data-free). The log keeps the value finite in float32; the ranking is that of SynFlow.',
  pass: synflowPass,
  compute: synflowScore,
});

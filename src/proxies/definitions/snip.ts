/** SNIP (Lee et al., ICLR 2019) as a NAS proxy: connection sensitivity summed over the network. */
import type { TensorParams } from '../../networks/model.js';
import { defineProxy } from '../definition.js';
import { batchAveragedSum, type LayerGradients } from '../gradients.js';
import { gradientPass } from '../passes.js';

// Version 2: summed per layer and batch, then across them (float64 rounding differs from v1's
// single running sum in the last digits).
export function snipScore(records: readonly LayerGradients[], weights: TensorParams): number {
  const values = new Map<string, ArrayLike<number>>();
  return batchAveragedSum(records, (layer, g) => {
    let w = values.get(layer.name);
    if (!w) values.set(layer.name, (w = weights.get(layer.name)!.dataSync()));
    let sum = 0;
    for (let i = 0; i < g.length; i++) sum += Math.abs(g[i] * w[i]);
    return sum;
  });
}

export const snip = defineProxy({
  name: 'snip', version: 2, minBatches: 1,
  paper: 'Lee et al., SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR 2019 (as a NAS proxy: Abdelfattah et al., ICLR 2021)',
  definition: 'Σ over conv and linear weights of |w · ∂L/∂w| for the cross-entropy loss, averaged over the proxy batches.',
  pass: gradientPass,
  compute: (g, input) => snipScore(g.records, input.weights()),
});

/** SNIP (Lee et al., ICLR 2019) as a NAS proxy: connection sensitivity summed over the network. */
import type { TensorParams } from '../../networks/model.js';
import { defineProxy } from '../definition.js';
import type { LayerGradients } from '../gradients.js';
import { gradientPass } from '../passes.js';

export function snipScore(records: readonly LayerGradients[], weights: TensorParams): number {
  let total = 0;
  for (const r of records) {
    const w = weights.get(r.name)!.dataSync();
    for (const g of r.perBatch) for (let i = 0; i < g.length; i++) total += Math.abs(g[i] * w[i]);
  }
  return total / Math.max(1, records[0]?.perBatch.length ?? 1);
}

export const snip = defineProxy({
  name: 'snip', version: 1, minBatches: 1,
  paper: 'Lee et al., SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR 2019 (as a NAS proxy: Abdelfattah et al., ICLR 2021)',
  definition: 'Σ over conv and linear weights of |w · ∂L/∂w| for the cross-entropy loss, averaged over the proxy batches.',
  pass: gradientPass,
  compute: (g, input) => snipScore(g.records, input.weights()),
});

/** grad_norm (Abdelfattah et al., ICLR 2021): the size of the loss gradient at initialisation. */
import { defineProxy } from '../definition.js';
import { batchAveragedSum, type LayerGradients } from '../gradients.js';
import { gradientPass } from '../passes.js';

export function gradNormScore(records: readonly LayerGradients[]): number {
  return batchAveragedSum(records, (_layer, g) => {
    let sq = 0;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    return Math.sqrt(sq);
  });
}

export const gradNorm = defineProxy({
  name: 'grad_norm', version: 1, minBatches: 1,
  paper: 'Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021',
  definition: 'Σ over conv and linear layers of the Euclidean norm of the weight gradient of the cross-entropy loss, averaged over the proxy batches.',
  pass: gradientPass,
  compute: (g) => gradNormScore(g.records),
});

/**
 * ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
 * ICLR 2023), as its authors' code computes it: Σ over every conv/linear layer of
 * log Σ_{s≠0} a/s, with a = mean over batches of |g| and s = std over batches (ddof 0, no
 * epsilon) of each weight's gradient g (MFNAS.md §3). Unlike intgrad, a averages magnitudes
 * (mean |g|, not |mean g|). A layer whose sum is 0 adds nothing. With one batch every std is 0,
 * so it asks for at least two batches.
 */
import { defineProxy } from '../definition.js';
import { batchMoments, type LayerGradients } from '../gradients.js';
import { gradientPass } from '../passes.js';

export function zicoScore(records: readonly LayerGradients[]): number {
  let score = 0;
  for (const layer of records) {
    const { meanAbs, std } = batchMoments(layer);
    let sum = 0;
    for (let i = 0; i < meanAbs.length; i++) if (std[i] !== 0) sum += meanAbs[i] / std[i];
    if (sum !== 0 && Number.isFinite(sum)) score += Math.log(sum);
  }
  return score;
}

export const zico = defineProxy({
  name: 'zico', version: 2, minBatches: 2,
  paper: 'Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, ICLR 2023',
  definition: 'Σ over every conv and linear layer of log Σ_{std≠0} mean(|g|)/std(g) of each weight gradient g across the proxy batches (needs at least 2 batches).',
  pass: gradientPass,
  compute: (g) => zicoScore(g.records),
});

/**
 * ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
 * ICLR 2023): Σ over every conv/linear layer of log Σ_{s≠0} m/s, with m = |mean over batches|
 * and s = std over batches (ddof 0) of each weight's gradient — intgrad without the bin filter
 * and without the std offset (MFNAS.md §3). A layer whose sum is 0 adds nothing.
 */
import { batchMoments, type LayerGradients } from './gradients.js';

export function zicoScore(records: readonly LayerGradients[]): number {
  let score = 0;
  for (const layer of records) {
    const { absMean, std } = batchMoments(layer);
    let sum = 0;
    for (let i = 0; i < absMean.length; i++) if (std[i] !== 0) sum += absMean[i] / std[i];
    if (sum !== 0 && Number.isFinite(sum)) score += Math.log(sum);
  }
  return score;
}

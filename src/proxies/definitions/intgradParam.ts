/** intgrad_param — fidelity 1 of MFNAS's stable zero-shot proxy (math in ../intgrad.ts). */
import { defineProxy } from '../definition.js';
import { intgradScores } from '../intgrad.js';
import { gradientPass } from '../passes.js';

export const intgradParam = defineProxy({
  name: 'intgrad_param', version: 1, minBatches: 1,
  paper: 'Fu et al., MFNAS: Multi-fidelity Exploration in NAS with Stable Zero-Shot Proxy, PRICAI 2024',
  definition: 'Fidelity 1 of the stable zero-shot proxy: over the cell list, keep gradient entries whose |mean over batches| lies in the histogram bin of |g| that holds the largest summed per-cell share; per layer log(1 + Σ kept mean/(std + 1e-5)), summed.',
  pass: gradientPass,
  // Shared with intgrad_mean: one bin selection gives both fidelities.
  compute: (g) => g.shared(intgradScores).intgrad_param,
});

/** intgrad_mean — fidelity 2 of MFNAS's stable zero-shot proxy (math in ../intgrad.ts). */
import { defineProxy } from '../definition.js';
import { intgradScores } from '../intgrad.js';
import { gradientPass } from '../passes.js';

export const intgradMean = defineProxy({
  name: 'intgrad_mean', version: 1, minBatches: 1,
  paper: 'Fu et al., PRICAI 2024 (MFNAS)',
  definition: 'Fidelity 2 of the stable zero-shot proxy: as intgrad_param with the per-layer mean of mean/(std + 1e-5) over kept entries instead of the sum.',
  pass: gradientPass,
  // Shared with intgrad_param: one bin selection gives both fidelities.
  compute: (g) => g.shared(intgradScores).intgrad_mean,
});

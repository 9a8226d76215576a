/**
 * AZ-NAS trainability (Lee & Ham, CVPR 2024), per block from a Rademacher vector–Jacobian
 * product through that block alone (pass in ../azNas.ts; AZ-NAS.md §5). Blocks as in
 * azExpressivity.ts: TSS 17 blocks; SSS its 5 blocks (3 cells, 2 reductions; the analogue —
 * SSS cells that change the channel count give a non-square C_in × C_out moment matrix).
 */
import { defineProxy } from '../definition.js';
import { azPass } from '../azNas.js';

export const azTrainability = defineProxy({
  name: 'az_trainability', version: 1, minBatches: 1,
  paper: 'Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024',
  definition: 'Mean over blocks of −σ − 1/(σ + 1e-6) + 2, σ the largest singular value of the same-position channel cross-moment (1/N) Σ U·Gᵀ of a Rademacher G at the block output and U = its block-local vector–Jacobian product (pixel-unshuffled at reductions); −∞ if a block is exactly the identity. Same pass as az_expressivity.',
  pass: azPass,
  compute: (az) => az.trainability,
});

/**
 * AZ-NAS expressivity (Lee & Ham, CVPR 2024), as the authors' code computes it (pass and math
 * in ../azNas.ts; specification ../../../../shared/docs/AZ-NAS.md §3).
 *
 * Feature maps: TSS — the stem output (after its BN) and the raw output of each of the 17
 * blocks (15 cells, 2 reduction blocks), 18 maps as in the authors' code. SSS — the same rule
 * on the SSS network (src/spaces/sss/network.ts: 3 cells and 2 reduction blocks): the stem and
 * each of the 5 blocks, 6 maps; the authors define no SSS version, this is the analogue.
 */
import { defineProxy } from '../definition.js';
import { azPass } from '../azNas.js';

export const azExpressivity = defineProxy({
  name: 'az_expressivity', version: 1, minBatches: 1,
  paper: 'Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024',
  definition: 'Σ over the stem and every block output of the spectral entropy −Σ p ln(p + 1e-8) of the channel covariance eigenvalues (p normalised to sum 1); Kaiming-normal weights, one batch of 64 Gaussian-noise images (no data), BN in training mode; −∞ for a network that outputs zero.',
  pass: azPass,
  compute: (az) => az.expressivity,
});

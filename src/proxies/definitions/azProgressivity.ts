/**
 * AZ-NAS progressivity (Lee & Ham, CVPR 2024): the smallest increase of expressivity from one
 * feature map to the next (pass in ../azNas.ts; AZ-NAS.md §4). Maps as in azExpressivity.ts:
 * TSS stem + 17 blocks (17 steps); SSS stem + 5 blocks (5 steps, the analogue).
 */
import { defineProxy } from '../definition.js';
import { azPass } from '../azNas.js';

export const azProgressivity = defineProxy({
  name: 'az_progressivity', version: 1, minBatches: 1,
  paper: 'Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024',
  definition: 'min over consecutive feature maps (stem → block 1 → … → last block) of E_l − E_{l−1}, E the spectral entropy of az_expressivity (same pass); −∞ for a network that outputs zero.',
  pass: azPass,
  compute: (az) => az.progressivity,
});

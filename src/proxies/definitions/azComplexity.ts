/**
 * AZ-NAS complexity (Lee & Ham, CVPR 2024): the network's FLOPs, NATS-Bench counting, for the
 * dataset scored (AZ-NAS.md §6). Larger counts as better, as in the authors' aggregation. Like
 * every proxy here it is computed on the class representative mfnas evaluates, whose dead
 * convolutions (which NATS-Bench counts) may differ from the asked cell's; `flops` is the same
 * number, this entry exists so that AZ-NAS's four components sit together.
 */
import { countFlops } from '../../networks/cost.js';
import { defineProxy } from '../definition.js';
import { analyticPass } from '../passes.js';

export const azComplexity = defineProxy({
  name: 'az_complexity', version: 1, minBatches: 1,
  paper: 'Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024',
  definition: 'FLOPs in millions (NATS-Bench counting), the complexity component of AZ-NAS; larger is better in its aggregation.',
  pass: analyticPass,
  compute: (spec) => countFlops(spec),
});

/** FLOPs, the cost baseline. */
import { countFlops } from '../../networks/cost.js';
import { defineProxy } from '../definition.js';
import { analyticPass } from '../passes.js';

export const flops = defineProxy({
  name: 'flops', version: 1, minBatches: 1,
  paper: 'baseline: network cost',
  definition: 'Multiply-accumulates of convs and the classifier per image, in millions (NATS-Bench "FLOPs").',
  pass: analyticPass,
  compute: (spec) => countFlops(spec),
});

/** Parameter count, the size baseline every zero-cost proxy is compared with. */
import { countParams } from '../../networks/cost.js';
import { defineProxy } from '../definition.js';
import { analyticPass } from '../passes.js';

export const params = defineProxy({
  name: 'params', version: 1, minBatches: 1,
  paper: 'baseline: network size',
  definition: 'Number of parameters (NATS-Bench counting: conv/linear weights, linear bias, BN γ and β).',
  pass: analyticPass,
  compute: (spec) => countParams(spec),
});

/** NASWOT (Mellor et al., ICML 2021); kernel and log-determinant in ../naswot.ts. */
import { defineProxy } from '../definition.js';
import { naswotFromCodes } from '../naswot.js';
import { naswotPass } from '../passes.js';

export const naswot = defineProxy({
  name: 'naswot', version: 1, minBatches: 1,
  paper: 'Mellor et al., Neural Architecture Search without Training, ICML 2021',
  definition: 'log|det K| of the kernel K[i,j] = number of ReLUs on which images i and j of the first proxy batch agree (both active or both inactive).',
  pass: naswotPass,
  compute: (kernel) => naswotFromCodes(kernel),
});

/** Block kinds (./kind.ts says what one owns), the builtin ones and their registry. */
export * from './kind.js';
export * from './registry.js';
export * from './convBn.js';
export * from './bnRelu.js';
export * from './cell.js';
export * from './reduction.js';
export * from './invertedResidual.js';
export * from './identityDownsample.js';

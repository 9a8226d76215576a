/**
 * Networks: spec (structure), block kinds (./blocks), cost (params, FLOPs), init (weights),
 * model (TensorFlow.js). Built by the search spaces (src/spaces/<space>/network.ts), which this
 * folder never imports.
 */
import { networkLayers, paramName, type NetworkSpec } from './spec.js';

export * from './spec.js';
export * from './blocks/index.js';
export * from './cost.js';
export * from './init.js';
export * from './trained.js';

/** Names of every conv and linear weight, in network order (what gradient proxies read). */
export function gradientParamNames(spec: NetworkSpec): string[] {
  return networkLayers(spec).filter((l) => l.kind !== 'bn').map((l) => paramName(l, 'weight'));
}

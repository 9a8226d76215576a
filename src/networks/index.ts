/** Networks: spec (structure), cost (params, FLOPs), init (weights), model (TensorFlow.js). */
import type { DatasetRef } from '../datasets/registry.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import { networkLayers, paramName, type NetworkSpec } from './spec.js';

export * from './spec.js';
export * from './cost.js';
export * from './init.js';
export * from './trained.js';

/**
 * The network of an architecture given in its space's string form, for callers that hold
 * text (CLI input, worker tasks); code holding the typed value calls its space's `networkSpec`.
 */
export function buildNetworkSpec(space: SpaceName, arch: string, dataset: DatasetRef): NetworkSpec {
  const definition: SpaceDefinition<unknown> = spaceByName(space);
  return definition.networkSpec(definition.parse(arch), dataset);
}

/** Names of every conv and linear weight, in network order (what gradient proxies read). */
export function gradientParamNames(spec: NetworkSpec): string[] {
  return networkLayers(spec).filter((l) => l.kind !== 'bn').map((l) => paramName(l, 'weight'));
}

/** Networks: spec (structure), cost (params, FLOPs), init (weights), model (TensorFlow.js). */
import type { DatasetName } from '../datasets/registry.js';
import type { SpaceName } from '../spaces/types.js';
import { parseTssCell, formatTssCell } from '../spaces/tss.js';
import { parseSssChannels, formatSssChannels } from '../spaces/sss.js';
import { networkLayers, sssNetworkSpec, tssNetworkSpec, type NetworkSpec } from './spec.js';

export * from './spec.js';
export * from './cost.js';
export * from './init.js';

/** The network of an architecture given in its space's string form. */
export function buildNetworkSpec(space: SpaceName, arch: string, dataset: DatasetName): NetworkSpec {
  if (space === 'tss') {
    const cell = parseTssCell(arch);
    return tssNetworkSpec(cell, dataset, formatTssCell(cell));
  }
  const channels = parseSssChannels(arch);
  return sssNetworkSpec(channels, dataset, formatSssChannels(channels));
}

/** Names of every conv and linear weight, in network order (what gradient proxies read). */
export function gradientParamNames(spec: NetworkSpec): string[] {
  return networkLayers(spec).filter((l) => l.kind !== 'bn').map((l) => `${l.name}.weight`);
}

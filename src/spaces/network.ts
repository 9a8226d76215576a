/**
 * The network of an architecture given in its space's string form, for callers that hold text
 * (CLI input, worker tasks, checkpoints); code holding the typed value calls its space's
 * `networkSpec`. It lives with the spaces because the spaces build networks (src/networks
 * never looks up a space).
 */
import type { DatasetRef } from '../datasets/registry.js';
import type { NetworkSpec } from '../networks/spec.js';
import { spaceByName } from './index.js';
import type { SpaceDefinition, SpaceName } from './types.js';

export function buildNetworkSpec(space: SpaceName, arch: string, dataset: DatasetRef): NetworkSpec {
  const definition: SpaceDefinition<unknown> = spaceByName(space);
  return definition.networkSpec(definition.parse(arch), dataset);
}

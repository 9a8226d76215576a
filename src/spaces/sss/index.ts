/**
 * The NATS-Bench size search space (SSS), MFNAS.md §1. Indices are arithmetic and every
 * configuration is its own class, so the space needs no table except for accuracies.
 */
import { SSS_ACCURACY_FILE } from '../../natsbench/tables.js';
import { checkIndexRange, type SpaceDefinition } from '../types.js';
import {
  checkChannels, crossoverSssChannels, formatSssChannels, mutateSssChannels, parseSssChannels, sampleSssChannels,
  sssFromIndex, sssIndexOf, SSS_SIZE, type SssChannels,
} from './channels.js';
import { sssNetworkSpec } from './network.js';

export * from './channels.js';
export * from './network.js';

export const sss: SpaceDefinition<SssChannels> = {
  name: 'sss',
  aliases: ['size'],
  size: SSS_SIZE,
  parse: parseSssChannels,
  format: formatSssChannels,
  validate: checkChannels,
  indexed: true,
  indexOf: sssIndexOf,
  fromIndex(index) {
    checkIndexRange(index, SSS_SIZE, 'sss');
    return sssFromIndex(index);
  },
  canonical: formatSssChannels,
  representative: (channels) => channels,
  sample: sampleSssChannels,
  mutate: mutateSssChannels,
  crossover: crossoverSssChannels,
  *enumerate() {
    for (let i = 0; i < SSS_SIZE; i++) yield sssFromIndex(i);
  },
  networkSpec: (channels, dataset) => sssNetworkSpec(channels, dataset),
  drawing: (channels) => ({ kind: 'channels', channels }),
  tableFile: SSS_ACCURACY_FILE,
  table: (benchmark) => benchmark?.sss ?? null,
  withBenchmark: () => sss,
};

/** The SSS definition (a function for symmetry with `tssSpace`, which takes a table). */
export function sssSpace(): SpaceDefinition<SssChannels> {
  return sss;
}

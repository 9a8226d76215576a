/**
 * The NATS-Bench size search space (SSS), MFNAS.md §1. Indices are arithmetic and every
 * configuration is its own class, so the space needs no table except for accuracies.
 */
import { arithmeticIndex, completeSpace } from '../complete.js';
import { type SpaceDefinition, type SpaceDescription } from '../types.js';
import {
  checkChannels, crossoverSssChannels, formatSssChannels, mutateSssChannels, parseSssChannels, sampleSssChannels,
  sssFromIndex, sssIndexOf, SSS_SIZE, type SssChannels,
} from './channels.js';
import { channelBars } from './drawing.js';
import { sssNetworkSpec } from './network.js';

export * from './channels.js';
export * from './network.js';

/** What the SSS folder registers. */
export const sssDescription: SpaceDescription<SssChannels> = {
  name: 'sss',
  aliases: ['size'],
  parse: parseSssChannels,
  format: formatSssChannels,
  validate: checkChannels,
  ...arithmeticIndex('sss', SSS_SIZE, sssIndexOf, sssFromIndex),
  // Every configuration is its own class: the generic canonical form (the string) and representative.
  sample: sampleSssChannels,
  mutate: mutateSssChannels,
  crossover: crossoverSssChannels,
  networkSpec: (channels, dataset) => sssNetworkSpec(channels, dataset),
  drawing: channelBars,
};

export const sss: SpaceDefinition<SssChannels> = completeSpace(sssDescription);

/** The SSS definition (a function for symmetry with `tssSpace`, which takes a table). */
export function sssSpace(): SpaceDefinition<SssChannels> {
  return sss;
}

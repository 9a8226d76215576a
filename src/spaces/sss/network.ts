/** The SSS network (MFNAS.md §1, SSS): the TSS skeleton with one fixed cell per stage and searched channels. */
import type { DatasetRef } from '../../datasets/registry.js';
import { bnReluSpec, cellSpec, convBnSpec, reductionSpec, type BlockSpec } from '../../networks/blocks/index.js';
import { assembleNetwork, blockName, networkResolution, type NetworkSpec } from '../../networks/spec.js';
import { parseTssCell } from '../tss/cell.js';
import { formatSssChannels, type SssChannels } from './channels.js';

/** The fixed cell of every SSS network. */
export const SSS_CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const CELL = parseTssCell(SSS_CELL);

/** Channels c1..c5 around the fixed cell. */
export function sssNetworkSpec(channels: SssChannels, dataset: DatasetRef, archString = formatSssChannels(channels)): NetworkSpec {
  const [c1, c2, c3, c4, c5] = channels;
  const resolution = networkResolution(dataset);
  let size = resolution;
  const blocks: BlockSpec[] = [];
  blocks.push(cellSpec(blockName(0), CELL, c1, c1, size));
  blocks.push(reductionSpec(blockName(1), c1, c2, size));
  size /= 2;
  blocks.push(cellSpec(blockName(2), CELL, c2, c3, size));
  blocks.push(reductionSpec(blockName(3), c3, c4, size));
  size /= 2;
  blocks.push(cellSpec(blockName(4), CELL, c4, c5, size));
  return assembleNetwork(
    'sss', dataset, archString,
    convBnSpec('stem', 3, c1, 3, 1, resolution, false),
    blocks, bnReluSpec('lastact', c5, size),
  );
}

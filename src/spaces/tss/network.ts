/** The TSS macro network (NATS-Bench's TinyNetwork, MFNAS.md §1) around a searched cell. */
import type { DatasetRef } from '../../datasets/registry.js';
import { bnReluSpec, cellSpec, convBnSpec, reductionSpec, type BlockSpec } from '../../networks/blocks/index.js';
import { assembleNetwork, blockName, networkResolution, type NetworkSpec } from '../../networks/spec.js';
import { formatTssCell, type TssCell } from './cell.js';

export const TSS_CHANNELS = 16;
export const TSS_CELLS_PER_STAGE = 5;

/** C=16, N=5 cells per stage, two reduction blocks. */
export function tssNetworkSpec(cell: TssCell, dataset: DatasetRef, archString = formatTssCell(cell)): NetworkSpec {
  const resolution = networkResolution(dataset);
  let size = resolution;
  const blocks: BlockSpec[] = [];
  const stages = [TSS_CHANNELS, TSS_CHANNELS * 2, TSS_CHANNELS * 4];
  let index = 0;
  stages.forEach((c, s) => {
    if (s > 0) {
      blocks.push(reductionSpec(blockName(index++), stages[s - 1], c, size));
      size /= 2;
    }
    for (let i = 0; i < TSS_CELLS_PER_STAGE; i++) blocks.push(cellSpec(blockName(index++), cell, c, c, size));
  });
  return assembleNetwork(
    'tss', dataset, archString,
    convBnSpec('stem', 3, TSS_CHANNELS, 3, 1, resolution, false),
    blocks, bnReluSpec('lastact', stages[2], size),
  );
}

/** The TSS macro network (NATS-Bench's TinyNetwork, MFNAS.md §1) around a searched cell. */
import type { DatasetRef } from '../../datasets/registry.js';
import { assembleNetwork, networkResolution, blockName, cellSpec, reductionSpec, type BlockSpec, type NetworkSpec } from '../../networks/spec.js';
import { formatTssCell, type TssCell } from './cell.js';

export const TSS_CHANNELS = 16;
export const TSS_CELLS_PER_STAGE = 5;

/** C=16, N=5 cells per stage, two reduction blocks. */
export function tssNetworkSpec(cell: TssCell, dataset: DatasetRef, archString = formatTssCell(cell)): NetworkSpec {
  let size = networkResolution(dataset);
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
  return assembleNetwork('tss', dataset, archString, TSS_CHANNELS, blocks, stages[2]);
}

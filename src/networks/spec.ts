/**
 * One description of a network, shared by everything that needs its structure: the analytic
 * cost model (params, FLOPs), the TensorFlow.js model, initialisation, training, export, the
 * proxies (which layers belong to which block) and the reports. Building it is pure and cheap
 * (no tensors).
 *
 * A network is a stem, the block list (the blocks a search space varies; the proxies group
 * parameters by them and AZ-NAS reads their outputs), a head, a global average pool and a
 * linear classifier. Every block is a spec of a registered kind (./blocks): this file and
 * everything that walks a network ask the block's kind, never name one. Each search space
 * assembles its own network from the kinds (src/spaces/<space>/network.ts).
 */
import { datasetInfo, type DatasetRef } from '../datasets/registry.js';
import { InputError } from '../util/errors.js';
import type { ConvBnSpec } from './blocks/convBn.js';
import type { BlockSpec } from './blocks/kind.js';
import { kindOf } from './blocks/registry.js';
import type { LayerSpec, LinearSpec } from './layers.js';

export * from './layers.js';
export type { BlockSpec } from './blocks/kind.js';

export interface NetworkSpec {
  /** The search space's name (a registered space). */
  readonly space: string;
  /**
   * The dataset's name: a NATS-Bench name (`DatasetName`), or a folder dataset's folder name.
   * Classes and resolution below come from the dataset.
   */
  readonly dataset: string;
  /** The architecture in its space's string form. */
  readonly arch: string;
  readonly classes: number;
  readonly resolution: number;
  /** The first block, on the image: a conv → BN (→ ReLU). */
  readonly stem: ConvBnSpec;
  /** The block list in order: the "cell list" the proxies read gradients and outputs from. */
  readonly blocks: readonly BlockSpec[];
  /** The block between the block list and the global pool (e.g. BN → ReLU). */
  readonly head: BlockSpec;
  readonly classifier: LinearSpec;
}

/**
 * Name of the block at position `index` of `NetworkSpec.blocks`. Layer names start with it,
 * which is how per-cell proxies group parameters by block.
 */
export function blockName(index: number): string {
  return `cells.${index}`;
}

/**
 * The input resolution of `dataset`, checked: the networks are fully convolutional with a global
 * pool, halving the size twice (two reduction blocks), so any multiple of 4 from 8 up works.
 */
export function networkResolution(dataset: DatasetRef): number {
  const r = datasetInfo(dataset).resolution;
  if (!Number.isSafeInteger(r) || r < 8 || r % 4 !== 0) {
    throw new InputError(`the networks need images of a multiple of 4 pixels, at least 8, got ${r}x${r}: use e.g. --image-size 32`);
  }
  return r;
}

/**
 * The whole network: the stem, block list and head a space built for `dataset`'s resolution, then
 * the global pool and a classifier from the head's output channels to the dataset's classes.
 */
export function assembleNetwork(
  space: string, datasetGiven: DatasetRef, arch: string,
  stem: ConvBnSpec, blocks: readonly BlockSpec[], head: BlockSpec,
): NetworkSpec {
  const info = datasetInfo(datasetGiven);
  networkResolution(info);
  return {
    space, dataset: info.name, arch, classes: info.classes, resolution: info.resolution,
    stem, blocks, head,
    classifier: { kind: 'linear', name: 'classifier', in: kindOf(head).output(head).channels, out: info.classes },
  };
}

/** Every block in the order the network runs them: stem, the block list, head. */
export function networkBlocks(spec: NetworkSpec): BlockSpec[] {
  return [spec.stem, ...spec.blocks, spec.head];
}

/** The parameterised layers of one block, in its kind's fixed order. */
export function blockLayers(block: BlockSpec): readonly LayerSpec[] {
  return kindOf(block).layers(block);
}

/**
 * The layers of one block that a pass runs: all of them, or with `skipDead` only those that can
 * influence a freshly initialised block's output.
 */
export function runLayers(block: BlockSpec, skipDead: boolean): readonly LayerSpec[] {
  const kind = kindOf(block);
  return skipDead && kind.liveLayers ? kind.liveLayers(block) : kind.layers(block);
}

/** Every parameterised layer of a network, in a fixed order (stem, blocks, head, classifier). */
export function networkLayers(spec: NetworkSpec): LayerSpec[] {
  const out: LayerSpec[] = [];
  for (const block of networkBlocks(spec)) out.push(...blockLayers(block));
  out.push(spec.classifier);
  return out;
}

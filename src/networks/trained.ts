/**
 * A trained network as training hands it to export and prediction: the structure, every
 * parameter (with each BN's running statistics), the class names and how to feed raw images.
 */
import type { NetworkParams } from './init.js';
import type { NetworkSpec } from './spec.js';

/** How raw images become the network's input (written to `preprocess.json` on export). */
export interface Preprocess {
  /** Images are resized to imageSize × imageSize. */
  readonly imageSize: number;
  readonly channelOrder: 'RGB';
  /** The model input is NHWC float32 with pixels scaled to [0, 1], then (x − mean) / std per channel. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export interface TrainedNetwork {
  readonly spec: NetworkSpec;
  /** Trained parameters by `paramName`, including every BN's 'running_mean' and 'running_var'. */
  readonly params: NetworkParams;
  /** Class names in label order. */
  readonly labels: readonly string[];
  readonly preprocess: Preprocess;
}

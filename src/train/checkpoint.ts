/**
 * The checkpoint of a training run: `RUN/checkpoint.safetensors`, one file so that it is
 * replaced atomically as a whole (src/util/atomicWrite.ts) — there is never a moment when the
 * weights and the state describing them disagree.
 *
 * Tensors (float32, safetensors layout, see safetensors.ts):
 * - `param/<name>`: every parameter by `paramName`, BN running_mean / running_var included;
 * - `momentum/<name>`: SGD's momentum buffer of every trained parameter.
 * Metadata: `format` = "mfnas-train-checkpoint", `version` = "1", and `state`, the JSON of
 * `CheckpointState` (settings, progress, metrics so far, data fingerprints, labels, preprocess).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetName, FolderDataset } from '../datasets/registry.js';
import type { NetworkParams } from '../networks/init.js';
import type { Preprocess } from '../networks/trained.js';
import type { SpaceName } from '../spaces/types.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { DataError, quotePath } from '../util/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import type { TrainRecipe } from './recipe.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const METRICS_FILE = 'metrics.csv';
const FORMAT = 'mfnas-train-checkpoint';
const VERSION = '1';

/** Everything that decides the bits of the trained weights; a resume must match it. */
export interface RunSettings extends TrainRecipe {
  readonly space: SpaceName;
  /** The architecture in its space's string form. */
  readonly arch: string;
  readonly dataset: string;
  /** Training images used (the first N of the split). */
  readonly trainImages: number;
  /** Test images evaluated after each epoch (the first N of the split); 0 for a folder without test/. */
  readonly testImages: number;
}

/** One row of metrics.csv. */
export interface EpochMetrics {
  /** 1-based. */
  readonly epoch: number;
  readonly lr: number;
  readonly train_loss: number;
  /** % on the augmented training batches, in training mode (as NATS-Bench reports it). */
  readonly train_acc: number;
  /** Null (an empty cell in metrics.csv) without a test split. */
  readonly test_loss: number | null;
  /** % on the test images, evaluation mode; null without a test split. */
  readonly test_acc: number | null;
  /** Wall-clock seconds of the epoch: training steps plus test evaluation. */
  readonly seconds: number;
}

export const METRICS_COLUMNS = ['epoch', 'lr', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'seconds'] as const;

export interface CheckpointState {
  readonly settings: RunSettings;
  /** Completed epochs. */
  readonly epoch: number;
  /** Completed steps of epoch `epoch` (0 at an epoch boundary; >0 when saved on an interrupt). */
  readonly step: number;
  /** Optimizer steps since the start (0: the momentum buffers do not exist yet). */
  readonly sgdSteps: number;
  /** Sums over the completed steps of the current epoch (loss·images, hits, images, seconds). */
  readonly partial: { readonly lossSum: number; readonly correct: number; readonly seen: number; readonly seconds: number };
  readonly metrics: readonly EpochMetrics[];
  /** SHA-256 of the training and test images used (data.ts); test null without a test split. */
  readonly fingerprint: { readonly train: string; readonly test: string | null };
  /** The dataset as the network was built for it: a builtin's name, or the folder dataset's value (plain data). */
  readonly datasetRef: DatasetName | FolderDataset;
  readonly labels: readonly string[];
  readonly preprocess: Preprocess;
  /** Engine that computed it (engineKey); a resume on another engine is allowed but not bit-identical. */
  readonly engine: string;
}

export interface Checkpoint {
  readonly state: CheckpointState;
  readonly params: NetworkParams;
  readonly momentum: Map<string, Float32Array>;
}

export function checkpointPath(runDir: string): string {
  return path.join(runDir, CHECKPOINT_FILE);
}

/** Atomically replace the run's checkpoint. */
export function saveCheckpoint(runDir: string, c: Checkpoint): void {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, p] of c.params) tensors.set(`param/${name}`, p);
  for (const [name, buf] of c.momentum) tensors.set(`momentum/${name}`, { shape: c.params.get(name)!.shape, data: buf });
  const bytes = encodeSafetensors(tensors, { format: FORMAT, version: VERSION, state: JSON.stringify(c.state) });
  writeFileAtomic(checkpointPath(runDir), bytes);
}

/** The run's checkpoint, or null when the folder has none. */
export function loadCheckpoint(runDir: string): Checkpoint | null {
  const file = checkpointPath(runDir);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataError(`cannot read ${quotePath(file)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  if (metadata.format !== FORMAT || metadata.version !== VERSION || typeof metadata.state !== 'string') {
    throw new DataError(`${quotePath(file)} is not an mfnas training checkpoint (version ${VERSION}); train again into a new --out folder`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(metadata.state) as CheckpointState;
  } catch {
    throw new DataError(`${quotePath(file)} has a damaged state record; train again into a new --out folder`);
  }
  const params: NetworkParams = new Map();
  const momentum = new Map<string, Float32Array>();
  for (const [key, t] of tensors) {
    if (key.startsWith('param/')) params.set(key.slice(6), { shape: t.shape, data: t.data });
    else if (key.startsWith('momentum/')) momentum.set(key.slice(9), t.data);
  }
  return { state, params, momentum };
}

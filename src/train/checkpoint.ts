/**
 * The checkpoint of a training run: `RUN/checkpoint.safetensors`, one file so that it is
 * replaced atomically as a whole (src/util/atomicWrite.ts) — there is never a moment when the
 * weights and the state describing them disagree.
 *
 * Tensors (float32, safetensors layout, see safetensors.ts):
 * - `param/<name>`: every parameter by `paramName`, BN running_mean / running_var included;
 * - `momentum/<name>`: SGD's momentum buffer of every trained parameter.
 * Metadata: `format` = "mfnas-train-checkpoint", `version` = "2", `state`, the JSON of
 * `CheckpointState` (settings, progress, metrics so far, data fingerprints, labels, preprocess;
 * checked against the schema of state.ts on every read), and `tensors_sha256`, the SHA-256 of
 * the data section, checked on every read so that flipped bytes never resume or export.
 *
 * Version 1 (before the checksum) is still read, with a note that its tensors cannot be proved:
 * runs of weeks exist in that format, and refusing them would throw the work away; the next
 * save of a resumed run writes version 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetName, FolderDataset } from '../datasets/registry.js';
import type { NetworkParams } from '../networks/init.js';
import type { Preprocess } from '../networks/trained.js';
import type { SpaceName } from '../spaces/types.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { DataError, quotePath } from '../util/errors.js';
import { readRegularFileSync } from '../util/regularFile.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import type { TrainRecipe } from './recipe.js';
import { parseCheckpointState } from './state.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const METRICS_FILE = 'metrics.csv';
const FORMAT = 'mfnas-train-checkpoint';
const VERSION = '2';
/** The version before `tensors_sha256`: read, with a note. */
const VERSION_UNCHECKED = '1';
const SHA256_KEY = 'tensors_sha256';

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
  const metadata = { format: FORMAT, version: VERSION, state: JSON.stringify(c.state) };
  writeFileAtomic(checkpointPath(runDir), encodeSafetensors(tensors, metadata, { sha256Key: SHA256_KEY }));
}

/** The checkpoint's bytes, or null when there is none (a dangling symlink is a damaged one, not none). */
function readCheckpointFile(file: string): Buffer | null {
  try {
    fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
  }
  return readRegularFileSync(file, { what: 'the checkpoint', hint: 'give the --out folder of mfnas train, whose checkpoint is a regular file' });
}

/**
 * The run's checkpoint, or null when the folder has none. A DataError naming the file when it is
 * not a valid checkpoint: a bad safetensors layout, a state outside its schema, or tensor bytes
 * that do not match the recorded SHA-256.
 */
export function loadCheckpoint(runDir: string): Checkpoint | null {
  const file = checkpointPath(runDir);
  const bytes = readCheckpointFile(file);
  if (bytes === null) return null;
  const { tensors, metadata, dataSha256 } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  const version = metadata.version;
  if (metadata.format !== FORMAT || (version !== VERSION && version !== VERSION_UNCHECKED) || typeof metadata.state !== 'string') {
    throw new DataError(`${quotePath(file)} is not an mfnas training checkpoint (version ${VERSION}); train again into a new --out folder`);
  }
  if (version === VERSION_UNCHECKED) {
    process.stderr.write(`mfnas: note: ${quotePath(file)} was written before checkpoints recorded a checksum; its weights are read unverified (the next save adds one)\n`);
  } else if (metadata[SHA256_KEY] !== dataSha256) {
    throw new DataError(`${quotePath(file)} is damaged: its tensor data does not match the SHA-256 it records; restore it from a backup or train again into a new --out`);
  }
  const state = parseCheckpointState(metadata.state, file);
  const params: NetworkParams = new Map();
  const momentum = new Map<string, Float32Array>();
  for (const [key, t] of tensors) {
    if (key.startsWith('param/')) params.set(key.slice(6), { shape: t.shape, data: t.data });
    else if (key.startsWith('momentum/')) momentum.set(key.slice(9), t.data);
  }
  return { state, params, momentum };
}

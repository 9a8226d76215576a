/**
 * The schema of a checkpoint's training state (`CheckpointState`, checkpoint.ts), checked whole
 * when a checkpoint is read: the state decides which epoch and step training continues from,
 * which network export builds and what labels a model carries, so a damaged or edited value
 * must stop the command with one line instead of training on from "epoch −4" or crashing in
 * the middle of a run.
 */
import { DATASETS, type DatasetName, type FolderDataset } from '../datasets/registry.js';
import type { Preprocess } from '../networks/trained.js';
import { isSpaceName, spaceNames } from '../spaces/index.js';
import type { SpaceName } from '../spaces/types.js';
import { DataError, quotePath } from '../util/errors.js';
import type { CheckpointState, EpochMetrics, RunSettings } from './checkpoint.js';
import { batchesPerEpoch } from './data.js';
import { isRecipeName, RECIPE_NAMES } from './recipe.js';

/** Bounds of the run settings, shared by the options of `train` (run.ts) and this schema. */
export const SETTING_LIMITS = {
  epochs: { min: 1, max: 100_000 },
  batch: { min: 2, max: 65_536 },
  seed: { min: 0, max: 2 ** 32 - 1 },
} as const;

/** Longest architecture string (the `--arch` flag's limit). */
const MAX_ARCH = 200;
const MAX_TEXT = 4096;

/** A schema violation: where in the state, and what is wrong there. */
class Invalid extends Error {}

type Obj = Record<string, unknown>;

function fail(where: string, what: string): never {
  throw new Invalid(`${where} ${what}`);
}

function object(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'is not an object');
  return v as Obj;
}

function int(v: unknown, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(where, `must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`);
  }
  return v;
}

function num(v: unknown, where: string, { min = -Infinity, max = Infinity, above = false } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (above && v === min)) {
    fail(where, `must be a number${min > -Infinity ? ` ${above ? 'above' : 'from'} ${min}` : ''}${max < Infinity ? `${above ? ' and up' : ''} to ${max}` : ''}`);
  }
  return v;
}

/** A loss: JSON writes a diverged run's NaN as null, and such a run is still a run. */
function loss(v: unknown, where: string): number | null {
  return v === null ? null : num(v, where, { min: 0 });
}

function text(v: unknown, where: string, max = MAX_TEXT): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(where, `must be a text of 1 to ${max} characters`);
  return v;
}

function sha256(v: unknown, where: string): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) fail(where, 'must be a SHA-256 in hex');
  return v;
}

function triple(v: unknown, where: string, positive: boolean): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3) fail(where, 'must be a list of 3 numbers');
  return (v as unknown[]).map((x, i) => num(x, `${where}[${i}]`, positive ? { min: 0, above: true } : {})) as [number, number, number];
}

function strings(v: unknown, where: string, length: number): string[] {
  if (!Array.isArray(v) || v.length !== length) fail(where, `must be a list of ${length} names`);
  return (v as unknown[]).map((x, i) => text(x, `${where}[${i}]`));
}

function settingsOf(v: unknown): RunSettings {
  const s = object(v, 'settings');
  if (typeof s.space !== 'string' || !isSpaceName(s.space)) fail('settings.space', `must be one of ${spaceNames().join(', ')}`);
  const lim = SETTING_LIMITS;
  return {
    space: s.space as SpaceName,
    arch: text(s.arch, 'settings.arch', MAX_ARCH),
    dataset: text(s.dataset, 'settings.dataset'),
    // Checkpoints written before recipes had names were all trained with NATS-Bench's.
    recipe: s.recipe === undefined ? 'nats-bench' : isRecipeName(s.recipe) ? s.recipe : fail('settings.recipe', `must be one of ${RECIPE_NAMES.join(', ')}`),
    epochs: int(s.epochs, 'settings.epochs', lim.epochs.min, lim.epochs.max),
    batch: int(s.batch, 'settings.batch', lim.batch.min, lim.batch.max),
    lr: num(s.lr, 'settings.lr', { min: 0, above: true }),
    momentum: num(s.momentum, 'settings.momentum', { min: 0 }) < 1 ? (s.momentum as number) : fail('settings.momentum', 'must be below 1'),
    weightDecay: num(s.weightDecay, 'settings.weightDecay', { min: 0 }),
    seed: int(s.seed, 'settings.seed', lim.seed.min, lim.seed.max),
    trainImages: int(s.trainImages, 'settings.trainImages', 1),
    testImages: int(s.testImages, 'settings.testImages', 0),
  };
}

function folderOf(d: Obj): FolderDataset {
  const classes = int(d.classes, 'datasetRef.classes', 1, 1_000_000);
  const resolution = int(d.resolution, 'datasetRef.resolution', 8, 4096);
  const counts = object(d.counts, 'datasetRef.counts');
  if (d.imageSize !== resolution) fail('datasetRef.imageSize', 'must equal datasetRef.resolution');
  if (!Array.isArray(d.skippedExamples)) fail('datasetRef.skippedExamples', 'is not a list');
  // Fields this schema does not know (a newer folder format) are kept as they are.
  return {
    ...(d as unknown as FolderDataset),
    kind: 'folder',
    name: text(d.name, 'datasetRef.name'),
    dir: text(d.dir, 'datasetRef.dir'),
    classes, resolution, imageSize: resolution,
    cropPadding: int(d.cropPadding, 'datasetRef.cropPadding', 0, resolution),
    mean: triple(d.mean, 'datasetRef.mean', false),
    std: triple(d.std, 'datasetRef.std', true),
    classNames: strings(d.classNames, 'datasetRef.classNames', classes),
    fingerprint: sha256(d.fingerprint, 'datasetRef.fingerprint'),
    cacheFile: text(d.cacheFile, 'datasetRef.cacheFile'),
    counts: { train: int(counts.train, 'datasetRef.counts.train', 1), test: counts.test === null ? null : int(counts.test, 'datasetRef.counts.test', 0) },
    skipped: int(d.skipped, 'datasetRef.skipped', 0),
    skippedExamples: (d.skippedExamples as unknown[]).map((x, i) => text(x, `datasetRef.skippedExamples[${i}]`)),
  };
}

/** The dataset the network was built for, and the classes and resolution it implies. */
function datasetOf(v: unknown, settings: RunSettings): { ref: DatasetName | FolderDataset; classes: number; resolution: number } {
  if (typeof v === 'string') {
    if (!Object.hasOwn(DATASETS, v)) fail('datasetRef', `must be one of ${Object.keys(DATASETS).join(', ')} or an image folder`);
    const info = DATASETS[v as DatasetName];
    if (settings.dataset !== info.name) fail('settings.dataset', 'differs from datasetRef');
    return { ref: info.name, classes: info.classes, resolution: info.resolution };
  }
  const d = object(v, 'datasetRef');
  if (d.kind !== 'folder') fail('datasetRef.kind', 'must be "folder"');
  const folder = folderOf(d);
  if (settings.dataset !== folder.dir) fail('settings.dataset', 'differs from datasetRef.dir');
  return { ref: folder, classes: folder.classes, resolution: folder.resolution };
}

function metricsOf(v: unknown, epochs: number, hasTest: boolean): EpochMetrics[] {
  if (!Array.isArray(v) || v.length !== epochs) fail('metrics', `must be a list of ${epochs} rows (one per completed epoch)`);
  return (v as unknown[]).map((r, i) => {
    const row = object(r, `metrics[${i}]`);
    const where = (k: string) => `metrics[${i}].${k}`;
    if (row.epoch !== i + 1) fail(where('epoch'), `must be ${i + 1}`);
    const accuracy = (x: unknown, k: string) => num(x, where(k), { min: 0, max: 100 });
    const testAcc = hasTest ? accuracy(row.test_acc, 'test_acc') : row.test_acc === null ? null : fail(where('test_acc'), 'must be null without a test split');
    return {
      epoch: i + 1,
      lr: num(row.lr, where('lr'), { min: 0 }),
      train_loss: loss(row.train_loss, where('train_loss')) as number,
      train_acc: accuracy(row.train_acc, 'train_acc'),
      test_loss: hasTest ? loss(row.test_loss, where('test_loss')) : row.test_loss === null ? null : fail(where('test_loss'), 'must be null without a test split'),
      test_acc: testAcc,
      seconds: num(row.seconds, where('seconds'), { min: 0 }),
    };
  });
}

function preprocessOf(v: unknown, resolution: number): Preprocess {
  const p = object(v, 'preprocess');
  if (p.imageSize !== resolution) fail('preprocess.imageSize', `must be the dataset's resolution, ${resolution}`);
  if (p.channelOrder !== 'RGB') fail('preprocess.channelOrder', 'must be "RGB"');
  return { imageSize: resolution, channelOrder: 'RGB', mean: triple(p.mean, 'preprocess.mean', false), std: triple(p.std, 'preprocess.std', true) };
}

/** The state, its fields in the ranges a run can reach; an `Invalid` naming the first field that is not. */
function stateOf(v: unknown): CheckpointState {
  const s = object(v, 'the state');
  const settings = settingsOf(s.settings);
  const stepsPerEpoch = batchesPerEpoch(settings.trainImages, settings.batch);
  const epoch = int(s.epoch, 'epoch', 0, settings.epochs);
  const step = int(s.step, 'step', 0, epoch === settings.epochs ? 0 : stepsPerEpoch - 1);
  // Every step is one optimizer step, so the count follows from where the run stands.
  const sgdSteps = int(s.sgdSteps, 'sgdSteps', 0);
  if (sgdSteps !== epoch * stepsPerEpoch + step) fail('sgdSteps', `must be ${epoch * stepsPerEpoch + step} (epoch ${epoch}, step ${step} of ${stepsPerEpoch})`);
  const partial = object(s.partial, 'partial');
  const seen = int(partial.seen, 'partial.seen', 0, settings.trainImages);
  const hasTest = settings.testImages > 0;
  const fingerprint = object(s.fingerprint, 'fingerprint');
  if (hasTest !== (fingerprint.test !== null)) fail('fingerprint.test', hasTest ? 'must be a SHA-256 for a run with test images' : 'must be null without test images');
  const dataset = datasetOf(s.datasetRef, settings);
  return {
    settings, epoch, step, sgdSteps,
    partial: {
      // JSON holds a diverged run's NaN as null.
      lossSum: partial.lossSum === null ? NaN : num(partial.lossSum, 'partial.lossSum', { min: 0 }),
      correct: int(partial.correct, 'partial.correct', 0, seen),
      seen,
      seconds: num(partial.seconds, 'partial.seconds', { min: 0 }),
    },
    metrics: metricsOf(s.metrics, epoch, hasTest),
    fingerprint: { train: sha256(fingerprint.train, 'fingerprint.train'), test: hasTest ? sha256(fingerprint.test, 'fingerprint.test') : null },
    datasetRef: dataset.ref,
    labels: strings(s.labels, 'labels', dataset.classes),
    preprocess: preprocessOf(s.preprocess, dataset.resolution),
    engine: text(s.engine, 'engine', 200),
  };
}

/**
 * The training state recorded in the checkpoint `file` (its JSON text), checked against the
 * schema; a DataError naming the file and the first bad field otherwise.
 */
export function parseCheckpointState(json: string, file: string): CheckpointState {
  const damaged = (why: string) => new DataError(`${quotePath(file)} has a damaged training state (${why}); restore it from a backup or train again into a new --out`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw damaged('not JSON');
  }
  try {
    return stateOf(raw);
  } catch (e) {
    if (e instanceof Invalid) throw damaged(e.message);
    throw e;
  }
}

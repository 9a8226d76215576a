/**
 * The training loop behind `mfnas train` and the library's `train()`: NATS-Bench's recipe
 * (recipe.ts) on one architecture, a metrics row and an atomic checkpoint after every epoch,
 * exact resumption, and a clean stop on request (an AbortSignal: the CLI aborts on Ctrl-C).
 *
 * Determinism: the weights start from `initNetwork(spec, seed)`; epoch e visits the images in an
 * order drawn from (seed, e) and augments batch b from (seed, e, b) (data.ts); the optimizer and
 * the running statistics are plain float32 arithmetic in JS; the native engine's kernels give
 * the same bits whatever the thread count. Hence a run stopped at any step and resumed ends with
 * the same bytes as one never stopped (on the same engine and CPU).
 */
import { EngineMemoryError } from '../engine/wasm/heap.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  builtinName, datasetInfo, datasetLabel, datasetRef, isFolderDataset, type DatasetName, type DatasetRef, type FolderDataset,
} from '../datasets/registry.js';
import { classNames } from '../datasets/classNames.js';
import { resolveDatasetRef } from '../datasets/resolve.js';
import { loadImageSet, type ImageSet } from '../datasets/imageSet.js';
import { activeBackend, engineKey, initEngine, nativeOrNotice } from '../engine/backend.js';
import { initNetwork, type NetworkParams } from '../networks/init.js';
import { buildNetworkSpec } from '../spaces/network.js';
import type { NetworkSpec } from '../networks/spec.js';
import type { Preprocess, TrainedNetwork } from '../networks/trained.js';
import { describeArchitecture } from '../report/archInfo.js';
import { openDefaultNatsBenchTables } from '../natsbench/tables.js';
import { exportModel } from '../export/index.js';
import { parseSpaceName, spaceByName } from '../spaces/index.js';
import type { SpaceName } from '../spaces/types.js';
import { checkOutputDir, writeFileAtomic } from '../util/atomicWrite.js';
import { toCsv } from '../util/csv.js';
import { clipAtWord, DataError, escapeUnprintable, InputError, MfnasError, quoteInput, quotePath } from '../util/errors.js';
import {
  CHECKPOINT_FILE, checkpointPath, loadCheckpoint, METRICS_COLUMNS, METRICS_FILE, saveCheckpoint,
  type Checkpoint, type CheckpointState, type EpochMetrics, type RunSettings,
} from './checkpoint.js';
import { batchesPerEpoch, epochOrder, imageFingerprint, plainBatch, trainBatch, type ImageFormat } from './data.js';
import { recipeByName, recipeLearningRate, type RecipeName } from './recipe.js';
import { sgdStep } from './sgd.js';
import { SETTING_LIMITS } from './state.js';
import { addRunningStats, evaluate, trainableNames, trainStep } from './step.js';

export interface TrainOptions {
  /** Run folder: metrics.csv, checkpoint.safetensors and the exported model go here. */
  readonly out: string;
  /** A TSS cell string, SSS channels or a NATS-Bench index. Optional with `resume`. */
  readonly arch?: string | number;
  /** 'tss' (default) or 'sss'. */
  readonly space?: SpaceName | string;
  /** 'cifar10' (default), 'cifar100', 'ImageNet16-120', or an image folder (its path, or the value of `resolveDataset`). */
  readonly dataset?: DatasetRef | string;
  /**
   * The training recipe (src/train/recipe.ts: optimizer, schedule and the defaults below);
   * default the space's benchmark's: 'nats-bench' for TSS and SSS, 'nas-bench-macro' for macro.
   */
  readonly recipe?: RecipeName | string;
  /** Default the recipe's (200 for NATS-Bench's TSS schedule, 50 for NAS-Bench-Macro's); the cosine runs over exactly these. */
  readonly epochs?: number;
  /** Images per step, default the recipe's (256). */
  readonly batch?: number;
  /** Initial learning rate, default the recipe's (0.1). */
  readonly lr?: number;
  /** Default the recipe's (0.9; Nesterov or plain as the recipe says). */
  readonly momentum?: number;
  /** Default the recipe's (5e-4), on every parameter. */
  readonly weightDecay?: number;
  /** Seed of weights, shuffle and augmentation, default 0. */
  readonly seed?: number;
  /** Train on the first N training images only (default all). */
  readonly limit?: number;
  /** Evaluate on the first N test images only (default all). Refused for a folder without test/, which trains without evaluation. */
  readonly testLimit?: number;
  /** Continue the run in `out` from its checkpoint. Settings left out are taken from it; given ones must match. */
  readonly resume?: boolean;
  /**
   * Threads of the native kernels (the batch's 32-image chunks run in parallel); default
   * MFNAS_THREADS, else one per core. Changes speed, never results. Other engines run one thread.
   */
  readonly workers?: number;
  /** Data folder (default MFNAS_DATA_DIR, else ../shared/data). */
  readonly dataDir?: string;
  /**
   * An image folder: skip unreadable, corrupt and non-image files instead of failing (counted in
   * `onStart`'s `skipped`). With `resume`, defaults to what the run started with.
   */
  readonly skipBad?: boolean;
  /** Stop cleanly: the current step finishes, a checkpoint is saved and `train` resolves with `interrupted`. */
  readonly signal?: AbortSignal;
  /**
   * Once, before the first step this call runs (`step` = completed steps of the run;
   * `testImages` = images evaluated after each epoch, 0 for a folder without a test split).
   */
  readonly onStart?: (p: StartInfo) => void;
  /** After every step. */
  readonly onStep?: (p: StepProgress) => void;
  /** After every epoch's evaluation and checkpoint (test_loss / test_acc null without a test split). */
  readonly onEpoch?: (row: EpochMetrics, timing: { trainSeconds: number; evalSeconds: number }) => void;
}

export interface StartInfo {
  /** Completed steps of the run. */
  readonly step: number;
  readonly totalSteps: number;
  /** Images evaluated after each epoch; 0 for a folder without a test split. */
  readonly testImages: number;
  /** An image folder's bad files skipped with `skipBad` (0 otherwise), and the first few of them with the reason. */
  readonly skipped: number;
  readonly skippedExamples: readonly string[];
}

export interface StepProgress {
  /** 0-based epoch and step within it. */
  readonly epoch: number;
  readonly step: number;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** Mean loss and accuracy (%) of the epoch so far. */
  readonly loss: number;
  readonly accuracy: number;
  readonly lr: number;
}

export interface TrainResult {
  readonly out: string;
  readonly space: SpaceName;
  readonly dataset: string;
  readonly arch: string;
  /** NATS-Bench index, when known. */
  readonly index: number | null;
  readonly settings: RunSettings;
  /** Completed epochs (= settings.epochs unless interrupted). */
  readonly epochsDone: number;
  /** Completed steps of the next epoch (nonzero only when interrupted mid-epoch). */
  readonly step: number;
  /** Steps of every epoch. */
  readonly stepsPerEpoch: number;
  /** True when stopped by the signal; the checkpoint holds the last completed step. */
  readonly interrupted: boolean;
  /** The last epoch's metrics (null before the first epoch ends). */
  readonly final: EpochMetrics | null;
  readonly metrics: readonly EpochMetrics[];
  /** The benchmark's test accuracy of this architecture (%, NATS-Bench's full recipe), when a table exists. */
  readonly benchmarkAccuracy: number | null;
  readonly checkpoint: string;
  /** The model files written into `out` when the run finished (exportModel: TF.js model, ONNX, labels, preprocess). */
  readonly exported: readonly string[];
  /** Seconds spent in this call. */
  readonly seconds: number;
}

/** Thrown by the CLI after a clean stop: exit code 130, as a shell reports Ctrl-C. */
export class TrainingInterrupted extends MfnasError {
  override readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = 'TrainingInterrupted';
  }
}

function intSetting(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InputError(`${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${quoteInput(String(v))}`);
  }
  return v;
}

function numberSetting(v: unknown, name: string, { positive = false } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    throw new InputError(`${name} must be a ${positive ? 'positive' : 'non-negative'} number, got ${quoteInput(String(v))}`);
  }
  return v;
}

const SETTING_FLAGS: Record<keyof RunSettings, string> = {
  space: '--space', arch: '--arch', dataset: '--dataset', recipe: '--recipe', epochs: '--epochs', batch: '--batch', lr: '--lr',
  momentum: '--momentum', weightDecay: '--weight-decay', seed: '--seed', trainImages: '--limit', testImages: '--test-limit',
};

/** Which of the run's files exist in `dir`. */
function runFiles(dir: string): string[] {
  return [CHECKPOINT_FILE, METRICS_FILE].filter((f) => fs.existsSync(path.join(dir, f)));
}

interface Prepared {
  settings: RunSettings;
  spec: NetworkSpec;
  index: number | null;
  benchmarkAccuracy: number | null;
  train: ImageSet;
  /** Null for a folder dataset without test/: the run trains without evaluation. */
  test: ImageSet | null;
  format: ImageFormat;
  labels: string[];
  datasetRef: DatasetName | FolderDataset;
  skipped: number;
  skippedExamples: readonly string[];
}

async function prepare(o: TrainOptions, previous: CheckpointState | null): Promise<Prepared> {
  const given = <T>(v: T | undefined, fallback: T): T => (v !== undefined ? v : fallback);
  const p = previous?.settings ?? null;
  const space = parseSpaceName(String(given(o.space, p?.space ?? 'tss')));
  const skippedBefore = previous !== null && isFolderDataset(previous.datasetRef) && previous.datasetRef.skipped > 0;
  const dataset = await resolveDatasetRef(given<DatasetRef | string>(o.dataset, p?.dataset ?? 'cifar10'), { skipBad: given(o.skipBad, skippedBefore) });
  const builtin = builtinName(dataset);
  const archGiven = o.arch !== undefined ? String(o.arch) : p?.arch;
  if (archGiven === undefined) throw new InputError('no architecture: give --arch (a TSS cell string, SSS channels or a NATS-Bench index)');
  // The architecture (and its index) does not depend on the dataset; the benchmark accuracy
  // exists for the NATS-Bench datasets only.
  const described = describeArchitecture({ space, dataset: builtin ?? 'cifar10', arch: archGiven, benchmark: openDefaultNatsBenchTables(o.dataDir) });
  const train = loadImageSet(dataset, { split: 'train', dataDir: o.dataDir });
  // A builtin always has its test split; a folder may hold train/ only, and then the run
  // trains without evaluation (settings.testImages 0, empty test columns).
  const test = isFolderDataset(dataset) && dataset.counts.test === null ? null : loadImageSet(dataset, { split: 'test', dataDir: o.dataDir });
  if (!test && o.testLimit !== undefined) {
    throw new InputError(`--test-limit ${o.testLimit}: ${quotePath(datasetLabel(dataset))} has no test/ folder to evaluate on; leave --test-limit out, or add DIR/test/<class>/ images`);
  }
  if (p && (p.testImages === 0) !== (test === null)) {
    throw new DataError(
      `${quotePath(datasetLabel(dataset))} ${test ? 'now has' : 'no longer has'} a test/ folder, unlike when the run in ${quotePath(path.resolve(o.out))} started; ` +
        `restore the folder as it was, or train into a new --out folder`,
    );
  }
  const trainImages = intSetting(given(o.limit, p?.trainImages ?? train.n), 'limit (training images)', 1);
  const testImages = test ? intSetting(given(o.testLimit, p?.testImages ?? test.n), 'test limit (test images)', 1) : 0;
  if (trainImages > train.n) throw new InputError(`--limit ${trainImages} is more than the ${train.n} training images of ${datasetLabel(dataset)}; lower it`);
  if (test && testImages > test.n) throw new InputError(`--test-limit ${testImages} is more than the ${test.n} test images of ${datasetLabel(dataset)}; lower it`);
  const recipe = recipeByName(String(given<string>(o.recipe, p?.recipe ?? spaceByName(space).trainingRecipe)));
  const d = recipe.defaults;
  const settings: RunSettings = {
    space, arch: described.arch, dataset: datasetLabel(dataset), recipe: recipe.name,
    epochs: intSetting(given(o.epochs, p?.epochs ?? d.epochs), 'epochs', SETTING_LIMITS.epochs.min, SETTING_LIMITS.epochs.max),
    batch: intSetting(given(o.batch, p?.batch ?? d.batch), 'batch', SETTING_LIMITS.batch.min, SETTING_LIMITS.batch.max),
    lr: numberSetting(given(o.lr, p?.lr ?? d.lr), 'lr', { positive: true }),
    momentum: numberSetting(given(o.momentum, p?.momentum ?? d.momentum), 'momentum'),
    weightDecay: numberSetting(given(o.weightDecay, p?.weightDecay ?? d.weightDecay), 'weight decay'),
    seed: intSetting(given(o.seed, p?.seed ?? d.seed), 'seed', SETTING_LIMITS.seed.min, SETTING_LIMITS.seed.max),
    trainImages, testImages,
  };
  if (settings.momentum >= 1) throw new InputError(`momentum must be below 1, got ${settings.momentum}`);
  if (p) {
    for (const key of Object.keys(SETTING_FLAGS) as Array<keyof RunSettings>) {
      if (settings[key] !== p[key]) {
        const [now, then] = quoteDifference(String(settings[key]), String(p[key]));
        throw new InputError(
          `${SETTING_FLAGS[key]} ${now} differs from the run being resumed (${then}); leave it out to continue that run, or train into a new --out folder`,
        );
      }
    }
  }
  const info = datasetInfo(dataset);
  const format: ImageFormat = { resolution: info.resolution, cropPadding: info.cropPadding, mean: info.mean, std: info.std };
  const spec = buildNetworkSpec(space, described.arch, dataset);
  const labels = classNames(dataset, { dataDir: o.dataDir });
  return {
    settings, spec, index: described.index, benchmarkAccuracy: builtin ? described.accuracy : null, train, test, format, labels,
    datasetRef: datasetRef(dataset),
    skipped: isFolderDataset(dataset) ? dataset.skipped : 0, skippedExamples: isFolderDataset(dataset) ? dataset.skippedExamples : [],
  };
}

/**
 * Two long values (e.g. TSS cell strings) that differ, quoted for a message: around their first
 * differing character, so both do not show the same prefix cut off before the difference.
 */
export function quoteDifference(a: string, b: string, max = 40): [string, string] {
  if (a.length <= max && b.length <= max) return [quoteInput(a), quoteInput(b)];
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  const start = Math.max(0, at - Math.floor(max / 4));
  const part = (v: string) => {
    const window = v.slice(start, start + max);
    const quoted = escapeUnprintable(JSON.stringify(window));
    return `${start > 0 ? '…' : ''}${quoted}${start + max < v.length ? '…' : ''}`;
  };
  const where = at === 0 ? '' : ` (from character ${at + 1})`;
  return [`${part(a)}${where}`, part(b)];
}

function preprocessOf(format: ImageFormat): Preprocess {
  return {
    imageSize: format.resolution, channelOrder: 'RGB',
    mean: format.mean.map((m) => m / 255) as unknown as Preprocess['mean'],
    std: format.std.map((s) => s / 255) as unknown as Preprocess['std'],
  };
}

function writeMetrics(out: string, rows: readonly EpochMetrics[]): void {
  writeFileAtomic(path.join(out, METRICS_FILE), toCsv([[...METRICS_COLUMNS], ...rows.map((r) => METRICS_COLUMNS.map((c) => r[c]))]));
}

function setThreads(workers: number | undefined): void {
  if (activeBackend() !== 'native') return;
  const kernels = nativeOrNotice();
  if (!kernels) return;
  const env = Number(process.env.MFNAS_THREADS);
  const n = workers ?? (Number.isInteger(env) && env > 0 ? env : os.availableParallelism());
  kernels.setThreads(n);
}

/**
 * The wasm heap that holds every tensor is 32-bit (4 GB): a large network at a large batch can
 * exhaust it (the engine then throws EngineMemoryError naming the batch). Other allocator
 * failures that escape as a kernel error or a wasm abort are said as what they are, with the way out.
 */
export function stepOrExplain<T>(step: () => T, batch: number): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof EngineMemoryError) throw e;
    const message = (e as Error)?.message ?? String(e);
    if (/overlaps an input|Aborted\(|out of memory|Cannot enlarge memory|Array buffer allocation failed/i.test(message)) {
      throw new InputError(`a training step at --batch ${batch} does not fit the engine's 4 GB tensor memory with this network (${clipAtWord(message, 60)}); ` +
        `use a smaller --batch, e.g. ${Math.max(2, Math.floor(batch / 2))} (--resume continues with the same batch, so start a new --out)`);
    }
    throw e;
  }
}

/**
 * Trains one architecture with NATS-Bench's recipe (see recipe.ts) and writes `out/metrics.csv`
 * and `out/checkpoint.safetensors` after every epoch. With `resume`, continues the run in `out`
 * exactly where its checkpoint stopped.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  if (!options || typeof options.out !== 'string' || options.out.length === 0) throw new InputError('no run folder: give --out RUN');
  const out = path.resolve(options.out);
  checkOutputDir(out, '--out', [CHECKPOINT_FILE, METRICS_FILE]);
  if (options.workers !== undefined) intSetting(options.workers, 'workers', 1, 1024);
  const existing = fs.existsSync(out) ? runFiles(out) : [];
  let checkpoint: Checkpoint | null = null;
  if (options.resume) {
    checkpoint = loadCheckpoint(out);
    if (!checkpoint) throw new InputError(`nothing to resume: ${quotePath(out)} has no ${CHECKPOINT_FILE}; start the run without --resume`);
  } else if (existing.length > 0) {
    throw new InputError(`${quotePath(out)} already holds a training run (${existing.join(', ')}); add --resume to continue it, or choose another --out`);
  }
  const prep = await prepare(options, checkpoint?.state ?? null);
  const { settings, spec, train: trainSet, test: testSet, format } = prep;
  const fingerprint = { train: imageFingerprint(trainSet, settings.trainImages), test: testSet ? imageFingerprint(testSet, settings.testImages) : null };
  if (checkpoint) {
    for (const split of ['train', 'test'] as const) {
      if (checkpoint.state.fingerprint[split] !== fingerprint[split]) {
        throw new DataError(`the ${split} images differ from those the run in ${quotePath(out)} started with; resume with the same --data-dir, or train into a new --out folder`);
      }
    }
  }
  await initEngine();
  setThreads(options.workers);
  const engine = engineKey(activeBackend());
  if (checkpoint && checkpoint.state.engine !== engine) {
    process.stderr.write(`mfnas: note: the run started on engine ${checkpoint.state.engine} and continues on ${engine}; its weights will not be bit-identical to an uninterrupted run\n`);
  }

  const names = trainableNames(spec);
  let params: NetworkParams;
  let momentum: Map<string, Float32Array>;
  let state: CheckpointState;
  if (checkpoint) {
    params = checkpoint.params;
    momentum = checkpoint.momentum;
    state = { ...checkpoint.state, settings };
    const expected = initNetwork(spec, settings.seed);
    addRunningStats(spec, expected);
    for (const [name, p] of expected) {
      const got = params.get(name);
      if (!got || got.data.length !== p.data.length || (names.includes(name) && momentum.get(name)?.length !== p.data.length)) {
        throw new DataError(`${quotePath(checkpointPath(out))} does not hold parameter ${name} of this network; the checkpoint is damaged: train again into a new --out folder`);
      }
    }
  } else {
    params = initNetwork(spec, settings.seed);
    addRunningStats(spec, params);
    momentum = new Map(names.map((n) => [n, new Float32Array(params.get(n)!.data.length)]));
    state = {
      settings, epoch: 0, step: 0, sgdSteps: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 }, metrics: [],
      fingerprint, datasetRef: prep.datasetRef, labels: prep.labels, preprocess: preprocessOf(format), engine,
    };
    // The write creates the folder, and removes it again if the write fails: a failed start
    // leaves no empty run folder behind.
    saveCheckpoint(out, { state, params, momentum });
  }
  // metrics.csv follows the checkpoint (the one source of truth): rewritten here, it drops a
  // row that a kill between the two writes may have left without its checkpoint.
  writeMetrics(out, state.metrics);

  const stepsPerEpoch = batchesPerEpoch(settings.trainImages, settings.batch);
  const evalBatch = Math.min(settings.batch, 256);
  const recipe = recipeByName(settings.recipe);
  const signal = options.signal;
  let interrupted = false;
  let exported: readonly string[] = [];
  const result = (): TrainResult => ({
    out, space: settings.space, dataset: settings.dataset, arch: settings.arch, index: prep.index, settings,
    epochsDone: state.epoch, step: state.step, stepsPerEpoch, interrupted, final: state.metrics.at(-1) ?? null, metrics: state.metrics,
    benchmarkAccuracy: prep.benchmarkAccuracy, checkpoint: checkpointPath(out), exported, seconds: (performance.now() - t0) / 1000,
  });

  options.onStart?.({
    step: state.epoch * stepsPerEpoch + state.step, totalSteps: settings.epochs * stepsPerEpoch, testImages: settings.testImages,
    skipped: prep.skipped, skippedExamples: prep.skippedExamples,
  });
  while (state.epoch < settings.epochs) {
    const epoch = state.epoch;
    const lr = recipeLearningRate(recipe, settings.lr, epoch, settings.epochs);
    const order = epochOrder(settings.seed, epoch, settings.trainImages);
    let { lossSum, correct, seen, seconds } = state.partial;
    let sgdSteps = state.sgdSteps;
    for (let b = state.step; b < stepsPerEpoch; b++) {
      const s0 = performance.now();
      const batch = trainBatch(trainSet, format, order.subarray(0, settings.trainImages), settings.seed, epoch, b, settings.batch);
      const r = stepOrExplain(() => trainStep(spec, params, batch.x, batch.labels), settings.batch);
      const sgd = { lr, momentum: settings.momentum, weightDecay: settings.weightDecay, nesterov: recipe.nesterov };
      for (const name of names) sgdStep(params.get(name)!.data, r.grads.get(name)!, momentum.get(name)!, sgd, sgdSteps === 0);
      sgdSteps++;
      lossSum += r.loss * batch.labels.length;
      correct += r.correct;
      seen += batch.labels.length;
      seconds += (performance.now() - s0) / 1000;
      options.onStep?.({ epoch, step: b, epochs: settings.epochs, stepsPerEpoch, loss: lossSum / seen, accuracy: (100 * correct) / seen, lr });
      // Let a signal handler run between steps (the steps themselves are synchronous).
      await yieldToEventLoop();
      if (signal?.aborted && b + 1 < stepsPerEpoch) {
        state = { ...state, step: b + 1, sgdSteps, partial: { lossSum, correct, seen, seconds } };
        saveCheckpoint(out, { state, params, momentum });
        interrupted = true;
        return result();
      }
    }
    const trainSeconds = seconds;
    const e0 = performance.now();
    const ev = testSet ? evaluate(spec, params, settings.testImages, evalBatch, (start, count) => plainBatch(testSet, format, start, count)) : null;
    const evalSeconds = (performance.now() - e0) / 1000;
    const row: EpochMetrics = {
      epoch: epoch + 1, lr, train_loss: lossSum / seen, train_acc: (100 * correct) / seen,
      test_loss: ev?.loss ?? null, test_acc: ev?.accuracy ?? null, seconds: trainSeconds + evalSeconds,
    };
    state = {
      ...state, epoch: epoch + 1, step: 0, sgdSteps, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
      metrics: [...state.metrics, row],
    };
    saveCheckpoint(out, { state, params, momentum });
    writeMetrics(out, state.metrics);
    options.onEpoch?.(row, { trainSeconds, evalSeconds });
    if (signal?.aborted && state.epoch < settings.epochs) {
      interrupted = true;
      return result();
    }
  }
  // Also on a resume of a finished run: a kill between the last checkpoint and the export
  // leaves a run whose model files are missing or stale. An interrupted run returned above
  // without exporting, as `export` refuses such a run without --allow-partial.
  exported = (await exportModel(trainedNetworkOf({ state, params, momentum }, checkpointPath(out)), out)).files;
  return result();
}

/** A run folder's trained network and how far its training went. */
export interface TrainedRun {
  readonly network: TrainedNetwork;
  /** Completed epochs, of `epochs`. */
  readonly epochsDone: number;
  readonly epochs: number;
  /** Completed steps of the next epoch (nonzero when interrupted mid-epoch). */
  readonly step: number;
  readonly stepsPerEpoch: number;
  /** True when training stopped before its last epoch ended. */
  readonly partial: boolean;
}

export interface LoadTrainedOptions {
  /** Accept an interrupted run (its weights as they were at the stop); refused by default. */
  readonly allowPartial?: boolean;
}

/** Where an interrupted run stopped, in words: "after step 3 of 8 in epoch 2 of 10", "after epoch 4 of 10". */
export function stoppedAt(r: { readonly epochsDone: number; readonly step: number; readonly stepsPerEpoch: number; readonly epochs: number }): string {
  return r.step > 0
    ? `after step ${r.step} of ${r.stepsPerEpoch} in epoch ${r.epochsDone + 1} of ${r.epochs}`
    : `after epoch ${r.epochsDone} of ${r.epochs}`;
}

/** The network of a checkpoint (`file` names it in errors), its parameters checked against the structure its state describes. */
function trainedNetworkOf(c: Checkpoint, file: string): TrainedNetwork {
  const s = c.state.settings;
  let spec: NetworkSpec;
  try {
    // Built from the stored dataset value, so a run exports without its training images.
    spec = buildNetworkSpec(s.space, s.arch, c.state.datasetRef);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new DataError(`${quotePath(file)} records an architecture that is not valid (${quoteInput(s.arch)}); the checkpoint is damaged`);
  }
  const expected = initNetwork(spec, 0);
  addRunningStats(spec, expected);
  const params: NetworkParams = new Map();
  for (const [name, p] of expected) {
    const got = c.params.get(name);
    if (!got || got.data.length !== p.data.length) {
      throw new DataError(`${quotePath(file)} does not hold parameter ${name} of its network; the checkpoint is damaged`);
    }
    params.set(name, { shape: p.shape, data: got.data });
  }
  return { spec, params, labels: c.state.labels, preprocess: c.state.preprocess };
}

/**
 * A run folder's trained network (its latest checkpoint) with how far training went. An
 * interrupted run is an InputError unless `allowPartial`: exporting it silently would ship a
 * half-trained model.
 */
export async function loadTrainedRun(runDir: string, options: LoadTrainedOptions = {}): Promise<TrainedRun> {
  const dir = path.resolve(runDir);
  const c = loadCheckpoint(dir);
  if (!c) throw new InputError(`${quotePath(dir)} holds no training run (no ${CHECKPOINT_FILE}); give the --out folder of mfnas train`);
  const { epoch, step, settings } = c.state;
  const progress = { epochsDone: epoch, epochs: settings.epochs, step, stepsPerEpoch: batchesPerEpoch(settings.trainImages, settings.batch) };
  const partial = epoch < settings.epochs || step > 0;
  if (partial && !options.allowPartial) {
    throw new InputError(`${quotePath(dir)} holds an interrupted run (stopped ${stoppedAt(progress)}); ` +
      `finish it with mfnas train --out DIR --resume, or pass --allow-partial to export it as it is`);
  }
  return { network: trainedNetworkOf(c, checkpointPath(dir)), ...progress, partial };
}

/**
 * The trained network of a run folder (its latest checkpoint): structure, every parameter with
 * the BN running statistics, class names and preprocessing. `mfnas export --run RUN` reads it.
 * An interrupted run is refused unless `allowPartial` (see `loadTrainedRun`).
 */
export async function loadTrainedNetwork(runDir: string, options: LoadTrainedOptions = {}): Promise<TrainedNetwork> {
  return (await loadTrainedRun(runDir, options)).network;
}

/**
 * The library's entry points: what `import { … } from 'mfnas'` offers and what the CLI calls.
 * Each function takes one plain options object, validates it (bad values throw `InputError`,
 * missing or damaged files `DataError`, both with a one-line message saying what to do), starts
 * the tensor engine by itself when needed and releases its workers before it resolves, so a
 * script exits on its own.
 */
import { openDefaultNatsBenchTables, type NatsBenchTables } from '../natsbench/tables.js';
import { statSync } from 'node:fs';
import { DATASET_NAMES, parseDatasetName, type Dataset, type DatasetName } from '../datasets/registry.js';
import { resolveDataset } from '../datasets/resolve.js';
import type { NetworkSpec } from '../networks/index.js';
import { DEFAULT_PROXIES, parseProxyList, parseScoreSpec, scoreName, splitProxyItems, type ProxyName } from '../proxies/registry.js';
import type { ProxyScores } from '../proxies/scoreNetwork.js';
import { openScoringSession, type ScoringSession } from '../scoring/session.js';
import type { ScoreCache } from '../storage/scoreCache.js';
import { describeArchitecture, type ArchInfo } from '../report/archInfo.js';
import { ALGORITHMS, DEFAULT_CONFIRM, parseFidelities, parseScreenInput, runSearch, screenInputOptions, SEARCH_DEFAULTS, type Algorithm, type RunResult } from '../search/run.js';
import { checkSearchNumbers, OPTION_NAMES, screenNumbers } from '../search/settings.js';
import type { StepRecord } from '../search/problem.js';
import { parseArchitecture, parseSpaceName, spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';
import { seedOf } from '../util/bounds.js';
import { InputError, quoteInput } from '../util/errors.js';

/** Options every data-reading call accepts. */
export interface DataOptions {
  /** Data folder (default: MFNAS_DATA_DIR, else ../shared/data beside the working folder). */
  readonly dataDir?: string;
}

/** How `openDataset` (and `score`, `search` given a folder path) opens an image folder. */
export interface ImageFolderInputOptions {
  /** Image folders: images are resized to imageSize x imageSize (default 32; a multiple of 4, 8..512). */
  readonly imageSize?: number;
  /** Image folders: skip unreadable, corrupt and non-image files (counted in `skipped`) instead of throwing. */
  readonly skipBad?: boolean;
  /** Image folders: the decoded-image cache folder (default MFNAS_IMAGE_CACHE, else ~/.cache/mfnas/images). */
  readonly imageCache?: string;
}

/** Proxy-evaluation settings shared by `score` and `search`. */
export interface ProxyInputOptions extends DataOptions, ImageFolderInputOptions {
  /** Images per proxy batch (default 128; ImageNet16-120's sample here needs 53). */
  readonly batch?: number;
  /** Number of proxy batches (default 2). */
  readonly batches?: number;
  /**
   * Score cache: a SQLite file path, an open `ScoreCache`, or `false` for none. Default:
   * MFNAS_CACHE, else ~/.cache/mfnas/scores.sqlite.
   */
  readonly cache?: string | false | ScoreCache;
}

// ---------------------------------------------------------------- NATS-Bench tables

/** The NATS-Bench tables of a data folder, with architecture look-ups. */
export interface NatsBench {
  /** The raw tables (null members where a table is absent). */
  readonly tables: NatsBenchTables | null;
  /**
   * Facts of one architecture — index, string, canonical form, parameters, FLOPs and the
   * benchmark's test accuracy (null without a table) — as `mfnas arch --json` prints them.
   */
  arch(space: SpaceName | string, arch: string | number, dataset?: DatasetName | string): ArchInfo;
}

/** Opens the NATS-Bench tables under `dataDir` (or the default data folder). */
export async function natsBench(options: DataOptions = {}): Promise<NatsBench> {
  const tables = openDefaultNatsBenchTables(options.dataDir);
  return {
    tables,
    arch: (space, arch, dataset = 'cifar10') => describeArchitecture({
      space: parseSpaceName(String(space)), dataset: parseDatasetName(String(dataset)), arch: archText(arch), benchmark: tables,
    }),
  };
}

// ---------------------------------------------------------------- datasets

export type { Dataset, DatasetShape, FolderDataset } from '../datasets/registry.js';

export interface OpenDatasetOptions extends ImageFolderInputOptions {
  /** Called while an image folder is decoded (not when it comes from the cache). */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * A dataset by name (cifar10, cifar100, ImageNet16-120) or an image folder by path
 * (DIR/train/<class>/*.png|jpg|jpeg, optionally DIR/test/<class>/...). A folder is decoded once
 * and cached on disk by content; the value returned (plain data) can be passed as `dataset` to
 * `score`, `search` and `buildNetwork`. Bad folders, files and sizes throw InputError/DataError.
 */
export async function openDataset(nameOrDir: string | Dataset, options: OpenDatasetOptions = {}): Promise<Dataset> {
  if (typeof nameOrDir !== 'string' && (typeof nameOrDir !== 'object' || nameOrDir === null)) {
    throw new InputError(`dataset ${quoteInput(String(nameOrDir))} is neither a dataset name nor a folder path`);
  }
  return resolveDataset(nameOrDir, {
    imageSize: options.imageSize, skipBad: options.skipBad, cacheDir: options.imageCache, onProgress: options.onProgress,
  });
}

function datasetOf(given: DatasetName | string | Dataset | undefined, options: ImageFolderInputOptions): Promise<Dataset> {
  return openDataset(given ?? 'cifar10', options);
}

// ---------------------------------------------------------------- score

export interface ScoreOptions extends ProxyInputOptions {
  /** 'tss' (default), 'sss' or a space added with `registerSpace`. */
  readonly space?: SpaceName | string;
  /** 'cifar10' (default), 'cifar100', 'ImageNet16-120', an image folder's path, or an `openDataset` value. */
  readonly dataset?: DatasetName | string | Dataset;
  /** A TSS cell string, SSS channels (`64:64:56:64:24`) or a NATS-Bench index. */
  readonly arch: string | number;
  /** Proxy names (default the two MFNAS fidelities, intgrad_param and intgrad_mean), or 'all'. */
  readonly proxies?: readonly ProxyName[] | string;
  /** Seed of the proxy batches and of the weights (default 0). */
  readonly seed?: number;
  /** Seed of the proxy batches alone (default `seed`). */
  readonly dataSeed?: number;
  /** Seed of the weight initialisation alone (default `seed`). */
  readonly initSeed?: number;
}

/** As `mfnas score --json` prints it. */
export interface ScoreResult {
  readonly arch: string;
  readonly index: number | null;
  readonly scores: ProxyScores;
  readonly seconds: number;
}

/** Scores one architecture with zero-shot proxies (cached scores are returned at once). */
export async function score(options: ScoreOptions): Promise<ScoreResult> {
  const t0 = performance.now();
  const space = parseSpaceName(String(options.space ?? 'tss'));
  const proxies = proxyList(options.proxies, DEFAULT_PROXIES);
  const seed = seedOf(options.seed, 'seed');
  const benchmark = openDefaultNatsBenchTables(options.dataDir);
  const arch = archText(options.arch);
  // A bad architecture is reported before a folder is decoded (which can take a while).
  describeArchitecture({ space, dataset: 'cifar10', arch, benchmark });
  const dataset = await datasetOf(options.dataset, options);
  const info = describeArchitecture({ space, dataset, arch, benchmark });
  const session = await openScoringSession({
    space, dataset, dataDir: options.dataDir, batch: options.batch, batches: options.batches,
    dataSeed: options.dataSeed === undefined ? seed : seedOf(options.dataSeed, 'dataSeed'),
    initSeed: options.initSeed === undefined ? seed : seedOf(options.initSeed, 'initSeed'),
    cache: options.cache, workers: 1,
  });
  try {
    const r = await session.scorer.score(info.arch, proxies);
    return { arch: r.arch, index: info.index, scores: r.scores, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await session.close();
  }
}

// ---------------------------------------------------------------- search

export interface SearchOptions extends ProxyInputOptions {
  readonly space?: SpaceName | string;
  /** As for `score`: a name, an image folder's path or an `openDataset` value. */
  readonly dataset?: DatasetName | string | Dataset;
  /** 'mfnas' (default), 'rea' or 'random'. */
  readonly algorithm?: Algorithm;
  /** Population size N (default 100). */
  readonly population?: number;
  /** Tournament size n (default 25). */
  readonly tournament?: number;
  /** Evolution steps T (default 100). */
  readonly steps?: number;
  /** Mutations per parent P (default 4). */
  readonly mutations?: number;
  /** Random search: architectures sampled (default 400). */
  readonly samples?: number;
  /** Baselines: the proxy they rank by (default intgrad_param): a proxy, a preset such as `az_nas`, or `ensemble(a,b,...)`. */
  readonly proxy?: ProxyName | string;
  /**
   * MFNAS: the fidelities its rank combines, fidelity 1 first (default the paper's
   * `['intgrad_param', 'intgrad_mean']`): proxies, presets or `ensemble(a,b,...)`, as an array
   * or one comma-separated string.
   */
  readonly fidelities?: readonly string[] | string;
  /**
   * MFNAS, multi-fidelity in cost: score the candidates on this cheaper proxy input,
   * `'BATCHESxSIZE[@PIXELS]'` (e.g. `'2x32'`, `'2x64@16'`), and the `confirm` (default 10) best
   * on the full one (`batch`, `batches`), where the answer is chosen. Default none: the paper's search.
   */
  readonly screen?: string;
  readonly confirm?: number;
  /** Search seed (default 0). The proxy batches and weights always use seed 0, so runs share scores. */
  readonly seed?: number;
  /** Limit: millions of FLOPs. */
  readonly maxFlops?: number;
  /** Limit: parameters. */
  readonly maxParams?: number;
  /** Minutes; the search stops cleanly between steps and returns its best so far. */
  readonly timeBudget?: number;
  /** Worker threads for scoring (default one per core). */
  readonly workers?: number;
  /**
   * Score on `mfnas worker`s through this Redis (redis://[user:password@]host:port[/db]) instead
   * of local threads (docs/distributed.md). Not with `screen`: workers score the full input only.
   */
  readonly queue?: string;
  /** Called after each step (step 0 = the initial population), with the answer's accuracy when tables exist. */
  readonly onStep?: (record: StepRecord, answerAccuracy: number | null) => void;
}

/** One search run, as one element of `mfnas search --json`'s `runs`. */
export type SearchRunResult = RunResult;

/** Runs one search (MFNAS by default) and returns its answer. */
export async function search(options: SearchOptions = {}): Promise<SearchRunResult> {
  const space = parseSpaceName(String(options.space ?? 'tss'));
  const algorithm = options.algorithm ?? SEARCH_DEFAULTS.algorithm;
  if (!ALGORITHMS.includes(algorithm)) throw new InputError(`unknown algorithm ${quoteInput(String(algorithm))}: use ${ALGORITHMS.join(', ')}`);
  const proxy = scoreName(parseScoreSpec(String(options.proxy ?? SEARCH_DEFAULTS.proxy)));
  const fidelityItems = options.fidelities === undefined ? SEARCH_DEFAULTS.fidelities
    : typeof options.fidelities === 'string' ? splitProxyItems(options.fidelities) : options.fidelities.map(String);
  const fidelities = parseFidelities(fidelityItems).map(scoreName);
  if (algorithm !== 'mfnas' && options.fidelities !== undefined) {
    throw new InputError(`fidelities are for algorithm 'mfnas'; ${algorithm} ranks by proxy alone (a proxy, a preset or ensemble(a,b,...))`);
  }
  if (options.screen !== undefined && algorithm !== 'mfnas') throw new InputError(`screen is for algorithm 'mfnas'; ${algorithm} scores every candidate on one input`);
  if (options.confirm !== undefined && options.screen === undefined) throw new InputError("confirm goes with screen: add e.g. screen: '2x32'");
  if (options.screen !== undefined && options.queue !== undefined) {
    throw new InputError('screen cannot be combined with queue yet: queue workers score on the full input only; drop one of them');
  }
  const screen = options.screen !== undefined ? parseScreenInput(String(options.screen), options.confirm ?? DEFAULT_CONFIRM) : undefined;
  const { population = SEARCH_DEFAULTS.population, tournament = SEARCH_DEFAULTS.tournament, steps = SEARCH_DEFAULTS.steps,
    mutations = SEARCH_DEFAULTS.mutations, samples = SEARCH_DEFAULTS.samples, seed = 0 } = options;
  // The ranges of `mfnas search`'s flags and of --rerun's result.json: one schema.
  checkSearchNumbers({
    population, tournament, steps, mutations, samples, seed, batch: options.batch, batches: options.batches,
    maxFlops: options.maxFlops, maxParams: options.maxParams, timeBudget: options.timeBudget, ...(screen ? screenNumbers(screen) : {}),
  }, OPTION_NAMES);
  const dataset = await datasetOf(options.dataset, options);
  const full = { space, dataset, dataDir: options.dataDir, batch: options.batch, batches: options.batches, dataSeed: 0, initSeed: 0 };
  // Screened: candidates on the cheap input (worker pool), confirmations on the full one (this thread).
  const session = await openScoringSession({
    ...full, cache: options.cache, workers: options.workers, ...(options.queue !== undefined ? { queue: options.queue } : {}),
    ...(screen ? screenInputOptions(screen) : {}),
  });
  let confirmSession: ScoringSession | null = null;
  try {
    if (screen) confirmSession = await openScoringSession({ ...full, cache: session.cache ?? false, workers: 1 });
    const { result } = await runSearch({
      scorer: session.scorer, benchmark: openDefaultNatsBenchTables(options.dataDir), ...(confirmSession ? { confirmScorer: confirmSession.scorer } : {}),
      options: {
        algorithm, population, tournament, proxy, fidelities,
        steps, mutations, samples, seed, runs: 1, timeBudget: options.timeBudget,
        limits: { maxFlops: options.maxFlops, maxParams: options.maxParams }, ...(screen ? { screen } : {}),
      },
      hooks: options.onStep ? { onStep: (_seed, rec, acc) => options.onStep!(rec, acc) } : undefined,
    });
    return result.runs[0];
  } finally {
    await confirmSession?.close();
    await session.close();
  }
}

// ---------------------------------------------------------------- spaces

/**
 * Search spaces: `registerSpace(description)` adds one under its name (a `SpaceDescription`:
 * parse, format, sample, mutate, crossover and its network; an index, a list of all its
 * architectures, classes and a drawing are optional), after which every call here takes that
 * name as `space`.
 */
export { registerSpace, spaceNames } from '../spaces/index.js';
export type { SpaceDescription, SpaceIndex, SpaceName } from '../spaces/types.js';

// ---------------------------------------------------------------- networks

/**
 * The network of an architecture as a typed structure (layers, cells, edges, channel counts):
 * what the cost model, the TensorFlow.js model and the proxies are built from.
 */
export function buildNetwork(space: SpaceName | string, arch: string | number, dataset: DatasetName | string | Dataset = 'cifar10'): NetworkSpec {
  const s = parseSpaceName(String(space));
  // Synchronous, so a folder must come opened (`openDataset`), not as a path.
  if (typeof dataset === 'string' && !DATASET_NAMES.includes(dataset as DatasetName) && isDirectory(dataset)) {
    throw new InputError(`buildNetwork takes an opened image folder: pass await openDataset(${quoteInput(dataset)}) as the dataset`);
  }
  const d = typeof dataset === 'object' && dataset !== null ? dataset : parseDatasetName(String(dataset));
  // parseArchitecture accepts an index as well as a string; TSS indices need the table's order,
  // so the table is opened only for an index (a cell string never reads it).
  const text = archText(arch);
  const base: SpaceDefinition<unknown> = spaceByName(s);
  const definition = /^\d+$/.test(text.trim()) ? base.withBenchmark(openDefaultNatsBenchTables()) : base;
  return definition.networkSpec(parseArchitecture(definition, text), d);
}

// ---------------------------------------------------------------- helpers

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function archText(arch: string | number): string {
  if (typeof arch === 'number') {
    if (!Number.isSafeInteger(arch) || arch < 0) throw new InputError(`arch ${quoteInput(String(arch))} is not an index (a whole number >= 0)`);
    return String(arch);
  }
  if (typeof arch !== 'string' || arch.length > 200) throw new InputError(`arch ${quoteInput(String(arch))} is not an architecture: give a TSS cell string, SSS channels or an index`);
  return arch;
}

function proxyList(given: readonly ProxyName[] | string | undefined, fallback: readonly ProxyName[]): ProxyName[] {
  if (given === undefined) return [...fallback];
  return parseProxyList(typeof given === 'string' ? given : given.join(','));
}

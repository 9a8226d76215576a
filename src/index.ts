/**
 * mfnas — training-free neural architecture search (MFNAS, PRICAI 2024) on NATS-Bench.
 *
 * ```ts
 * import { natsBench, score, search } from 'mfnas';
 * const bench = await natsBench();
 * const s = await score({ space: 'tss', dataset: 'cifar10', arch: 9930 });
 * console.log(s.scores.intgrad_param, bench.arch('tss', 9930, 'cifar10').accuracy);
 * const run = await search({ space: 'tss', dataset: 'cifar10', steps: 10 });
 * console.log(run.best.arch, run.best.accuracy);
 * ```
 *
 * Errors a caller can cause are `MfnasError`s (`InputError` for bad values, `DataError` for
 * missing or damaged files) with a one-line message that says what to do.
 */
export {
  natsBench, score, search, buildNetwork,
  type NatsBench, type DataOptions, type ProxyInputOptions, type ScoreOptions, type ScoreResult,
  type SearchOptions, type SearchRunResult,
} from './api/index.js';
export type { ArchInfo } from './report/archInfo.js';
export type { ArchSummary, Algorithm } from './search/run.js';
export type { StepRecord, Limits } from './search/problem.js';
export type { NetworkSpec, LayerSpec, ConvSpec, BnSpec, LinearSpec } from './networks/spec.js';
export { countParams, countFlops } from './networks/cost.js';
// Networks of any blocks: a block kind is one object (layers, forward, export graph, output
// shape) registered by name; a space's networkSpec assembles registered kinds.
export { registerBlockKind, blockKind, blockKindNames } from './networks/blocks/registry.js';
export type { BlockKind, BlockSpec, ForwardLayers, GraphEmitter, NodeRef } from './networks/blocks/kind.js';
export { assembleNetwork, networkBlocks, networkLayers, blockName } from './networks/spec.js';
export { convSpec, bnSpec, paramName } from './networks/layers.js';
export { convBnSpec, bnReluSpec, cellSpec, reductionSpec } from './networks/blocks/index.js';

// Registries, for extension and for listing what exists.
export {
  PROXIES, PROXY_NAMES, DEFAULT_PROXIES, registerProxy, proxyInfo,
  type ProxyName, type BuiltinProxyName, type ProxyInfo, type RegisterProxyOptions,
} from './proxies/registry.js';
export type { ProxyScores } from './proxies/scoreNetwork.js';
// Writing a proxy: `defineProxy` with one of the passes proxies share (or a pass of your own),
// then `registerProxy`; README "Library" has an example.
export { defineProxy, type ProxyDefinition, type ProxyInput, type ProxyPass } from './proxies/definition.js';
export { analyticPass, gradientPass, synflowPass, naswotPass, type GradientProduct, type SynflowProduct } from './proxies/passes.js';
export { batchMoments, type LayerGradients } from './proxies/gradients.js';
export { registerSpace, spaceNames, spaceByName, tssSpace, sssSpace, parseArchitecture, parseSpaceName } from './spaces/index.js';
export type {
  SearchSpace, SpaceDefinition, SpaceDescription, SpaceIndex, SpaceName, BuiltinSpaceName, BenchTable, BenchmarkTables,
} from './spaces/types.js';
export type { TssCell } from './spaces/tss/cell.js';
export type { SssChannels } from './spaces/sss/channels.js';
export { DATASETS, DATASET_NAMES, type DatasetName, type DatasetInfo } from './datasets/registry.js';
export { openDataset, type OpenDatasetOptions, type ImageFolderInputOptions, type Dataset, type DatasetShape, type FolderDataset } from './api/index.js';

// Deployment: export a trained network (TensorFlow.js LayersModel + ONNX) and predict with it.
export {
  exportModel, predict, type ExportResult, type PredictOptions, type Prediction, type ClassProbability,
} from './export/index.js';
export type { TrainedNetwork, Preprocess } from './networks/trained.js';

// Training a found architecture with NATS-Bench's recipe (resumable).
export {
  train, loadTrainedNetwork, loadTrainedRun, TRAIN_DEFAULTS, RECIPES, RECIPE_NAMES, type RecipeName, type RecipeDefinition, type TrainedRun, type LoadTrainedOptions, type TrainOptions, type TrainResult, type TrainRecipe, type EpochMetrics, type RunSettings,
} from './train/index.js';

// Whole-space score tables, locally or on queue workers (docs/distributed.md).
export { scan, type ScanOptions, type ScanResult, type ScanRow } from './scan/index.js';

// Lower-level pieces for custom pipelines.
export { openScoringSession, type ScoringSession, type ScoringSessionOptions } from './scoring/session.js';
export { ScoreCache } from './storage/scoreCache.js';
export { initEngine, engineInfo, type EngineInfo, type EngineBackend } from './engine/backend.js';
export { kendallTau, spearman } from './stats/correlation.js';

export { MfnasError, InputError, DataError, isMfnasError } from './util/errors.js';

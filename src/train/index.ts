/**
 * Training a found architecture with its benchmark's recipe (NATS-Bench's, NAS-Bench-Macro's): `train()` (what `mfnas train` runs)
 * and `loadTrainedNetwork()` (what export reads back from a run folder).
 */
export {
  train, loadTrainedNetwork, loadTrainedRun, stoppedAt, TrainingInterrupted,
  type TrainOptions, type TrainResult, type StepProgress, type StartInfo, type TrainedRun, type LoadTrainedOptions,
} from './run.js';
export { TRAIN_DEFAULTS, RECIPES, RECIPE_NAMES, learningRate, recipeLearningRate, recipeByName, type TrainRecipe, type RecipeName, type RecipeDefinition } from './recipe.js';
export { METRICS_COLUMNS, CHECKPOINT_FILE, METRICS_FILE, loadCheckpoint, type EpochMetrics, type RunSettings, type CheckpointState } from './checkpoint.js';
export { sgdStep, sgdNesterovStep, type SgdSettings } from './sgd.js';
export { updateRunningStats, BN_MOMENTUM } from './step.js';

/**
 * Training recipes: the hyper-parameters a benchmark trained its table with, by name.
 *
 * - `nats-bench`: NATS-Bench's `200E`/`90E` configs (NAS-Bench-201 / NATS-Bench, also stated in
 *   MFNAS.md's sources): SGD with Nesterov momentum 0.9, weight decay 5e-4 on every parameter
 *   (BN γ, β and the classifier bias included), batch 256, initial learning rate 0.1 annealed to 0
 *   by a cosine over the epochs, cross-entropy without label smoothing, random crop with zero
 *   padding + horizontal flip. Its scheduler changes the rate once per epoch (its cosine reads
 *   the epoch number only, with T_max = epochs), so epoch e of E (0-based) trains at
 *   lr·(1 + cos(π·e/E))/2 — as torch's CosineAnnealingLR stepped after each epoch.
 * - `nas-bench-macro`: NAS-Bench-Macro's (the authors' train/train.py): SGD with plain (not
 *   Nesterov) momentum 0.9, weight decay 5e-4 on every parameter, batch 256, lr 0.1 with
 *   CosineAnnealingLR(T_max = epochs), 50 epochs, random crop 32 with 4 pixels of zero padding +
 *   horizontal flip, normalisation by the CIFAR-10 mean and std (the same constants as
 *   NATS-Bench's). Their loop calls `scheduler.step()` at the start of every epoch, which on
 *   PyTorch ≥ 1.1 (their README asks for ≥ 1.0.1) advances the cosine before the first step:
 *   epoch e trains at lr·(1 + cos(π·(e+1)/E))/2, the last epoch at 0.
 *
 * Everything else (data order, augmentation draws, initialisation) is mfnas's, seeded.
 */
import { InputError, quoteInput } from '../util/errors.js';

export interface TrainRecipe {
  /** The named recipe (RECIPES) whose optimizer and schedule the run follows. */
  readonly recipe: RecipeName;
  /** Epochs; the cosine runs over exactly these. */
  readonly epochs: number;
  /** Images per step; the last step of an epoch takes the rest (smaller). */
  readonly batch: number;
  /** Initial learning rate. */
  readonly lr: number;
  readonly momentum: number;
  /** L2 weight decay, added to the gradient of every parameter. */
  readonly weightDecay: number;
  /** Seed of the weights, the per-epoch shuffle and the augmentation. */
  readonly seed: number;
}

export type RecipeName = 'nats-bench' | 'nas-bench-macro';

/** What a named recipe fixes: its optimizer and schedule, and defaults for the numbers a user may change. */
export interface RecipeDefinition {
  readonly name: RecipeName;
  /** One line for help texts. */
  readonly summary: string;
  /** Nesterov momentum (true) or PyTorch's plain heavy-ball momentum. */
  readonly nesterov: boolean;
  /** Epoch e trains at the cosine's value for epoch e + offset (see above). */
  readonly scheduleOffset: 0 | 1;
  readonly defaults: Omit<TrainRecipe, 'recipe'>;
}

export const RECIPES: Readonly<Record<RecipeName, RecipeDefinition>> = {
  'nats-bench': {
    name: 'nats-bench',
    summary: 'NATS-Bench: SGD Nesterov 0.9, lr 0.1 cosine, wd 5e-4, batch 256, 200 epochs, crop + flip',
    nesterov: true,
    scheduleOffset: 0,
    defaults: { epochs: 200, batch: 256, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, seed: 0 },
  },
  'nas-bench-macro': {
    name: 'nas-bench-macro',
    summary: 'NAS-Bench-Macro: SGD momentum 0.9 (no Nesterov), lr 0.1 cosine, wd 5e-4, batch 256, 50 epochs, crop + flip',
    nesterov: false,
    scheduleOffset: 1,
    defaults: { epochs: 50, batch: 256, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, seed: 0 },
  },
};

export const RECIPE_NAMES = Object.keys(RECIPES) as RecipeName[];

export function isRecipeName(name: unknown): name is RecipeName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(RECIPES, name);
}

/** The recipe called `name`; an InputError naming the known ones otherwise. */
export function recipeByName(name: string): RecipeDefinition {
  if (!isRecipeName(name)) throw new InputError(`unknown training recipe ${quoteInput(name)}: use ${RECIPE_NAMES.join(' or ')}`);
  return RECIPES[name];
}

/**
 * The defaults: NATS-Bench's recipe with its 200-epoch schedule (the TSS benchmark column;
 * NATS-Bench trains its SSS table with 90). A space may name another (`--space macro`:
 * `nas-bench-macro`).
 */
export const TRAIN_DEFAULTS: TrainRecipe = { recipe: 'nats-bench', ...RECIPES['nats-bench'].defaults };

/** Learning rate of epoch `epoch` (0-based) of `epochs`: cosine from `lr` towards 0. */
export function learningRate(lr: number, epoch: number, epochs: number): number {
  return 0.5 * lr * (1 + Math.cos((Math.PI * epoch) / epochs));
}

/** The learning rate `recipe` trains epoch `epoch` of `epochs` at. */
export function recipeLearningRate(recipe: RecipeDefinition, lr: number, epoch: number, epochs: number): number {
  return learningRate(lr, epoch + recipe.scheduleOffset, epochs);
}

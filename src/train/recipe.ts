/**
 * NATS-Bench's training recipe (the `200E`/`90E` hyper-parameter configs of NATS-Bench /
 * NAS-Bench-201, also stated in MFNAS.md's sources): SGD with Nesterov momentum 0.9, weight
 * decay 5e-4 on every parameter (BN γ, β and the classifier bias included), batch 256, initial
 * learning rate 0.1 annealed to 0 by a cosine over the epochs, cross-entropy without label
 * smoothing, random crop with zero padding + horizontal flip. NATS-Bench's scheduler changes the
 * rate once per epoch (its cosine reads the epoch number only, with T_max = epochs), so epoch e
 * of E (0-based) trains at lr·(1 + cos(π·e/E))/2 — as torch's CosineAnnealingLR stepped after
 * each epoch.
 */

export interface TrainRecipe {
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

/**
 * The defaults: NATS-Bench's recipe with its 200-epoch schedule (the TSS benchmark column;
 * NATS-Bench trains its SSS table with 90).
 */
export const TRAIN_DEFAULTS: TrainRecipe = {
  epochs: 200, batch: 256, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, seed: 0,
};

/** Learning rate of epoch `epoch` (0-based) of `epochs`: cosine from `lr` towards 0. */
export function learningRate(lr: number, epoch: number, epochs: number): number {
  return 0.5 * lr * (1 + Math.cos((Math.PI * epoch) / epochs));
}

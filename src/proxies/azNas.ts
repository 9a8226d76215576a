/**
 * AZ-NAS (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
 * CVPR 2024) as its authors' code computes it on NATS-Bench TSS (../shared/docs/AZ-NAS.md is
 * the specification; § below refer to it). One pass per network gives the four components;
 * the set-level aggregate `az_nas` is in ./aggregate.ts.
 *
 * The pass, for one network:
 *  - weights Kaiming-normal N(0, 2/fan_in), BN γ = 1, β = 0, BN in training mode (§2);
 *  - input: one batch of AZ_BATCH = 64 i.i.d. N(0, 1) images at the dataset's resolution — no
 *    data, so the run's proxy batches (--batch, --batches) play no part (§2);
 *  - feature maps f_0 = stem output (conv → BN, no ReLU) and f_l = raw output of block l
 *    (TSS: 17 blocks, 18 maps; SSS: 3 cells + 2 reductions, 6 maps — the same rule, "stem and
 *    every block", on the SSS network; macro: its searchable layers less the identities that
 *    only shorten a stage, as the authors' MobileNet-style spaces vary depth by block count);
 *  - expressivity E_l = spectral entropy of f_l's channel covariance (§3);
 *  - trainability from a Rademacher vector–Jacobian product through each block alone (§5);
 *  - complexity = FLOPs (NATS-Bench counting, §6).
 *
 * Randomness: the noise batch and the Rademacher vectors come from streams derived from the
 * proxy seed and the architecture's canonical key, the weights from (seed, layer name) as in
 * ../networks/kaimingInit.ts; so a score is a pure function of (architecture class, dataset,
 * seed), bit for bit. The authors draw everything afresh per network from one global stream
 * (§2), so scores match theirs in distribution, not value.
 *
 * All 17 block-local VJPs come out of ONE backward pass: each block's input is a "tap" whose
 * forward copies the previous block's output and whose backward records the gradient arriving
 * there and passes nothing further back; the taps hang off a scalar anchor so that every block
 * stays on the tape even after a block whose output ignores its input (a zero cell). The
 * objective is Σ_l ⟨f_l, G_l⟩, so the gradient recorded at block l's input is exactly
 * (∂f_l/∂f_{l−1})ᵀ G_l. The cost is one forward and one input-only backward (no weight
 * gradient is computed: weights are not differentiated).
 */
import * as tf from '@tensorflow/tfjs';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { countFlops } from '../networks/cost.js';
import { initKaimingNormal } from '../networks/kaimingInit.js';
import { blockForwardAt, stemForward, toTensorParams, type TensorParams } from '../networks/model.js';
import { isIdentityCell, isZeroCell } from '../networks/blocks/cell.js';
import { kindOf } from '../networks/blocks/registry.js';
import { runLayers, type BlockSpec, type LayerSpec, type NetworkSpec } from '../networks/spec.js';
import { spaceByName } from '../spaces/index.js';
import type { SpaceDefinition } from '../spaces/types.js';
import { Rng } from '../util/rng.js';
import type { ProxyPass } from './definition.js';
import { crossProductF64, featureEntropy, largestSingularValue } from './linalg.js';

/** Noise images per network: the authors' value (their training loader's batch), fixed. */
export const AZ_BATCH = 64;

export interface AzProduct {
  /** E_l for l = 0..L (stem first), NaN for a constant map. */
  readonly entropies: readonly number[];
  /** σ_l for l = 1..L (index l−1); NaN where the block is an identity. */
  readonly sigmas: readonly number[];
  /** t_l for l = 1..L (index l−1); −∞ for an identity block. */
  readonly trainabilityTerms: readonly number[];
  readonly expressivity: number;
  readonly progressivity: number;
  readonly trainability: number;
  readonly complexity: number;
}

/** NaN is "no score" to AZ-NAS: it becomes −∞ (§7). */
function orMinusInfinity(v: number): number {
  return Number.isNaN(v) ? -Infinity : v;
}

/** t = −σ − 1/(σ + 1e-6) + 2: 0 at σ = 1, negative on both sides (§5). */
export function trainabilityTerm(sigma: number): number {
  return -sigma - 1 / (sigma + 1e-6) + 2;
}

/** s_E = Σ E_l; s_P = min over l ≥ 1 of E_l − E_{l−1}; NaN → −∞. */
export function expressivityAndProgressivity(entropies: readonly number[]): { expressivity: number; progressivity: number } {
  let sum = 0, minStep = Infinity;
  entropies.forEach((e, l) => {
    sum += e;
    if (l > 0) {
      const step = e - entropies[l - 1];
      // Math.min would let a NaN step vanish only if it came second; keep it explicit.
      minStep = Number.isNaN(step) || Number.isNaN(minStep) ? NaN : Math.min(minStep, step);
    }
  });
  return { expressivity: orMinusInfinity(sum), progressivity: orMinusInfinity(minStep) };
}

/** s_T = mean of the t_l (one −∞ makes it −∞); NaN → −∞. */
export function meanTrainability(terms: readonly number[]): number {
  return orMinusInfinity(terms.reduce((s, t) => s + t, 0) / terms.length);
}

/**
 * The structural special cases of §8 for TSS cells (their definitions live with the cell's
 * block kind; the pass asks every block's kind through `isIdentity` / `isConstantZero`).
 */
export { isIdentityCell, isZeroCell };

/** True when the block computes exactly its input (§8): its trainability term is −∞. */
function isIdentityBlock(block: BlockSpec): boolean {
  return kindOf(block).isIdentity?.(block) ?? false;
}

/** True when the block's output is constant zero (§8): the network's entropies are NaN. */
function isConstantZeroBlock(block: BlockSpec): boolean {
  return kindOf(block).isConstantZero?.(block) ?? false;
}

/**
 * M = (1/N) Σ over output positions of U·G_outᵀ, U = G_in pixel-unshuffled to the output's
 * spatial size (NHWC; channel order (di, dj, c), which leaves the singular values unchanged).
 * Returns M as (r²·C_in) × C_out, row-major. Plain float64 loops: the definition, which the
 * tests hold `crossMomentOf` (what the pass uses, products on the engine) to.
 */
export function crossMoment(
  gIn: ArrayLike<number>, inShape: readonly [number, number, number, number],
  gOut: ArrayLike<number>, outShape: readonly [number, number, number, number],
): { m: Float64Array; rows: number; cols: number } {
  const [b, hIn, wIn, cIn] = inShape;
  const [b2, h, w, cOut] = outShape;
  const r = hIn / h;
  if (b !== b2 || !Number.isInteger(r) || r < 1 || wIn / w !== r) throw new Error(`crossMoment: input ${inShape} does not unshuffle to output ${outShape}`);
  const rows = r * r * cIn;
  const m = new Float64Array(rows * cOut);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((n * h + y) * w + x) * cOut;
        for (let di = 0; di < r; di++) {
          for (let dj = 0; dj < r; dj++) {
            const base = ((n * hIn + r * y + di) * wIn + r * x + dj) * cIn;
            const rowBase = (di * r + dj) * cIn;
            for (let c = 0; c < cIn; c++) {
              const u = gIn[base + c];
              if (u === 0) continue;
              const mo = (rowBase + c) * cOut;
              for (let j = 0; j < cOut; j++) m[mo + j] += u * gOut[o + j];
            }
          }
        }
      }
    }
  }
  const positions = b * h * w;
  for (let i = 0; i < m.length; i++) m[i] /= positions;
  return { m, rows, cols: cOut };
}

/** Output shape (NHWC) of a block at batch `batch`. */
export function blockOutShape(block: BlockSpec, batch: number): [number, number, number, number] {
  const { size, channels } = kindOf(block).output(block);
  return [batch, size, size, channels];
}

/** Uniform ±1 entries (+1 for a set bit), 32 per draw of the generator seeded with `seed`. */
export function rademacher(length: number, seed: number): Float32Array {
  const gen = xoroshiro128plus(seed);
  const out = new Float32Array(length);
  // ±1.0f differ only in the sign bit: write the bits of −1.0f with the sign flipped by a set bit.
  const bitsOf = new Int32Array(out.buffer);
  for (let i = 0; i < length; i += 32) {
    const bits = gen.next();
    const end = Math.min(32, length - i);
    for (let k = 0; k < end; k++) bitsOf[i + k] = MINUS_ONE_BITS ^ (((bits >>> k) & 1) << 31);
  }
  return out;
}

const MINUS_ONE_BITS = 0xbf800000 | 0;

/** The stream of one network's noise and Rademacher vectors (see the file comment). */
export function azRng(spec: NetworkSpec, seed: number): Rng {
  const space: SpaceDefinition<unknown> = spaceByName(spec.space);
  return new Rng(seed).derive(`az-nas/${spec.space}/${space.canonical(space.parse(spec.arch))}`);
}

/** Layers the pass runs: the stem and every block, without cell edges that cannot matter. */
export function usedLayers(spec: NetworkSpec): Set<string> {
  const names = new Set<string>();
  for (const block of [spec.stem, ...spec.blocks]) for (const layer of runLayers(block, true)) names.add(layer.name);
  return names;
}

/** The pieces of one network's AZ-NAS pass (a tensor per map and per block; the caller disposes them). */
export interface AzForward {
  /** f_0 … f_L: the stem output and every block's raw output. */
  readonly maps: tf.Tensor4D[];
  /**
   * (∂f_l/∂f_{l−1})ᵀ G_l for each block l = 1..L (index l−1); null where no gradient reaches the
   * block's input (a cell whose output ignores it: the VJP is zero).
   */
  readonly vjps: Array<tf.Tensor4D | null>;
}

/**
 * The forward pass on `x` keeping every feature map, and the block-local VJPs with the output
 * cotangents `gOut` (one per block, of its output's shape), all in one backward pass.
 */
export function azForwardAndVjps(spec: NetworkSpec, weights: TensorParams, x: tf.Tensor4D, gOut: readonly tf.Tensor4D[]): AzForward {
  const L = spec.blocks.length;
  const maps: tf.Tensor4D[] = [];
  const vjps: Array<tf.Tensor4D | null> = new Array(L).fill(null);
  const anchor = tf.scalar(0);
  try {
    const stem = tf.tidy(() => stemForward(spec, weights, x));
    maps.push(stem);
    const { value, grads } = tf.engine().gradients(() => {
      let h: tf.Tensor4D = stem;
      const outputs: tf.Tensor4D[] = [];
      for (let l = 0; l < L; l++) {
        const input = tap(h, anchor, (dy) => { vjps[l] = tf.keep(tf.clone(dy)); });
        h = blockForwardAt(spec, weights, l, input, { skipDead: true });
        // A copy that outlives the forward scope (the tape frees what it saved after backward).
        maps.push(tf.keep(tf.clone(h)));
        outputs.push(h);
      }
      return join(outputs, gOut);
    }, [anchor], undefined, true);
    tf.dispose([value, ...grads.filter((g) => g != null)]);
  } catch (e) {
    tf.dispose([...maps, ...vjps.filter((v): v is tf.Tensor4D => v != null)]);
    throw e;
  } finally {
    anchor.dispose();
  }
  return { maps, vjps };
}

/**
 * `crossMoment` with the products on the engine (`crossProductF64`): the same matrix to ~1e-7,
 * much faster. The unshuffle is a copy in JS.
 */
export function crossMomentOf(gIn: tf.Tensor4D, gOut: tf.Tensor4D): { m: Float64Array; rows: number; cols: number } {
  const [b, h, w, cOut] = gOut.shape;
  const [b2, hIn, wIn, cIn] = gIn.shape;
  const r = hIn / h;
  if (b2 !== b || !Number.isInteger(r) || r < 1 || wIn / w !== r) throw new Error(`crossMomentOf: input ${gIn.shape} does not unshuffle to output ${gOut.shape}`);
  const rows = r * r * cIn;
  const src = gIn.dataSync() as Float32Array;
  let u = src;
  if (r > 1) {
    u = new Float32Array(src.length);
    for (let n = 0; n < b; n++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = ((n * h + y) * w + x) * rows;
          for (let di = 0; di < r; di++) {
            for (let dj = 0; dj < r; dj++) {
              const base = ((n * hIn + r * y + di) * wIn + r * x + dj) * cIn;
              u.set(src.subarray(base, base + cIn), o + (di * r + dj) * cIn);
            }
          }
        }
      }
    }
  }
  const m = crossProductF64(u, rows, gOut.dataSync() as Float32Array, cOut, b, h, w);
  const positions = b * h * w;
  for (let i = 0; i < m.length; i++) m[i] /= positions;
  return { m, rows, cols: cOut };
}

/** The AZ-NAS components of one network (see the file comment); `seed` is the proxy seed. */
export function azNasScores(network: NetworkSpec, seed: number): AzProduct {
  // A skipped layer of a variable-depth space (kind.ts) is no block: the network is read as the
  // shorter one it computes (its function is unchanged).
  const spec: NetworkSpec = { ...network, blocks: network.blocks.filter((b) => !(kindOf(b).isSkippedLayer?.(b) ?? false)) };
  const rng = azRng(spec, seed);
  const used = usedLayers(spec);
  const R = spec.resolution;
  const noiseRng = rng.derive('noise');
  const noise = new Float32Array(AZ_BATCH * R * R * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = noiseRng.normal();
  const weights = toTensorParams(initKaimingNormal(spec, seed, (layer: LayerSpec) => used.has(layer.name)));
  const x = tf.tensor4d(noise, [AZ_BATCH, R, R, 3]);
  const gOut = spec.blocks.map((block, i) => {
    const shape = blockOutShape(block, AZ_BATCH);
    return tf.tensor4d(rademacher(shape.reduce((p, q) => p * q, 1), rng.derive(`rademacher/${i + 1}`).seed), shape);
  });
  let fwd: AzForward | null = null;
  try {
    fwd = azForwardAndVjps(spec, weights, x, gOut);
    const { maps, vjps } = fwd;
    // A network whose cells output zero has NaN entropies (0/0); the structural rule says so
    // without relying on that arithmetic (§8), and skips the work.
    const zero = spec.blocks.some(isConstantZeroBlock);
    const entropies = zero ? maps.map((_, l) => (l === 0 ? featureEntropy(maps[0]) : NaN)) : maps.map(featureEntropy);
    const sigmas: number[] = [];
    const terms: number[] = [];
    spec.blocks.forEach((block, l) => {
      // Exactly the identity ⇔ G_in ≡ G_out, the authors' test (§5.3); decided structurally (§8).
      if (isIdentityBlock(block)) {
        sigmas.push(NaN);
        terms.push(-Infinity);
        return;
      }
      const vjp = vjps[l];
      const sigma = vjp ? largestSingularValue(...unpack(crossMomentOf(vjp, gOut[l]))) : 0; // no path: G_in ≡ 0
      sigmas.push(sigma);
      terms.push(trainabilityTerm(sigma));
    });
    const ep = expressivityAndProgressivity(entropies);
    return {
      entropies, sigmas, trainabilityTerms: terms,
      expressivity: zero ? -Infinity : ep.expressivity,
      progressivity: zero ? -Infinity : ep.progressivity,
      trainability: meanTrainability(terms),
      complexity: countFlops(spec),
    };
  } finally {
    tf.dispose([x, ...gOut, ...weights.values()]);
    if (fwd) tf.dispose([...fwd.maps, ...fwd.vjps.filter((v): v is tf.Tensor4D => v != null)]);
  }
}

function unpack(r: { m: Float64Array; rows: number; cols: number }): [Float64Array, number, number] {
  return [r.m, r.rows, r.cols];
}

/**
 * Identity forward (a copy of `h`, which is NOT an input of the op, so no gradient flows back
 * into it); the backward hands the gradient arriving here to `record` and returns 0 for the
 * anchor, whose only role is to keep every tap on the tape.
 */
function tap(h: tf.Tensor4D, anchor: tf.Scalar, record: (dy: tf.Tensor4D) => void): tf.Tensor4D {
  const op = tf.customGrad(((a: tf.Scalar) => ({
    value: tf.clone(h),
    gradFunc: (dy: tf.Tensor4D) => {
      record(dy);
      return tf.zerosLike(a);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(anchor) as tf.Tensor4D;
}

/** A scalar whose gradient with respect to outputs[l] is gOut[l]: the objective Σ_l ⟨f_l, G_l⟩. */
function join(outputs: tf.Tensor4D[], gOut: readonly tf.Tensor4D[]): tf.Scalar {
  const op = tf.customGrad(((...inputs: tf.Tensor[]) => ({
    value: tf.scalar(0),
    // Copies: the engine owns (and may dispose) the gradients it is handed.
    gradFunc: () => inputs.slice(0, outputs.length).map((_, l) => tf.clone(gOut[l])),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(...outputs) as tf.Scalar;
}

/** The pass of the four AZ-NAS proxies: everything in one go, once per network. */
export const azPass: ProxyPass<AzProduct> = {
  name: 'az-nas',
  run: (input) => azNasScores(input.spec, input.seed),
};

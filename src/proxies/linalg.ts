/**
 * The small float64 linear algebra AZ-NAS needs: channel covariances of feature maps, their
 * spectral entropy, cross-moment matrices and largest singular values. Matrices are at most
 * 128×64 here, so a cyclic Jacobi eigen-solver is exact to rounding and fast enough.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2d } from '../engine/ops.js';

/**
 * Eigenvalues of a symmetric n×n matrix (row-major; only symmetry is assumed, not checked), by
 * cyclic Jacobi rotations until the off-diagonal part is negligible next to the diagonal.
 * Returned in ascending order. Tiny negative eigenvalues of a PSD matrix are kept as they are.
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number): Float64Array {
  if (matrix.length !== n * n) throw new Error(`symmetricEigenvalues: ${matrix.length} entries for a ${n}×${n} matrix`);
  const a = Float64Array.from(matrix);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    // Converged when rotating can no longer move a diagonal entry at float64 precision.
    if (off === 0 || off <= 1e-32 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p], aqq = a[q * n + q];
        // Rotation annihilating a[p][q] (Numerical Recipes' jacobi: t = tan of the angle,
        // the smaller root, for stability), applied to rows p, q and mirrored to the columns.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        const rp = p * n, rq = q * n;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = a[rp + k], akq = a[rq + k];
          const np = c * akp - s * akq, nq = s * akp + c * akq;
          a[rp + k] = np; a[k * n + p] = np;
          a[rq + k] = nq; a[k * n + q] = nq;
        }
        a[rp + p] = app - t * apq;
        a[rq + q] = aqq + t * apq;
        a[rp + q] = 0;
        a[rq + p] = 0;
      }
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * n + i];
  return out.sort();
}

/**
 * Covariance (divided by the number of rows, columns centred) of the `rows`×`cols` row-major
 * matrix `x`, accumulated in float64. For an NHWC feature map, rows = N·H·W and cols = C.
 */
export function channelCovariance(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  if (x.length !== rows * cols) throw new Error(`channelCovariance: ${x.length} values for ${rows}×${cols}`);
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) mean[j] += x[o + j];
  }
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  const s = new Float64Array(cols * cols);
  const v = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) v[j] = x[o + j] - mean[j];
    for (let i = 0; i < cols; i++) {
      const vi = v[i], oi = i * cols;
      for (let j = i; j < cols; j++) s[oi + j] += vi * v[j];
    }
  }
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      const c = s[i * cols + j] / rows;
      s[i * cols + j] = c;
      s[j * cols + i] = c;
    }
  }
  return s;
}

/**
 * AZ-NAS's expressivity of one feature map: −Σ p_k ln(p_k + 1e-8) with p the eigenvalues of the
 * channel covariance normalised to sum 1 (see `entropyOfCovariance`). NaN when the map is
 * constant (0/0).
 */
export function spectralEntropy(x: ArrayLike<number>, rows: number, cols: number): number {
  return entropyOfCovariance(channelCovariance(x, rows, cols), cols);
}

/** Largest singular value of a `rows`×`cols` row-major matrix: √ of the top eigenvalue of its smaller Gram matrix. */
export function largestSingularValue(m: ArrayLike<number>, rows: number, cols: number): number {
  if (m.length !== rows * cols) throw new Error(`largestSingularValue: ${m.length} values for ${rows}×${cols}`);
  const n = Math.min(rows, cols);
  const g = new Float64Array(n * n);
  if (cols <= rows) {
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < cols; i++) {
        const mi = m[r * cols + i];
        for (let j = i; j < cols; j++) g[i * n + j] += mi * m[r * cols + j];
      }
    }
  } else {
    for (let i = 0; i < rows; i++) {
      for (let j = i; j < rows; j++) {
        let s = 0;
        for (let k = 0; k < cols; k++) s += m[i * cols + k] * m[j * cols + k];
        g[i * n + j] = s;
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) g[j * n + i] = g[i * n + j];
  const eig = symmetricEigenvalues(g, n);
  return Math.sqrt(Math.max(0, eig[n - 1]));
}

/** Images per block of `crossProductF64`: float32 sums stay short, float64 adds the blocks. */
const IMAGES_PER_BLOCK = 8;

/**
 * Σ over every image and position of a[n,y,x,:] ⊗ b[n,y,x,:] for NHWC arrays a [B,H,W,p] and
 * b [B,H,W,q] (`spatial` = H·W), as a row-major p×q Float64Array. It is the weight gradient of
 * a 1×1 convolution of a with output cotangent b, which the engine's convolution-gradient
 * kernel computes fast; each block of 8 images is summed in float32 there, the blocks are
 * added in float64 here (relative error ~1e-7; the tests compare with plain float64 loops).
 */
export function crossProductF64(a: Float32Array, p: number, b: Float32Array, q: number, batch: number, height: number, width: number): Float64Array {
  const spatial = height * width;
  if (a.length !== batch * spatial * p || b.length !== batch * spatial * q) {
    throw new Error(`crossProductF64: ${a.length} and ${b.length} values for ${batch}×${height}×${width}×(${p}, ${q})`);
  }
  const out = new Float64Array(p * q);
  const zero = tf.zeros([1, 1, p, q]) as tf.Tensor4D;
  try {
    for (let start = 0; start < batch; start += IMAGES_PER_BLOCK) {
      const size = Math.min(IMAGES_PER_BLOCK, batch - start);
      const part = tf.tidy(() => {
        const x = tf.tensor4d(a.subarray(start * spatial * p, (start + size) * spatial * p), [size, height, width, p]);
        const dy = tf.tensor4d(b.subarray(start * spatial * q, (start + size) * spatial * q), [size, height, width, q]);
        return tf.engine().gradients(() => conv2d(x, zero), [zero], dy).grads[0];
      });
      const v = part.dataSync();
      part.dispose();
      for (let i = 0; i < p * q; i++) out[i] += v[i];
    }
  } finally {
    zero.dispose();
  }
  return out;
}

/**
 * The channel covariance (divided by N = B·H·W, columns centred) of an NHWC feature map given
 * as its values: `channelCovariance`, with the N·C² products done by `crossProductF64`. The
 * channel means are taken in float64, the centred values rounded to float32 for the engine,
 * and the (tiny) mean those keep is removed exactly in float64 — a two-pass covariance.
 */
export function featureCovariance(x: Float32Array, batch: number, height: number, width: number, c: number): Float64Array {
  const n = batch * height * width;
  const mean = new Float64Array(c);
  for (let r = 0; r < n; r++) for (let j = 0; j < c; j++) mean[j] += x[r * c + j];
  for (let j = 0; j < c; j++) mean[j] /= n;
  const centred = new Float32Array(x.length);
  const residual = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < c; j++) {
      const v = Math.fround(x[r * c + j] - mean[j]);
      centred[r * c + j] = v;
      residual[j] += v;
    }
  }
  const s = crossProductF64(centred, c, centred, c, batch, height, width);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) s[i * c + j] = s[i * c + j] / n - (residual[i] / n) * (residual[j] / n);
  }
  return s;
}

/** Spectral entropy (see `spectralEntropy`) of an NHWC feature map. */
export function featureEntropy(h: tf.Tensor4D): number {
  const [b, hh, ww, c] = h.shape;
  return entropyOfCovariance(featureCovariance(h.dataSync() as Float32Array, b, hh, ww, c), c);
}

/**
 * −Σ p ln(p + 1e-8), p the eigenvalues of `cov` normalised to sum 1. Negative eigenvalues are
 * set to 0 first. The authors clamp nothing, but a negative eigenvalue can only be the rounding
 * of a zero one of a rank-deficient covariance, where their code would give NaN (→ −∞) by the
 * sign of a rounding error: on TSS every map is full-rank (N·H·W ≫ C, stem rank 27 ≥ 16
 * channels), so this never fires; on SSS a stem of more than 27 channels is rank-deficient.
 */
export function entropyOfCovariance(cov: ArrayLike<number>, c: number): number {
  const eig = symmetricEigenvalues(cov, c).map((l) => Math.max(l, 0));
  let total = 0;
  for (const l of eig) total += l;
  let h = 0;
  for (const l of eig) {
    const p = l / total;
    h -= p * Math.log(p + 1e-8);
  }
  return h;
}

/**
 * NASWOT kernel (Mellor et al., ICML 2021): K[i,j] counts the ReLUs on which images i and j
 * agree, accumulated layer by layer as C·Cᵀ + (1−C)·(1−C)ᵀ for binary codes C [N, units];
 * the score is log|det K| (float64 LU with partial pivoting).
 */
import * as tf from '@tensorflow/tfjs';

export class NaswotKernel {
  readonly k: Float64Array;
  constructor(readonly n: number) {
    this.k = new Float64Array(n * n);
  }

  /** Add one layer's binary codes [N, units]; disposes `codes`. */
  add(codes: tf.Tensor): void {
    const part = tf.tidy(() => {
      const c = codes as tf.Tensor2D;
      const inv = tf.sub(1, c) as tf.Tensor2D;
      return tf.add(tf.matMul(c, c, false, true), tf.matMul(inv, inv, false, true));
    });
    const values = part.dataSync();
    for (let i = 0; i < values.length; i++) this.k[i] += values[i];
    tf.dispose([part, codes]);
  }
}

/** log|det A| of a symmetric (or any square) matrix, by LU with partial pivoting. */
export function logAbsDet(a: Float64Array, n: number): number {
  const m = Float64Array.from(a);
  let logDet = 0;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[pivot * n + col])) pivot = r;
    const p = m[pivot * n + col];
    if (p === 0) return -Infinity;
    if (pivot !== col) {
      for (let c = 0; c < n; c++) {
        const t = m[col * n + c]; m[col * n + c] = m[pivot * n + c]; m[pivot * n + c] = t;
      }
    }
    logDet += Math.log(Math.abs(p));
    for (let r = col + 1; r < n; r++) {
      const f = m[r * n + col] / p;
      if (f === 0) continue;
      for (let c = col; c < n; c++) m[r * n + c] -= f * m[col * n + c];
    }
  }
  return logDet;
}

export function naswotFromCodes(kernel: NaswotKernel): number {
  return logAbsDet(kernel.k, kernel.n);
}

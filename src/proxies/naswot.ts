/**
 * NASWOT kernel (Mellor et al., ICML 2021): K[i,j] counts the ReLUs on which images i and j
 * agree (both active or both inactive), summed over every ReLU of the network; the score is
 * log|det K| (float64 LU with partial pivoting).
 *
 * K is accumulated from bit-packed activation codes: agreement = units − Hamming distance, with
 * a 32-bit popcount per word. (The textbook C·Cᵀ + (1−C)·(1−C)ᵀ as float matrix products costs
 * ~2·N²·units multiply-adds per layer — 28 s per network on the wasm engine — against
 * N²·units/64 word operations here.)
 */

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export class NaswotKernel {
  /** K, n × n, row-major. */
  readonly k: Float64Array;
  constructor(readonly n: number) {
    this.k = new Float64Array(n * n);
  }

  /** Add one ReLU's pre-activations, [n, units] flattened per image (active = value > 0). */
  addActivations(pre: ArrayLike<number>): void {
    const n = this.n;
    const units = pre.length / n;
    if (!Number.isInteger(units)) throw new Error(`NASWOT: ${pre.length} activations are not ${n} images`);
    const words = Math.ceil(units / 32);
    const codes = new Uint32Array(n * words);
    for (let i = 0; i < n; i++) {
      const base = i * units, out = i * words;
      for (let u = 0; u < units; u++) if (pre[base + u] > 0) codes[out + (u >>> 5)] |= 1 << (u & 31);
    }
    for (let i = 0; i < n; i++) {
      this.k[i * n + i] += units;
      for (let j = i + 1; j < n; j++) {
        let ham = 0;
        const a = i * words, b = j * words;
        for (let w = 0; w < words; w++) ham += popcount32(codes[a + w] ^ codes[b + w]);
        const agree = units - ham;
        this.k[i * n + j] += agree;
        this.k[j * n + i] += agree;
      }
    }
  }
}

/** log|det A| of a square matrix, by LU with partial pivoting (−Infinity when singular). */
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

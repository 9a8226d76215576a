/**
 * Straightforward float64 reference implementations (direct loops) for the
 * native kernels. Layouts: NHWC activations, HWIO filters.
 * Backward passes are written as scatters from the forward definition, not
 * derived from the forward code, so they check the native kernels independently.
 */

export type ArrayLike64 = ArrayLike<number>;

/** Padding per side: top (pt), bottom (pb), left (pl), right (pr). */
export interface RefConv {
  n: number; h: number; w: number; ci: number; co: number;
  kh: number; kw: number; sh: number; sw: number; pt: number; pb: number; pl: number; pr: number;
}

export interface RefPool {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; sh: number; sw: number; pt: number; pb: number; pl: number; pr: number;
  excludePad: boolean;
}

/** floor((size + padBefore + padAfter - k) / s) + 1 */
export const outSize = (size: number, k: number, s: number, p0: number, p1: number): number =>
  Math.floor((size + p0 + p1 - k) / s) + 1;

const xi = (s: { h: number; w: number }, c: number, n: number, y: number, x: number, ch: number) =>
  ((n * s.h + y) * s.w + x) * c + ch;

export function conv2dRef(x: ArrayLike64, f: ArrayLike64, s: RefConv): Float64Array {
  const oh = outSize(s.h, s.kh, s.sh, s.pt, s.pb), ow = outSize(s.w, s.kw, s.sw, s.pl, s.pr);
  const y = new Float64Array(s.n * oh * ow * s.co);
  for (let n = 0; n < s.n; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let o = 0; o < s.co; o++) {
          let acc = 0;
          for (let ky = 0; ky < s.kh; ky++) {
            const iy = oy * s.sh - s.pt + ky;
            if (iy < 0 || iy >= s.h) continue;
            for (let kx = 0; kx < s.kw; kx++) {
              const ix = ox * s.sw - s.pl + kx;
              if (ix < 0 || ix >= s.w) continue;
              for (let i = 0; i < s.ci; i++)
                acc += x[xi(s, s.ci, n, iy, ix, i)] * f[((ky * s.kw + kx) * s.ci + i) * s.co + o];
            }
          }
          y[((n * oh + oy) * ow + ox) * s.co + o] = acc;
        }
  return y;
}

export function conv2dBackwardDataRef(dy: ArrayLike64, f: ArrayLike64, s: RefConv): Float64Array {
  const oh = outSize(s.h, s.kh, s.sh, s.pt, s.pb), ow = outSize(s.w, s.kw, s.sw, s.pl, s.pr);
  const dx = new Float64Array(s.n * s.h * s.w * s.ci);
  for (let n = 0; n < s.n; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let o = 0; o < s.co; o++) {
          const g = dy[((n * oh + oy) * ow + ox) * s.co + o];
          for (let ky = 0; ky < s.kh; ky++) {
            const iy = oy * s.sh - s.pt + ky;
            if (iy < 0 || iy >= s.h) continue;
            for (let kx = 0; kx < s.kw; kx++) {
              const ix = ox * s.sw - s.pl + kx;
              if (ix < 0 || ix >= s.w) continue;
              for (let i = 0; i < s.ci; i++)
                dx[xi(s, s.ci, n, iy, ix, i)] += g * f[((ky * s.kw + kx) * s.ci + i) * s.co + o];
            }
          }
        }
  return dx;
}

export function conv2dBackwardFilterRef(x: ArrayLike64, dy: ArrayLike64, s: RefConv): Float64Array {
  const oh = outSize(s.h, s.kh, s.sh, s.pt, s.pb), ow = outSize(s.w, s.kw, s.sw, s.pl, s.pr);
  const dw = new Float64Array(s.kh * s.kw * s.ci * s.co);
  for (let n = 0; n < s.n; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let o = 0; o < s.co; o++) {
          const g = dy[((n * oh + oy) * ow + ox) * s.co + o];
          for (let ky = 0; ky < s.kh; ky++) {
            const iy = oy * s.sh - s.pt + ky;
            if (iy < 0 || iy >= s.h) continue;
            for (let kx = 0; kx < s.kw; kx++) {
              const ix = ox * s.sw - s.pl + kx;
              if (ix < 0 || ix >= s.w) continue;
              for (let i = 0; i < s.ci; i++)
                dw[((ky * s.kw + kx) * s.ci + i) * s.co + o] += g * x[xi(s, s.ci, n, iy, ix, i)];
            }
          }
        }
  return dw;
}

export interface BnStats { y: Float64Array; mean: Float64Array; variance: Float64Array }

/** Training-mode batch norm; variance biased. gamma/beta null mean 1/0. */
export function batchNormRef(
  x: ArrayLike64, gamma: ArrayLike64 | null, beta: ArrayLike64 | null, c: number, eps: number,
): BnStats {
  const m = x.length / c;
  const mean = new Float64Array(c), variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i];
  for (let k = 0; k < c; k++) mean[k] /= m;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i] - mean[i % c]) ** 2;
  for (let k = 0; k < c; k++) variance[k] /= m;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    y[i] = ((x[i] - mean[k]) / Math.sqrt(variance[k] + eps)) * (gamma ? gamma[k] : 1) + (beta ? beta[k] : 0);
  }
  return { y, mean, variance };
}

export interface BnGrads { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array }

/** Gradients of batchNormRef w.r.t. x (through the batch statistics), gamma and beta. */
export function batchNormBackwardRef(
  x: ArrayLike64, dy: ArrayLike64, gamma: ArrayLike64 | null, mean: ArrayLike64, variance: ArrayLike64,
  c: number, eps: number,
): BnGrads {
  const m = x.length / c;
  const dgamma = new Float64Array(c), dbeta = new Float64Array(c);
  const inv = Float64Array.from({ length: c }, (_, k) => 1 / Math.sqrt(variance[k] + eps));
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    dbeta[k] += dy[i];
    dgamma[k] += dy[i] * (x[i] - mean[k]) * inv[k];
  }
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    const xhat = (x[i] - mean[k]) * inv[k];
    dx[i] = (gamma ? gamma[k] : 1) * inv[k] * (dy[i] - dbeta[k] / m - (xhat * dgamma[k]) / m);
  }
  return { dx, dgamma, dbeta };
}

export function reluRef(x: ArrayLike64): Float64Array {
  return Float64Array.from(x, (v) => (v > 0 ? v : 0));
}

export function reluBackwardRef(x: ArrayLike64, dy: ArrayLike64): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 ? dy[i] : 0));
}

function poolWindow(s: RefPool, oy: number, ox: number) {
  const y0 = oy * s.sh - s.pt, x0 = ox * s.sw - s.pl;
  let count = 0;
  for (let ky = 0; ky < s.kh; ky++)
    for (let kx = 0; kx < s.kw; kx++) {
      const iy = y0 + ky, ix = x0 + kx;
      if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) count++;
    }
  return { y0, x0, divisor: s.excludePad ? count : s.kh * s.kw };
}

export function avgPoolRef(x: ArrayLike64, s: RefPool): Float64Array {
  const oh = outSize(s.h, s.kh, s.sh, s.pt, s.pb), ow = outSize(s.w, s.kw, s.sw, s.pl, s.pr);
  const y = new Float64Array(s.n * oh * ow * s.c);
  for (let n = 0; n < s.n; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const { y0, x0, divisor } = poolWindow(s, oy, ox);
        for (let ch = 0; ch < s.c; ch++) {
          let acc = 0;
          for (let ky = 0; ky < s.kh; ky++)
            for (let kx = 0; kx < s.kw; kx++) {
              const iy = y0 + ky, ix = x0 + kx;
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) acc += x[xi(s, s.c, n, iy, ix, ch)];
            }
          y[((n * oh + oy) * ow + ox) * s.c + ch] = acc / divisor;
        }
      }
  return y;
}

export function avgPoolBackwardRef(dy: ArrayLike64, s: RefPool): Float64Array {
  const oh = outSize(s.h, s.kh, s.sh, s.pt, s.pb), ow = outSize(s.w, s.kw, s.sw, s.pl, s.pr);
  const dx = new Float64Array(s.n * s.h * s.w * s.c);
  for (let n = 0; n < s.n; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const { y0, x0, divisor } = poolWindow(s, oy, ox);
        for (let ch = 0; ch < s.c; ch++) {
          const g = dy[((n * oh + oy) * ow + ox) * s.c + ch] / divisor;
          for (let ky = 0; ky < s.kh; ky++)
            for (let kx = 0; kx < s.kw; kx++) {
              const iy = y0 + ky, ix = x0 + kx;
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) dx[xi(s, s.c, n, iy, ix, ch)] += g;
            }
        }
      }
  return dx;
}

/** Small deterministic PRNG (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-1, 1). */
export function randomArray(len: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: len }, () => r() * 2 - 1);
}

/** max |a - b| / (1 + max |b|): a scale-aware error. */
export function maxRelError(a: ArrayLike64, b: ArrayLike64): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (1 + scale);
}

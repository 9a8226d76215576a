/**
 * An independent float64 reference for the engine tests: plain loops, NHWC, PyTorch semantics,
 * with a minimal reverse-mode autodiff (each op records a closure that adds its input
 * gradients). Nothing here uses tfjs.
 */

export interface T64 {
  shape: number[];
  data: Float64Array;
}

export function t64(shape: number[], data?: ArrayLike<number>): T64 {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`t64: ${data.length} values for shape ${shape}`);
    d.set(Array.from(data));
  }
  return { shape: [...shape], data: d };
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function randomT64(shape: number[], seed: number, lo = -1, hi = 1): T64 {
  const t = t64(shape);
  let a = seed >>> 0;
  for (let i = 0; i < t.data.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    const u = ((r ^ (r >>> 14)) >>> 0) / 4294967296;
    t.data[i] = lo + (hi - lo) * u;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Autodiff

export class V {
  grad: Float64Array;
  constructor(
    readonly value: T64,
    readonly parents: V[] = [],
    public backward: (() => void) | null = null,
  ) {
    this.grad = new Float64Array(value.data.length);
  }
  get shape(): number[] {
    return this.value.shape;
  }
}

export function leaf(t: T64): V {
  return new V(t);
}

/** Back-propagate from a scalar `out` (seed 1). Gradients accumulate in `.grad`. */
export function backprop(out: V): void {
  const order: V[] = [];
  const seen = new Set<V>();
  const visit = (v: V): void => {
    if (seen.has(v)) return;
    seen.add(v);
    for (const p of v.parents) visit(p);
    order.push(v);
  };
  visit(out);
  for (const v of order) v.grad.fill(0);
  out.grad.fill(1);
  for (let i = order.length - 1; i >= 0; i--) order[i].backward?.();
}

// ---------------------------------------------------------------------------------------------
// Layers

function idx4(s: number[], n: number, h: number, w: number, c: number): number {
  return ((n * s[1] + h) * s[2] + w) * s[3] + c;
}

/** Conv2d without bias, w [kh,kw,ci,co], zero padding `pad` on every side (PyTorch). */
export function conv2d(x: V, w: V, stride: number, pad: number): V {
  const [N, H, W, Ci] = x.shape;
  const [kh, kw, ci2, Co] = w.shape;
  if (ci2 !== Ci) throw new Error('conv2d channel mismatch');
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const out = t64([N, Ho, Wo, Co]);
  const xs = x.shape, os = out.shape, X = x.value.data, Wt = w.value.data, Y = out.data;
  const widx = (a: number, b: number, c: number, o: number) => ((a * kw + b) * Ci + c) * Co + o;
  for (let n = 0; n < N; n++)
    for (let ho = 0; ho < Ho; ho++)
      for (let wo = 0; wo < Wo; wo++)
        for (let o = 0; o < Co; o++) {
          let s = 0;
          for (let a = 0; a < kh; a++) {
            const h = ho * stride - pad + a;
            if (h < 0 || h >= H) continue;
            for (let b = 0; b < kw; b++) {
              const ww = wo * stride - pad + b;
              if (ww < 0 || ww >= W) continue;
              for (let c = 0; c < Ci; c++) s += X[idx4(xs, n, h, ww, c)] * Wt[widx(a, b, c, o)];
            }
          }
          Y[idx4(os, n, ho, wo, o)] = s;
        }
  const v = new V(out, [x, w]);
  v.backward = () => {
    const G = v.grad, GX = x.grad, GW = w.grad;
    for (let n = 0; n < N; n++)
      for (let ho = 0; ho < Ho; ho++)
        for (let wo = 0; wo < Wo; wo++)
          for (let o = 0; o < Co; o++) {
            const g = G[idx4(os, n, ho, wo, o)];
            for (let a = 0; a < kh; a++) {
              const h = ho * stride - pad + a;
              if (h < 0 || h >= H) continue;
              for (let b = 0; b < kw; b++) {
                const ww = wo * stride - pad + b;
                if (ww < 0 || ww >= W) continue;
                for (let c = 0; c < Ci; c++) {
                  const xi = idx4(xs, n, h, ww, c), wi = widx(a, b, c, o);
                  GX[xi] += g * Wt[wi];
                  GW[wi] += g * X[xi];
                }
              }
            }
          }
  };
  return v;
}

/**
 * Grouped Conv2d without bias (PyTorch `groups`), w [kh,kw,ci/groups,co], zero padding `pad` on
 * every side; output channel o sees the input channels of group ⌊o/(co/groups)⌋. groups = ci = co
 * is a depthwise convolution (w [kh,kw,1,c]).
 */
export function groupedConv2d(x: V, w: V, stride: number, pad: number, groups: number): V {
  const [N, H, W, Ci] = x.shape;
  const [kh, kw, cig, Co] = w.shape;
  if (Ci % groups !== 0 || Co % groups !== 0 || cig !== Ci / groups) throw new Error('groupedConv2d channel mismatch');
  const cog = Co / groups;
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const out = t64([N, Ho, Wo, Co]);
  const xs = x.shape, os = out.shape, X = x.value.data, Wt = w.value.data, Y = out.data;
  const widx = (a: number, b: number, c: number, o: number) => ((a * kw + b) * cig + c) * Co + o;
  const visit = (f: (n: number, ho: number, wo: number, o: number, xi: number, wi: number) => void) => {
    for (let n = 0; n < N; n++)
      for (let ho = 0; ho < Ho; ho++)
        for (let wo = 0; wo < Wo; wo++)
          for (let o = 0; o < Co; o++) {
            const c0 = Math.floor(o / cog) * cig;
            for (let a = 0; a < kh; a++) {
              const h = ho * stride - pad + a;
              if (h < 0 || h >= H) continue;
              for (let b = 0; b < kw; b++) {
                const ww = wo * stride - pad + b;
                if (ww < 0 || ww >= W) continue;
                for (let c = 0; c < cig; c++) f(n, ho, wo, o, idx4(xs, n, h, ww, c0 + c), widx(a, b, c, o));
              }
            }
          }
  };
  visit((n, ho, wo, o, xi, wi) => {
    Y[idx4(os, n, ho, wo, o)] += X[xi] * Wt[wi];
  });
  const v = new V(out, [x, w]);
  v.backward = () => {
    const G = v.grad, GX = x.grad, GW = w.grad;
    visit((n, ho, wo, o, xi, wi) => {
      const g = G[idx4(os, n, ho, wo, o)];
      GX[xi] += g * Wt[wi];
      GW[wi] += g * X[xi];
    });
  };
  return v;
}

/** `x` with another shape of the same size (same order of entries; the gradient flows back). */
export function leafView(x: V, shape: number[]): V {
  const out = t64(shape, x.value.data);
  const v = new V(out, [x]);
  v.backward = () => {
    for (let i = 0; i < v.grad.length; i++) x.grad[i] += v.grad[i];
  };
  return v;
}

/** 3x3 stride-1 pad-1 average pool, divisor = number of in-image positions. */
export function avgPool3x3(x: V): V {
  const [N, H, W, C] = x.shape;
  const out = t64([N, H, W, C]);
  const s = x.shape, X = x.value.data;
  const cnt = (h: number, w: number) => {
    let k = 0;
    for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) if (h + a >= 0 && h + a < H && w + b >= 0 && w + b < W) k++;
    return k;
  };
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        const k = cnt(h, w);
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let a = -1; a <= 1; a++)
            for (let b = -1; b <= 1; b++) {
              const hh = h + a, ww = w + b;
              if (hh >= 0 && hh < H && ww >= 0 && ww < W) sum += X[idx4(s, n, hh, ww, c)];
            }
          out.data[idx4(s, n, h, w, c)] = sum / k;
        }
      }
  const v = new V(out, [x]);
  v.backward = () => {
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          const k = cnt(h, w);
          for (let c = 0; c < C; c++) {
            const g = v.grad[idx4(s, n, h, w, c)] / k;
            for (let a = -1; a <= 1; a++)
              for (let b = -1; b <= 1; b++) {
                const hh = h + a, ww = w + b;
                if (hh >= 0 && hh < H && ww >= 0 && ww < W) x.grad[idx4(s, n, hh, ww, c)] += g;
              }
          }
        }
  };
  return v;
}

/** AvgPool2d(2, stride 2), floor mode. */
export function avgPool2x2(x: V): V {
  const [N, H, W, C] = x.shape;
  const Ho = Math.floor(H / 2), Wo = Math.floor(W / 2);
  const out = t64([N, Ho, Wo, C]);
  const s = x.shape, os = out.shape;
  for (let n = 0; n < N; n++)
    for (let h = 0; h < Ho; h++)
      for (let w = 0; w < Wo; w++)
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) sum += x.value.data[idx4(s, n, 2 * h + a, 2 * w + b, c)];
          out.data[idx4(os, n, h, w, c)] = sum / 4;
        }
  const v = new V(out, [x]);
  v.backward = () => {
    for (let n = 0; n < N; n++)
      for (let h = 0; h < Ho; h++)
        for (let w = 0; w < Wo; w++)
          for (let c = 0; c < C; c++) {
            const g = v.grad[idx4(os, n, h, w, c)] / 4;
            for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) x.grad[idx4(s, n, 2 * h + a, 2 * w + b, c)] += g;
          }
  };
  return v;
}

/** [N,H,W,C] → [N,C]. */
export function globalAvgPool(x: V): V {
  const [N, H, W, C] = x.shape;
  const out = t64([N, C]);
  const s = x.shape;
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) out.data[n * C + c] += x.value.data[idx4(s, n, h, w, c)] / (H * W);
  const v = new V(out, [x]);
  v.backward = () => {
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < C; c++) x.grad[idx4(s, n, h, w, c)] += v.grad[n * C + c] / (H * W);
  };
  return v;
}

/** Training-mode batch norm over N,H,W (biased variance). */
export function batchNorm(x: V, gamma: V, beta: V, eps = 1e-5): V {
  const [N, H, W, C] = x.shape;
  const m = N * H * W;
  const X = x.value.data;
  const mean = new Float64Array(C), vari = new Float64Array(C);
  for (let i = 0; i < X.length; i++) mean[i % C] += X[i] / m;
  for (let i = 0; i < X.length; i++) vari[i % C] += (X[i] - mean[i % C]) ** 2 / m;
  const inv = vari.map((s) => 1 / Math.sqrt(s + eps));
  const xhat = new Float64Array(X.length);
  const out = t64(x.shape);
  for (let i = 0; i < X.length; i++) {
    const c = i % C;
    xhat[i] = (X[i] - mean[c]) * inv[c];
    out.data[i] = gamma.value.data[c] * xhat[i] + beta.value.data[c];
  }
  const v = new V(out, [x, gamma, beta]);
  v.backward = () => {
    const G = v.grad;
    const sg = new Float64Array(C), sgx = new Float64Array(C);
    for (let i = 0; i < X.length; i++) {
      sg[i % C] += G[i];
      sgx[i % C] += G[i] * xhat[i];
    }
    for (let c = 0; c < C; c++) {
      beta.grad[c] += sg[c];
      gamma.grad[c] += sgx[c];
    }
    for (let i = 0; i < X.length; i++) {
      const c = i % C;
      x.grad[i] += gamma.value.data[c] * inv[c] * (G[i] - sg[c] / m - xhat[i] * sgx[c] / m);
    }
  };
  return v;
}

export function relu(x: V): V {
  const out = t64(x.shape, x.value.data.map((a) => (a > 0 ? a : 0)));
  const v = new V(out, [x]);
  v.backward = () => {
    for (let i = 0; i < out.data.length; i++) if (x.value.data[i] > 0) x.grad[i] += v.grad[i];
  };
  return v;
}

export function add(...xs: V[]): V {
  const out = t64(xs[0].shape);
  for (const x of xs) for (let i = 0; i < out.data.length; i++) out.data[i] += x.value.data[i];
  const v = new V(out, xs);
  v.backward = () => {
    for (const x of xs) for (let i = 0; i < out.data.length; i++) x.grad[i] += v.grad[i];
  };
  return v;
}

/** x [N,in] · w [in,out] + b [out]. */
export function linear(x: V, w: V, b: V): V {
  const [N, I] = x.shape;
  const O = w.shape[1];
  const out = t64([N, O]);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      let s = b.value.data[o];
      for (let i = 0; i < I; i++) s += x.value.data[n * I + i] * w.value.data[i * O + o];
      out.data[n * O + o] = s;
    }
  const v = new V(out, [x, w, b]);
  v.backward = () => {
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        const g = v.grad[n * O + o];
        b.grad[o] += g;
        for (let i = 0; i < I; i++) {
          x.grad[n * I + i] += g * w.value.data[i * O + o];
          w.grad[i * O + o] += g * x.value.data[n * I + i];
        }
      }
  };
  return v;
}

/** Mean cross-entropy of logits [N,C] against integer labels. */
export function crossEntropyMean(z: V, labels: ArrayLike<number>): V {
  const [N, C] = z.shape;
  const p = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, z.value.data[n * C + c]);
    let se = 0;
    for (let c = 0; c < C; c++) se += Math.exp(z.value.data[n * C + c] - mx);
    for (let c = 0; c < C; c++) p[n * C + c] = Math.exp(z.value.data[n * C + c] - mx) / se;
    loss -= (z.value.data[n * C + labels[n]] - mx - Math.log(se)) / N;
  }
  const v = new V(t64([], [loss]), [z]);
  v.backward = () => {
    const g = v.grad[0];
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) z.grad[n * C + c] += (g * (p[n * C + c] - (c === labels[n] ? 1 : 0))) / N;
  };
  return v;
}

/** Scalar sum(x ⊙ R), for gradient checks with a random cotangent R. */
export function dot(x: V, r: T64): V {
  let s = 0;
  for (let i = 0; i < r.data.length; i++) s += x.value.data[i] * r.data[i];
  const v = new V(t64([], [s]), [x]);
  v.backward = () => {
    for (let i = 0; i < r.data.length; i++) x.grad[i] += v.grad[0] * r.data[i];
  };
  return v;
}

// ---------------------------------------------------------------------------------------------
// Checks

/**
 * Central finite differences of `f` (a float64 scalar function of the leaves' values) with
 * respect to entries `which` of leaf `p`. Mutates and restores `p.value`.
 */
export function finiteDiff(f: () => number, p: V, which: number[], h = 1e-6): number[] {
  return which.map((i) => {
    const old = p.value.data[i];
    p.value.data[i] = old + h;
    const fp = f();
    p.value.data[i] = old - h;
    const fm = f();
    p.value.data[i] = old;
    return (fp - fm) / (2 * h);
  });
}

/** max |a − b| / max |b| (normwise relative error; 0 when both are 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} vs ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

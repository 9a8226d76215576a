/**
 * The binding of the optional native kernels: loads the oneDNN N-API addon built from
 * `native/` (the C++ project) and gives it a typed interface. tfjsKernels.ts registers these
 * functions as tfjs kernels; ../kernels/native.ts builds mfnas's ops on them.
 *
 * All tensors are float32 in TensorFlow.js layouts: activations NHWC, conv
 * filters HWIO (`[kh, kw, inChannels, outChannels]`), per-channel vectors
 * `[C]`. Inputs are read from and outputs written into caller-provided
 * `Float32Array`s — typically views on a WebAssembly.Memory buffer with a
 * non-zero byteOffset; nothing is copied. Each view must have exactly the
 * element count the shape implies. Outputs are overwritten (never
 * accumulated) and must not overlap inputs, except that `relu` may run in
 * place (y === x), `reluBackward` may write dx into dy, and the batch norms
 * may write y into x / dx into dy.
 *
 * Calls are synchronous. Primitives are cached per JS thread by shape; each
 * worker_thread has its own cache and thread setting.
 *
 * Results are bit-for-bit reproducible: they depend on the inputs and shapes
 * only — not on `setThreads`, on the calls made before, or on machine load
 * (see addon/README.md, "Reproducibility"). Another CPU may give other bits.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pair for (height, width); a single number means both. */
export type Pair = number | readonly [number, number];

/**
 * Zero padding: a number or [h, w] pads both sides symmetrically (PyTorch
 * `padding=`); an object gives each side (TensorFlow.js explicit / 'same'
 * padding, which may be asymmetric). Each side must be smaller than the kernel.
 */
export type Padding = Pair | { top: number; bottom: number; left: number; right: number };

export interface Conv2DShape {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  /** Filter size (kh, kw). */
  kernel: Pair;
  /** Default 1. */
  stride?: Pair;
  /** Default 0. Output size: floor((H + top + bottom - kh) / strideH) + 1. */
  pad?: Padding;
  /**
   * PyTorch's `groups` (default 1): output channels [j·Co/g, (j+1)·Co/g) see input channels
   * [j·Ci/g, (j+1)·Ci/g); the filter is [kh,kw,Ci/g,Co]. g = Ci = Co is depthwise ([kh,kw,C,1]).
   */
  groups?: number;
}

export interface Pool2DShape {
  batch: number;
  height: number;
  width: number;
  channels: number;
  kernel: Pair;
  /** Default: the kernel size. */
  stride?: Pair;
  /** Default 0. */
  pad?: Padding;
  /**
   * Divide by the number of non-padding elements (PyTorch
   * `count_include_pad=False`, oneDNN `pooling_avg_exclude_padding`).
   * Default true. Irrelevant when pad is 0.
   */
  excludePad?: boolean;
}

export interface BatchNormShape {
  batch: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * 'nhwc': run on user memory; 'blocked': oneDNN-preferred formats with reorders; 'auto': a fixed
 * rule on the shape and direction (addon/README.md, "Formats"). Each gives its own (reproducible) bits.
 */
export type ConvFormat = 'nhwc' | 'blocked' | 'auto';

/** The addon's positional interface (exported for hot paths such as tfjs kernel functions). */
export interface RawNativeAddon {
  readonly dnnlVersion: string;
  readonly cpuIsa: string;
  readonly abiVersion: number;
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, n: number, h: number, wd: number, ci: number, co: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, groups?: number): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, n: number, h: number, wd: number, ci: number, co: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, groups?: number): void;
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, n: number, h: number, wd: number, ci: number, co: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, groups?: number): void;
  batchNorm(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array, n: number, h: number, w: number, c: number, eps: number): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, gamma: Float32Array | null, mean: Float32Array, variance: Float32Array, dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, n: number, h: number, w: number, c: number, eps: number): void;
  relu(x: Float32Array, y: Float32Array): void;
  reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  addN(y: Float32Array, ...xs: Float32Array[]): void;
  avgPool(x: Float32Array, y: Float32Array, n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, excludePad: boolean): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, excludePad: boolean): void;
  setThreads(n: number): void;
  getThreads(): number;
  setConvFormat(mode: 0 | 1 | 2): void;
  getConvFormat(): number;
  clearCache(): void;
  cacheSize(): number;
  describeCache(): string;
}

export interface NativeKernels {
  /** oneDNN version, e.g. "2.6.3". */
  readonly dnnlVersion: string;
  /** The instruction set oneDNN's kernels use here, e.g. "avx512_core" (their bits depend on it). */
  readonly cpuIsa: string;
  /** Absolute path of the loaded .node file. */
  readonly addonPath: string;
  /** The positional addon functions. */
  readonly raw: RawNativeAddon;

  /** OpenMP threads used by kernels called from the current JS thread. Changes speed, never results. */
  setThreads(n: number): void;
  getThreads(): number;
  /** Process-wide convolution memory-format policy (default 'auto'). */
  setConvFormat(format: ConvFormat): void;
  getConvFormat(): ConvFormat;
  /** Drops the current thread's cached primitives and scratch memory. */
  clearCache(): void;
  cacheSize(): number;
  /** One line per cached primitive: key, oneDNN implementation, reorders. */
  describeCache(): string;

  /** [batch, outHeight, outWidth, outChannels] (PyTorch floor rule). */
  conv2dOutputShape(s: Conv2DShape): [number, number, number, number];
  /** y = conv(x, filter); x [N,H,W,Ci], filter [kh,kw,Ci/groups,Co], y [N,Ho,Wo,Co]. */
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, s: Conv2DShape): void;
  /** dx [N,H,W,Ci] from dy [N,Ho,Wo,Co] and filter. */
  conv2dBackwardData(dy: Float32Array, filter: Float32Array, dx: Float32Array, s: Conv2DShape): void;
  /** dFilter [kh,kw,Ci/groups,Co] from x and dy. */
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dFilter: Float32Array, s: Conv2DShape): void;

  /**
   * Training-mode batch norm over N,H,W per channel. gamma/beta may be null
   * (affine=false). mean/variance [C] receive the batch statistics; the
   * variance is biased (divisor N*H*W) — apply n/(n-1) yourself for running
   * statistics.
   */
  batchNorm(
    x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null,
    y: Float32Array, mean: Float32Array, variance: Float32Array,
    s: BatchNormShape, eps: number,
  ): void;
  /** dx, and dgamma/dbeta when given (dgamma requires gamma); mean/variance from batchNorm with the same eps. */
  batchNormBackward(
    x: Float32Array, dy: Float32Array, gamma: Float32Array | null,
    mean: Float32Array, variance: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null,
    s: BatchNormShape, eps: number,
  ): void;

  relu(x: Float32Array, y: Float32Array): void;
  /** dx = x > 0 ? dy : 0. */
  reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** y = ((xs[0] + xs[1]) + xs[2]) + … element by element (2 to 15 inputs of y's length): a chain of adds' bits. */
  addN(y: Float32Array, xs: readonly Float32Array[]): void;

  /** [batch, outHeight, outWidth, channels]. */
  pool2dOutputShape(s: Pool2DShape): [number, number, number, number];
  avgPool(x: Float32Array, y: Float32Array, s: Pool2DShape): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, s: Pool2DShape): void;
}

// Builds of ABI 2 chose convolution formats by timing and split reductions by thread count:
// refusing them keeps the reproducibility promise above.
const ADDON_ABI = 6;
const FORMATS: readonly ConvFormat[] = ['nhwc', 'blocked', 'auto'];

function pair(p: Pair | undefined, dflt: number): [number, number] {
  if (p === undefined) return [dflt, dflt];
  if (typeof p === 'number') return [p, p];
  return [p[0], p[1]];
}

type Pads = [top: number, bottom: number, left: number, right: number];

function pads(p: Padding | undefined): Pads {
  if (p === undefined) return [0, 0, 0, 0];
  if (typeof p === 'number') return [p, p, p, p];
  if ('top' in p) return [p.top, p.bottom, p.left, p.right];
  return [p[0], p[0], p[1], p[1]];
}

type ConvArgs = [n: number, h: number, w: number, ci: number, co: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, groups: number];
type PoolArgs = [n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, excludePad: boolean];

function convArgs(s: Conv2DShape): ConvArgs {
  const [kh, kw] = pair(s.kernel, 1);
  const [sh, sw] = pair(s.stride, 1);
  return [s.batch, s.height, s.width, s.inChannels, s.outChannels, kh, kw, sh, sw, ...pads(s.pad), s.groups ?? 1];
}

function poolArgs(s: Pool2DShape): PoolArgs {
  const [kh, kw] = pair(s.kernel, 1);
  const [sh, sw] = s.stride === undefined ? [kh, kw] : pair(s.stride, 1);
  return [s.batch, s.height, s.width, s.channels, kh, kw, sh, sw, ...pads(s.pad), s.excludePad ?? true];
}

function wrap(raw: RawNativeAddon, addonPath: string): NativeKernels {
  return {
    dnnlVersion: raw.dnnlVersion,
    cpuIsa: raw.cpuIsa,
    addonPath,
    raw,
    setThreads: (n) => raw.setThreads(n),
    getThreads: () => raw.getThreads(),
    setConvFormat: (f) => {
      const i = FORMATS.indexOf(f);
      if (i < 0) throw new RangeError(`setConvFormat: unknown format ${String(f)}`);
      raw.setConvFormat(i as 0 | 1 | 2);
    },
    getConvFormat: () => FORMATS[raw.getConvFormat()] ?? 'auto',
    clearCache: () => raw.clearCache(),
    cacheSize: () => raw.cacheSize(),
    describeCache: () => raw.describeCache(),
    conv2dOutputShape: (s) => {
      const [n, h, w, , co, kh, kw, sh, sw, pt, pb, pl, pr] = convArgs(s);
      return [n, Math.floor((h + pt + pb - kh) / sh) + 1, Math.floor((w + pl + pr - kw) / sw) + 1, co];
    },
    conv2d: (x, f, y, s) => raw.conv2d(x, f, y, ...convArgs(s)),
    conv2dBackwardData: (dy, f, dx, s) => raw.conv2dBackwardData(dy, f, dx, ...convArgs(s)),
    conv2dBackwardFilter: (x, dy, dw, s) => raw.conv2dBackwardFilter(x, dy, dw, ...convArgs(s)),
    batchNorm: (x, g, b, y, mean, variance, s, eps) =>
      raw.batchNorm(x, g, b, y, mean, variance, s.batch, s.height, s.width, s.channels, eps),
    batchNormBackward: (x, dy, g, mean, variance, dx, dg, db, s, eps) =>
      raw.batchNormBackward(x, dy, g, mean, variance, dx, dg, db, s.batch, s.height, s.width, s.channels, eps),
    relu: (x, y) => raw.relu(x, y),
    reluBackward: (x, dy, dx) => raw.reluBackward(x, dy, dx),
    addN: (y, xs) => raw.addN(y, ...xs),
    pool2dOutputShape: (s) => {
      const [n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr] = poolArgs(s);
      return [n, Math.floor((h + pt + pb - kh) / sh) + 1, Math.floor((w + pl + pr - kw) / sw) + 1, c];
    },
    avgPool: (x, y, s) => raw.avgPool(x, y, ...poolArgs(s)),
    avgPoolBackward: (dy, dx, s) => raw.avgPoolBackward(dy, dx, ...poolArgs(s)),
  };
}

const ADDON_REL = join('addon', 'build', 'Release', 'mfnas_native.node');

/** Where the addon is looked for: $MFNAS_NATIVE_PATH, else addon/build/Release under the package root. */
export function nativeAddonCandidates(): string[] {
  const out: string[] = [];
  const env = process.env.MFNAS_NATIVE_PATH;
  if (env) out.push(resolve(env));
  // src/engine/addon/binding.ts (tsx/vitest) or dist/engine/addon/binding.js (built): walk up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(join(dir, ADDON_REL));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

let cached: { kernels: NativeKernels | null; reason: string | null } | undefined;

/**
 * Loads the native kernels once per JS thread. Returns null when they are
 * unavailable; `nativeKernelsUnavailableReason()` then says why.
 * Set MFNAS_NATIVE=0 to disable them.
 */
export function loadNativeKernels(): NativeKernels | null {
  return tryLoadNativeKernels().kernels;
}

/** Why loadNativeKernels() returned null (null when loaded). */
export function nativeKernelsUnavailableReason(): string | null {
  return tryLoadNativeKernels().reason;
}

export function tryLoadNativeKernels(): { kernels: NativeKernels | null; reason: string | null } {
  if (cached) return cached;
  cached = load();
  return cached;
}

function load(): { kernels: NativeKernels | null; reason: string | null } {
  if (process.env.MFNAS_NATIVE === '0') return { kernels: null, reason: 'disabled by MFNAS_NATIVE=0' };
  const candidates = nativeAddonCandidates();
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    return {
      kernels: null,
      reason:
        'native addon not built (run `node addon/build.mjs`; it needs g++ and oneDNN: apt-get install libdnnl-dev)',
    };
  }
  let raw: RawNativeAddon;
  try {
    raw = createRequire(import.meta.url)(path) as RawNativeAddon;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const hint = /libdnnl/.test(msg) ? ' (is libdnnl installed? apt-get install libdnnl-dev)' : '';
    return { kernels: null, reason: `failed to load ${path}: ${msg}${hint}` };
  }
  if (raw.abiVersion !== ADDON_ABI) {
    return {
      kernels: null,
      reason: `${path} has ABI ${String(raw.abiVersion)}, expected ${ADDON_ABI}: rebuild with \`node addon/build.mjs\``,
    };
  }
  return { kernels: wrap(raw, path), reason: null };
}

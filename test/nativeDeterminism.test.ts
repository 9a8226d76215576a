/**
 * The native kernels give the same bits for the same input: whatever the thread count
 * (setThreads / MFNAS_THREADS), whatever ran before, and while other processes load the CPU.
 * Before, a convolution's memory format was chosen by timing both (so by machine load and
 * call order), and oneDNN's weight-gradient and batch-norm reductions were split by thread.
 * Outputs are compared as bytes. Correctness against float64 is test/native.test.ts's job;
 * here only the batch chunking (uneven chunks, many blocks) is checked against it too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { Conv2DShape } from '../src/engine/addon/binding.js';
import { K, kernels, nativeKernelsUnavailableReason } from './helpers/nativeKernels.js';
import {
  batchNormBackwardRef,
  batchNormRef,
  conv2dBackwardDataRef,
  conv2dBackwardFilterRef,
  conv2dRef,
  maxRelError,
  randomArray,
  type RefConv,
} from './nativeReference.js';

const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

/** Shapes of NAS-Bench-201 networks on CIFAR at batch 128, stride 2 included. */
const SHAPES: Array<[string, Conv2DShape]> = [
  ['32x32x16 3x3', { batch: 128, height: 32, width: 32, inChannels: 16, outChannels: 16, kernel: 3, pad: 1 }],
  ['32x32x16 1x1', { batch: 128, height: 32, width: 32, inChannels: 16, outChannels: 16, kernel: 1 }],
  ['16x16x32 3x3', { batch: 128, height: 16, width: 16, inChannels: 32, outChannels: 32, kernel: 3, pad: 1 }],
  ['8x8x64 3x3', { batch: 128, height: 8, width: 8, inChannels: 64, outChannels: 64, kernel: 3, pad: 1 }],
  ['32x32x16->32 3x3 stride 2', { batch: 128, height: 32, width: 32, inChannels: 16, outChannels: 32, kernel: 3, stride: 2, pad: 1 }],
  ['16x16x32->64 3x3 stride 2, batch 100', { batch: 100, height: 16, width: 16, inChannels: 32, outChannels: 64, kernel: 3, stride: 2, pad: 1 }],
  // NAS-Bench-Macro's depthwise layers (groups = channels).
  ['16x16x192 5x5 depthwise stride 2', { batch: 128, height: 16, width: 16, inChannels: 192, outChannels: 192, kernel: 5, stride: 2, pad: 2, groups: 192 }],
  ['8x8x384 3x3 depthwise, batch 100', { batch: 100, height: 8, width: 8, inChannels: 384, outChannels: 384, kernel: 3, pad: 1, groups: 384 }],
];

interface Inputs { x: Float32Array; f: Float32Array; dy: Float32Array; gamma: Float32Array; beta: Float32Array; bnDy: Float32Array }

function inputsFor(s: Conv2DShape, seed: number): Inputs {
  const k = K();
  const kk = typeof s.kernel === 'number' ? s.kernel * s.kernel : s.kernel[0] * s.kernel[1];
  const xLen = s.batch * s.height * s.width * s.inChannels;
  return {
    x: randomArray(xLen, seed),
    f: randomArray((kk * s.inChannels * s.outChannels) / (s.groups ?? 1), seed + 1),
    dy: randomArray(prod(k.conv2dOutputShape(s)), seed + 2),
    gamma: randomArray(s.inChannels, seed + 3).map((v) => v + 1.5),
    beta: randomArray(s.inChannels, seed + 4),
    bnDy: randomArray(xLen, seed + 5),
  };
}

/** Every output of every kernel that reduces over the batch, as bytes. */
function outputs(s: Conv2DShape, inp: Inputs): Record<string, Buffer> {
  const k = K();
  const c = s.inChannels;
  const bs = { batch: s.batch, height: s.height, width: s.width, channels: c };
  const y = new Float32Array(inp.dy.length), dx = new Float32Array(inp.x.length), df = new Float32Array(inp.f.length);
  k.conv2d(inp.x, inp.f, y, s);
  k.conv2dBackwardData(inp.dy, inp.f, dx, s);
  k.conv2dBackwardFilter(inp.x, inp.dy, df, s);
  const bnY = new Float32Array(inp.x.length), mean = new Float32Array(c), variance = new Float32Array(c);
  k.batchNorm(inp.x, inp.gamma, inp.beta, bnY, mean, variance, bs, 1e-5);
  const bnDx = new Float32Array(inp.x.length), dgamma = new Float32Array(c), dbeta = new Float32Array(c);
  k.batchNormBackward(inp.x, inp.bnDy, inp.gamma, mean, variance, bnDx, dgamma, dbeta, bs, 1e-5);
  const ps = { batch: s.batch, height: s.height, width: s.width, channels: c, kernel: 3, stride: 1, pad: 1 };
  const pool = new Float32Array(inp.x.length), poolDx = new Float32Array(inp.x.length);
  k.avgPool(inp.x, pool, ps);
  k.avgPoolBackward(inp.bnDy, poolDx, ps);
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return {
    conv: bytes(y), convDx: bytes(dx), convDw: bytes(df),
    bnY: bytes(bnY), bnMean: bytes(mean), bnVar: bytes(variance), bnDx: bytes(bnDx), bnDgamma: bytes(dgamma), bnDbeta: bytes(dbeta),
    pool: bytes(pool), poolDx: bytes(poolDx),
  };
}

/** Names of the outputs whose bytes differ. */
function differing(a: Record<string, Buffer>, b: Record<string, Buffer>): string[] {
  return Object.keys(a).filter((name) => !a[name].equals(b[name]));
}

function withThreads<T>(n: number, fn: () => T): T {
  const k = K();
  const before = k.getThreads();
  k.setThreads(n);
  try {
    expect(k.getThreads()).toBe(n);
    return fn();
  } finally {
    k.setThreads(before);
  }
}

const inputs = new Map<string, Inputs>(SHAPES.map(([name, s], i) => [name, inputsFor(s, 100 + 10 * i)]));
const reference = new Map<string, Record<string, Buffer>>();

/** Outputs with one thread, computed once with a fresh cache (the first call counts too). */
function referenceOf(name: string, s: Conv2DShape): Record<string, Buffer> {
  let r = reference.get(name);
  if (!r) {
    K().clearCache();
    r = withThreads(1, () => outputs(s, inputs.get(name)!));
    reference.set(name, r);
  }
  return r;
}

describe('native kernels are bit-for-bit deterministic', () => {
  it('loads the addon', () => {
    expect(kernels, String(nativeKernelsUnavailableReason())).not.toBeNull();
  });

  it.runIf(kernels).each(SHAPES)('%s: same bytes with 1, 2, 3 and 4 threads', (name, s) => {
    const ref = referenceOf(name, s);
    for (const threads of [2, 3, 4, 1]) {
      expect(differing(withThreads(threads, () => outputs(s, inputs.get(name)!)), ref), `${threads} threads`).toEqual([]);
    }
  });

  it.runIf(kernels)('same bytes whatever ran before: fresh cache, shapes in reverse order, repeated calls', () => {
    const k = K();
    for (const [name, s] of SHAPES) referenceOf(name, s);
    k.clearCache();
    for (const threads of [1, 2]) {
      for (const [name, s] of [...SHAPES].reverse()) {
        const first = withThreads(threads, () => outputs(s, inputs.get(name)!));
        const second = withThreads(threads, () => outputs(s, inputs.get(name)!));
        expect(differing(first, reference.get(name)!), `${name}, ${threads} threads, first call`).toEqual([]);
        expect(differing(second, reference.get(name)!), `${name}, ${threads} threads, second call`).toEqual([]);
      }
    }
  });

  describe('while other processes keep the CPU busy', () => {
    let burners: ChildProcess[] = [];
    afterEach(() => {
      for (const b of burners) b.kill('SIGKILL');
      burners = [];
    });

    it.runIf(kernels)('same bytes with a CPU-burning child process per core running', async () => {
      for (const [name, s] of SHAPES) referenceOf(name, s);
      burners = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
      await Promise.all(burners.map((b) => new Promise((resolve, reject) => { b.once('spawn', resolve); b.once('error', reject); })));
      await new Promise((r) => setTimeout(r, 200)); // let them get going
      K().clearCache();
      for (const [name, s] of SHAPES) {
        for (const threads of [1, 2, 3]) {
          expect(differing(withThreads(threads, () => outputs(s, inputs.get(name)!)), reference.get(name)!), `${name}, ${threads} threads`).toEqual([]);
        }
      }
      expect(burners.every((b) => b.exitCode === null)).toBe(true); // the load really was there
    });
  });

  // OpenMP settings a user may have in the environment must not reach the arithmetic either.
  it.runIf(kernels)('same bytes in a process with OMP_NUM_THREADS, nested parallelism and dynamic teams set', () => {
    // Both sides compute the same thing from the same generator; only the digest crosses over.
    const program = `
      const m = require(process.argv[1]);
      let seed = 12345;
      const rand = (n) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5);
      const [n, h, w, ci, co] = [96, 16, 16, 32, 64];
      const x = rand(n * h * w * ci), dy = rand(n * 8 * 8 * co), g = rand(ci), b = rand(ci);
      const dw = new Float32Array(9 * ci * co), y = new Float32Array(x.length), mean = new Float32Array(ci), v = new Float32Array(ci);
      m.setThreads(Number(process.argv[2]));
      m.conv2dBackwardFilter(x, dy, dw, n, h, w, ci, co, 3, 3, 2, 2, 1, 1, 1, 1);
      m.batchNorm(x, g, b, y, mean, v, n, h, w, ci, 1e-5);
      const hash = require('node:crypto').createHash('sha256');
      for (const a of [dw, y, mean, v]) hash.update(new Uint8Array(a.buffer));
      process.stdout.write(hash.digest('hex'));
    `;
    const digest = (threads: number, env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['-e', program, K().addonPath, String(threads)], { env: { ...process.env, ...env }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    const plain = digest(1, {});
    expect(plain).toMatch(/^[0-9a-f]{64}$/);
    const omp = { OMP_NUM_THREADS: '3', OMP_NESTED: 'true', OMP_MAX_ACTIVE_LEVELS: '4', OMP_DYNAMIC: 'true', OMP_WAIT_POLICY: 'passive' };
    expect(digest(1, omp)).toBe(plain);
    expect(digest(2, omp)).toBe(plain);
    expect(digest(4, omp)).toBe(plain);
  });

  it.runIf(kernels)('same bytes from a worker_thread with 2 threads', async () => {
    const [name, s] = SHAPES[4];
    const ref = referenceOf(name, s);
    const inp = inputs.get(name)!;
    const code = `
      const { parentPort, workerData: d } = require('node:worker_threads');
      const m = require(d.path);
      m.setThreads(2);
      const dw = new Float32Array(d.f.length), mean = new Float32Array(d.c), variance = new Float32Array(d.c);
      const y = new Float32Array(d.x.length);
      m.conv2dBackwardFilter(d.x, d.dy, dw, ...d.dims);
      m.batchNorm(d.x, d.gamma, d.beta, y, mean, variance, d.dims[0], d.dims[1], d.dims[2], d.c, 1e-5);
      parentPort.postMessage({ dw, variance });
    `;
    const dims = [s.batch, s.height, s.width, s.inChannels, s.outChannels, 3, 3, 2, 2, 1, 1, 1, 1];
    const worker = new Worker(code, {
      eval: true,
      workerData: { path: K().addonPath, x: inp.x, dy: inp.dy, f: inp.f, gamma: inp.gamma, beta: inp.beta, c: s.inChannels, dims },
    });
    const msg = await new Promise<{ dw: Float32Array; variance: Float32Array }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(Buffer.from(msg.dw.buffer).equals(ref.convDw)).toBe(true);
    expect(Buffer.from(msg.variance.buffer).equals(ref.bnVar)).toBe(true);
  });
});

describe('native kernels on batches split into chunks', () => {
  const refConv = (s: Conv2DShape): RefConv => ({
    n: s.batch, h: s.height, w: s.width, ci: s.inChannels, co: s.outChannels,
    kh: 3, kw: 3, sh: (s.stride as number) ?? 1, sw: (s.stride as number) ?? 1, pt: 1, pb: 1, pl: 1, pr: 1,
  });

  // Batches above 32 images run as chunks of near-equal size (33 = 17 + 16, 70 = 3 x 24-ish, 100 = 4 x 25).
  it.runIf(kernels).each([33, 70, 100])('batch %i: conv gradients and batch norm match float64 references', (n) => {
    const k = K();
    const s: Conv2DShape = { batch: n, height: 6, width: 5, inChannels: 16, outChannels: 8, kernel: 3, stride: 2, pad: 1 };
    const r = refConv(s);
    const x = randomArray(n * 6 * 5 * 16, n), f = randomArray(9 * 16 * 8, n + 1);
    const dy = randomArray(prod(k.conv2dOutputShape(s)), n + 2);
    const y = new Float32Array(dy.length), dx = new Float32Array(x.length), df = new Float32Array(f.length);
    withThreads(2, () => {
      k.conv2d(x, f, y, s);
      k.conv2dBackwardData(dy, f, dx, s);
      k.conv2dBackwardFilter(x, dy, df, s);
    });
    expect(maxRelError(y, conv2dRef(x, f, r))).toBeLessThan(2e-5);
    expect(maxRelError(dx, conv2dBackwardDataRef(dy, f, r))).toBeLessThan(2e-5);
    expect(maxRelError(df, conv2dBackwardFilterRef(x, dy, r))).toBeLessThan(2e-5);
  });

  it.runIf(kernels)('batch norm over many pixel blocks, with channel means far above their spread', () => {
    const k = K();
    const [n, h, w, c] = [37, 9, 7, 21]; // 2331 pixels: blocks of 1024 + a partial one; 21 channels: every tile width
    const x = randomArray(n * h * w * c, 7).map((v, i) => 1000 * ((i % c) - 10) + v);
    const gamma = randomArray(c, 8).map((v) => v + 1.5), beta = randomArray(c, 9), dy = randomArray(x.length, 10);
    const shape = { batch: n, height: h, width: w, channels: c };
    const y = new Float32Array(x.length), mean = new Float32Array(c), variance = new Float32Array(c);
    const dx = new Float32Array(x.length), dgamma = new Float32Array(c), dbeta = new Float32Array(c);
    withThreads(3, () => {
      k.batchNorm(x, gamma, beta, y, mean, variance, shape, 1e-5);
      k.batchNormBackward(x, dy, gamma, mean, variance, dx, dgamma, dbeta, shape, 1e-5);
    });
    // The statistics are the test: one pass over deviations from a reference value, in double.
    const ref = batchNormRef(x, gamma, beta, c, 1e-5);
    expect(maxRelError(mean, ref.mean)).toBeLessThan(2e-5);
    expect(maxRelError(variance, ref.variance)).toBeLessThan(2e-5);
    // The rest is checked given the float32 statistics the caller receives: rounding a mean of
    // ~1e4 to float32 moves x - mean by up to 5e-4, far more than the kernels' own error.
    const yRef = Float64Array.from(x, (v, i) => ((v - mean[i % c]) / Math.sqrt(variance[i % c] + 1e-5)) * gamma[i % c] + beta[i % c]);
    expect(maxRelError(y, yRef)).toBeLessThan(1e-4);
    const g = batchNormBackwardRef(x, dy, gamma, mean, variance, c, 1e-5);
    expect(maxRelError(dgamma, g.dgamma)).toBeLessThan(1e-4);
    expect(maxRelError(dbeta, g.dbeta)).toBeLessThan(1e-4);
    expect(maxRelError(dx, g.dx)).toBeLessThan(1e-4);
  });
});

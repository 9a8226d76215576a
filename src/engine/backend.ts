/**
 * Engine selection and initialisation.
 *
 * `initEngine()` picks a TensorFlow.js backend, initialises it and registers mfnas's kernels:
 *  - 'node': `@tensorflow/tfjs-node` (native TensorFlow), used when it can be imported. It is an
 *    optional dependency: it is never required, only tried with a dynamic import.
 *  - 'wasm': `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, single-threaded in Node), with
 *    mfnas's conv-gradient and zero-copy Identity kernels. The .wasm binaries are read from the
 *    installed package's dist directory (no network).
 *  - 'native': the wasm backend with its hot kernels (convolutions and their gradients, batch
 *    norm, ReLU and pooling gradients) replaced by oneDNN through the optional N-API addon
 *    (./addon/binding.ts, built from addon/ at install when libdnnl-dev is present). Same
 *    model, same tensors, zero-copy on the wasm heap.
 *  - 'cpu': the pure-JS backend; slow, for tests only.
 * 'auto' (the default) = 'node' if importable, else 'native' if the addon loads, else 'wasm'
 * (with a one-line notice saying why native is not used). The environment variable
 * `MFNAS_ENGINE` (auto|native|wasm|node|cpu), when set, overrides the requested backend.
 *
 * Starting an engine also selects the implementations of mfnas's own kernels that the ops
 * (./ops.ts) run on it (./kernels/registry.ts): ops never ask which backend is active.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { selectMfnasKernels } from './kernels/index.js';
import { tryLoadNativeKernels, type NativeKernels } from './addon/binding.js';
import { makeNativeKernels } from './addon/tfjsKernels.js';
import { registerCustomKernels } from './wasm/tfjsKernels.js';
import { guardWasmHeap } from './wasm/heap.js';
import { InputError } from '../util/errors.js';

export type EngineBackend = 'auto' | 'native' | 'wasm' | 'node' | 'cpu';
export type ActiveBackend = 'native' | 'wasm' | 'node' | 'cpu';

export interface EngineInfo {
  /** mfnas name of the backend in use. */
  backend: ActiveBackend;
  /** tfjs backend name ('wasm', 'tensorflow' or 'cpu'). */
  tfBackend: string;
  /** wasm only: whether the SIMD binary is in use. */
  simd: boolean;
  /** wasm only: whether the multi-threaded binary is in use (never in Node). */
  threads: boolean;
  /** mfnas kernels registered on this backend. */
  customKernels: string[];
  /** native only: oneDNN version and threads per kernel call. */
  native?: { dnnlVersion: string; threads: number };
}

export interface InitEngineOptions {
  backend?: EngineBackend;
  /**
   * native only: how many batch chunks a kernel call runs at once. Default `MFNAS_THREADS`,
   * else 1. Results do not depend on it: every kernel splits the batch into chunks fixed by the
   * batch size alone and reduces them in a fixed order (addon/README.md, Reproducibility).
   */
  threads?: number;
}

const TF_NAME: Record<ActiveBackend, string> = { native: 'wasm', wasm: 'wasm', node: 'tensorflow', cpu: 'cpu' };
const VALID = new Set<EngineBackend>(['auto', 'native', 'wasm', 'node', 'cpu']);

let current: EngineInfo | null = null;
let pending: Promise<EngineInfo> | null = null;
let wasmLoaded = false;
let nodeTried: boolean | null = null;

/** The requested backend after applying `MFNAS_ENGINE`. */
export function requestedBackend(opts?: InitEngineOptions): EngineBackend {
  const env = process.env.MFNAS_ENGINE?.trim().toLowerCase();
  if (env) {
    if (!VALID.has(env as EngineBackend)) {
      throw new InputError(`MFNAS_ENGINE=${JSON.stringify(env.slice(0, 20))} is not an engine: use auto, native, wasm, node or cpu`);
    }
    return env as EngineBackend;
  }
  return opts?.backend ?? 'auto';
}

async function tryLoadNode(): Promise<boolean> {
  if (nodeTried != null) return nodeTried;
  try {
    // A variable specifier keeps TypeScript and bundlers from resolving the optional package.
    const spec = '@tensorflow/tfjs-node';
    await import(spec);
    nodeTried = tf.findBackendFactory('tensorflow') != null;
  } catch {
    nodeTried = false;
  }
  return nodeTried;
}

/** Directory holding the tfjs-backend-wasm .wasm files, with a trailing separator. */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@tensorflow/tfjs-backend-wasm'); // .../dist/tf-backend-wasm.node.js
  return path.dirname(main) + path.sep;
}

async function loadWasm(): Promise<void> {
  if (wasmLoaded) return;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDir());
  wasmLoaded = true;
}

let nativeConfigs: tf.KernelConfig[] | null = null;
/** The wasm kernels that the native ones replaced, to put back when switching to plain wasm. */
const replacedByNative = new Map<string, tf.KernelConfig | undefined>();

function nativeThreads(opts?: InitEngineOptions): number {
  const env = Number(process.env.MFNAS_THREADS);
  if (opts?.threads) return opts.threads;
  if (Number.isInteger(env) && env > 0) return env;
  return 1;
}

function setNativeKernels(native: NativeKernels | null): void {
  if (native) {
    nativeConfigs ??= makeNativeKernels(native);
    for (const k of nativeConfigs) {
      if (replacedByNative.has(k.kernelName)) continue;
      const prev = tf.getKernel(k.kernelName, k.backendName);
      replacedByNative.set(k.kernelName, prev ? { ...prev } : undefined);
      if (prev) tf.unregisterKernel(k.kernelName, k.backendName);
      tf.registerKernel(k);
    }
  } else {
    for (const [name, prev] of replacedByNative) {
      tf.unregisterKernel(name, 'wasm');
      if (prev) tf.registerKernel(prev);
    }
    replacedByNative.clear();
  }
}

let nativeNoticeShown = false;

/**
 * The native kernels, or null with a one-line notice on stderr (once per process). Also used
 * by the worker pool's owner, whose workers pick their engine silently.
 */
export function nativeOrNotice(): NativeKernels | null {
  const { kernels, reason } = tryLoadNativeKernels();
  if (!kernels && !nativeNoticeShown && isMainThread) {
    nativeNoticeShown = true;
    process.stderr.write(`mfnas: native kernels unavailable (${reason}); using the wasm engine\n`);
  }
  return kernels;
}

async function activate(name: ActiveBackend, opts?: InitEngineOptions): Promise<EngineInfo> {
  let native: NativeKernels | null = null;
  if (name === 'native') {
    const { kernels, reason } = tryLoadNativeKernels();
    if (!kernels) throw new Error(`MFNAS engine 'native' is unavailable: ${reason}`);
    native = kernels;
    native.setThreads(nativeThreads(opts));
  }
  if (name === 'wasm' || name === 'native') await loadWasm();
  if (name === 'node' && !(await tryLoadNode())) {
    throw new Error("MFNAS engine 'node' needs @tensorflow/tfjs-node, which is not installed (npm install @tensorflow/tfjs-node)");
  }
  const tfName = TF_NAME[name];
  const customKernels = registerCustomKernels(tfName);
  if (tfName === 'wasm') setNativeKernels(native);
  if (native) customKernels.push(...nativeConfigs!.map((k) => `${k.kernelName} (oneDNN)`));
  if (!(await tf.setBackend(tfName))) throw new Error(`could not initialise the tfjs '${tfName}' backend`);
  await tf.ready();
  if (tfName === 'wasm') guardWasmHeap(tf.backend());
  selectMfnasKernels(name);
  if (name === 'cpu') {
    // Silence the "install tfjs-node" banner the cpu backend prints on first use in Node.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
  const simd = tfName === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  const threads = tfName === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : false;
  return {
    backend: name, tfBackend: tfName, simd, threads, customKernels,
    ...(native ? { native: { dnnlVersion: native.dnnlVersion, threads: native.getThreads() } } : {}),
  };
}

/**
 * Initialise the tensor engine (idempotent; calling again with another backend switches to it).
 * Resolves with what is in use.
 */
export async function initEngine(opts?: InitEngineOptions): Promise<EngineInfo> {
  if (pending) await pending.catch(() => undefined);
  if (current && requestedBackend(opts) === 'auto') return current; // any initialised backend satisfies 'auto'
  const target = await resolveBackend(opts);
  if (current && current.backend === target && tf.getBackend() === current.tfBackend) return current;
  pending = activate(target, opts);
  try {
    current = await pending;
    return current;
  } finally {
    pending = null;
  }
}

/**
 * The backend `initEngine(opts)` activates, without activating it: a worker pool's owner resolves
 * it once and hands it to every worker, so one run never mixes engines.
 */
export async function resolveBackend(opts?: InitEngineOptions): Promise<ActiveBackend> {
  const req = requestedBackend(opts);
  if (req !== 'auto') return req;
  if (current) return current.backend;
  return (await tryLoadNode()) ? 'node' : nativeOrNotice() ? 'native' : 'wasm';
}

/**
 * Version of the arithmetic of mfnas's own kernels per engine. Engines agree only to float32
 * tolerance, so a score is cached under the engine that computed it; bump a number whenever a
 * kernel change moves results by even one bit (native 2: fixed convolution formats and
 * thread-count-independent reductions; native 3: oneDNN average pooling forward; node 2: cell
 * sums by AddN, whose order TensorFlow does not promise; native 4: oneDNN depthwise convolution,
 * which only NAS-Bench-Macro networks use — TSS and SSS scores are unchanged).
 */
const KERNEL_ARITHMETIC: Record<ActiveBackend, number> = { native: 4, wasm: 1, node: 2, cpu: 1 };

/**
 * Names an engine down to what fixes its bits, e.g. `native:3:tfjs-4.22.0:onednn-2.6.3:avx512_core`
 * (oneDNN picks its convolution kernels by instruction set).
 */
export function engineKey(backend: ActiveBackend): string {
  const base = `${backend}:${KERNEL_ARITHMETIC[backend]}:tfjs-${tf.version_core}`;
  if (backend !== 'native') return base;
  const { kernels, reason } = tryLoadNativeKernels();
  if (!kernels) throw new Error(`MFNAS engine 'native' is unavailable: ${reason}`);
  return `${base}:onednn-${kernels.dnnlVersion}:${kernels.cpuIsa}`;
}

/** The active engine, or null before `initEngine()`. */
export function engineInfo(): EngineInfo | null {
  return current;
}

/** The active mfnas backend name; throws before `initEngine()`. */
export function activeBackend(): ActiveBackend {
  if (!current) throw new Error('initEngine() has not been called');
  return current.backend;
}

export { tf };
export { EngineMemoryError } from './wasm/heap.js';

/**
 * Engine selection and initialisation.
 *
 * `initEngine()` picks a TensorFlow.js backend, initialises it and registers mfnas's kernels:
 *  - 'node': `@tensorflow/tfjs-node` (native TensorFlow), used when it can be imported. It is an
 *    optional dependency: it is never required, only tried with a dynamic import.
 *  - 'wasm': `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, single-threaded in Node), with
 *    mfnas's conv-gradient and zero-copy Identity kernels. The .wasm binaries are read from the
 *    installed package's dist directory (no network).
 *  - 'cpu': the pure-JS backend; slow, for tests only.
 * 'auto' (the default) = 'node' if importable, else 'wasm'. The environment variable
 * `MFNAS_ENGINE` (auto|node|wasm|cpu), when set, overrides the requested backend.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerCustomKernels } from './kernels/index.js';

export type EngineBackend = 'auto' | 'wasm' | 'node' | 'cpu';
export type ActiveBackend = 'wasm' | 'node' | 'cpu';

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
}

export interface InitEngineOptions {
  backend?: EngineBackend;
}

const TF_NAME: Record<ActiveBackend, string> = { wasm: 'wasm', node: 'tensorflow', cpu: 'cpu' };
const VALID = new Set<EngineBackend>(['auto', 'wasm', 'node', 'cpu']);

let current: EngineInfo | null = null;
let pending: Promise<EngineInfo> | null = null;
let wasmLoaded = false;
let nodeTried: boolean | null = null;

/** The requested backend after applying `MFNAS_ENGINE`. */
export function requestedBackend(opts?: InitEngineOptions): EngineBackend {
  const env = process.env.MFNAS_ENGINE?.trim().toLowerCase();
  if (env) {
    if (!VALID.has(env as EngineBackend)) {
      throw new Error(`MFNAS_ENGINE=${env} is not one of auto, wasm, node, cpu`);
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

async function activate(name: ActiveBackend): Promise<EngineInfo> {
  if (name === 'wasm') await loadWasm();
  if (name === 'node' && !(await tryLoadNode())) {
    throw new Error("MFNAS engine 'node' needs @tensorflow/tfjs-node, which is not installed (npm install @tensorflow/tfjs-node)");
  }
  const tfName = TF_NAME[name];
  const customKernels = registerCustomKernels(tfName);
  if (!(await tf.setBackend(tfName))) throw new Error(`could not initialise the tfjs '${tfName}' backend`);
  await tf.ready();
  if (name === 'cpu') {
    // Silence the "install tfjs-node" banner the cpu backend prints on first use in Node.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
  const simd = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  const threads = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : false;
  return { backend: name, tfBackend: tfName, simd, threads, customKernels };
}

/**
 * Initialise the tensor engine (idempotent; calling again with another backend switches to it).
 * Resolves with what is in use.
 */
export async function initEngine(opts?: InitEngineOptions): Promise<EngineInfo> {
  const req = requestedBackend(opts);
  if (pending) await pending.catch(() => undefined);
  let target: ActiveBackend;
  if (req === 'auto') {
    if (current) return current; // any initialised backend satisfies 'auto'
    target = (await tryLoadNode()) ? 'node' : 'wasm';
  } else {
    target = req;
  }
  if (current && current.backend === target && tf.getBackend() === current.tfBackend) return current;
  pending = activate(target);
  try {
    current = await pending;
    return current;
  } finally {
    pending = null;
  }
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

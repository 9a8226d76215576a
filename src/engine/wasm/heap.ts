/**
 * A clear error when the wasm heap is full.
 *
 * Every tensor of the wasm (and native) engine lives on one 32-bit wasm heap, at most 4 GB. When
 * it cannot grow any more, emscripten's malloc returns 0 and the kernel that asked writes its
 * output over address 0: a native kernel then reports "an output overlaps an input", a wasm one
 * aborts the module ("Aborted()"). Checking the pointer where tensors are allocated turns that
 * into an error that says what happened, with the tensor's shape and, for an image batch, the
 * batch size to reduce.
 */
import { InputError } from '../../util/errors.js';

/** The tensor memory of the engine (the wasm heap) cannot hold a new tensor. */
export class EngineMemoryError extends InputError {
  constructor(
    message: string,
    /** Shape of the tensor that did not fit. */
    readonly shape: readonly number[],
    /** Its leading dimension when it is an image batch (rank 4), else null. */
    readonly batch: number | null,
  ) {
    super(message);
    this.name = 'EngineMemoryError';
  }
}

interface WasmModuleLike {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}

interface WasmBackendLike {
  wasm: WasmModuleLike;
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
}

class HeapFull extends Error {}

/** emscripten's getHeapMax() of the tfjs-backend-wasm build (4 GB − 64 KB). */
const HEAP_MAX = 4294901760;

const guarded = new WeakSet<object>();

function mb(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GB` : `${Math.round(bytes / 2 ** 20)} MB`;
}

/** The message of an EngineMemoryError (exported for tests). */
export function heapFullMessage(shape: readonly number[], dtype: string, heapBytes: number): string {
  const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === 'float32' || dtype === 'int32' ? 4 : 1);
  const what = `a ${dtype} [${shape.join(',')}] tensor (${mb(bytes)})`;
  const base = `the engine is out of memory: its wasm heap (now ${mb(heapBytes)}, 4 GB at most) cannot hold ${what}`;
  if (shape.length === 4 && shape[0] > 1) {
    const n = shape[0];
    return `${base}; a batch of ${n} images is too large for this network on this engine: use a smaller batch (e.g. ${Math.max(1, Math.floor(n / 2))})`;
  }
  return `${base}; use a smaller batch or a smaller network`;
}

/**
 * Makes the wasm backend `backend` throw an EngineMemoryError instead of handing a kernel a null
 * pointer when its heap is full (idempotent).
 */
export function guardWasmHeap(backend: unknown): void {
  const b = backend as WasmBackendLike;
  if (!b?.wasm || typeof b.move !== 'function' || guarded.has(b)) return;
  guarded.add(b);
  const mod = b.wasm;
  // emscripten's exports are stubs that replace themselves on their first call: resolve them
  // first, so that the wrapper below is not overwritten.
  mod._free(mod._malloc(16));
  const malloc = mod._malloc;
  mod._malloc = (bytes: number): number => {
    const ptr = malloc(bytes);
    if (ptr === 0 && bytes > 0) throw new HeapFull();
    return ptr;
  };
  const move = b.move.bind(b);
  const fail = (shape: number[], dtype: string): EngineMemoryError =>
    new EngineMemoryError(heapFullMessage(shape, dtype, mod.HEAPU8.length), shape, shape.length === 4 ? shape[0] : null);
  b.move = (dataId, values, shape, dtype, refCount) => {
    // tfjs passes the byte count as a 32-bit int: 4 GB or more would wrap to a small request.
    if (shape.reduce((a, d) => a * d, 1) * 4 > HEAP_MAX) throw fail(shape, dtype);
    try {
      move(dataId, values, shape, dtype, refCount);
    } catch (e) {
      if (!(e instanceof HeapFull)) throw e;
      throw fail(shape, dtype);
    }
  };
}

/**
 * Helpers for writing kernels out of other kernels of the same backend.
 *
 * Inside a kernel function we must not call high-level `tf.*` ops: they would be tracked by the
 * engine's current scope and recorded nowhere useful. Instead we call the backend's own
 * registered kernel functions, which take and return plain `TensorInfo`s, and release every
 * intermediate with `backend.disposeData` (reference counted, so views such as `Reshape`
 * outputs are safe to release).
 */
import * as tf from '@tensorflow/tfjs';

export type TensorInfo = tf.TensorInfo;

/** Minimal view of a backend used by our kernels. */
export interface KernelBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef?(dataId: object): void;
}

export class KernelRunner {
  private readonly temps: TensorInfo[] = [];
  constructor(
    readonly backendName: string,
    readonly backend: KernelBackend,
  ) {}

  /** Run the backend's registered kernel `name`; the result is tracked as a temporary. */
  run(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
    const kernel = tf.getKernel(name, this.backendName);
    if (kernel == null) throw new Error(`kernel ${name} is not registered for backend ${this.backendName}`);
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      attrs: attrs as tf.NamedAttrMap,
      backend: this.backend as unknown as tf.KernelBackend,
    }) as TensorInfo | TensorInfo[];
    if (Array.isArray(out)) throw new Error(`kernel ${name} returned several outputs`);
    this.temps.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Release a temporary early (to lower the peak memory). */
  release(t: TensorInfo): void {
    const i = this.temps.indexOf(t);
    if (i >= 0) {
      this.temps.splice(i, 1);
      this.backend.disposeData(t.dataId);
    }
  }

  /** Release every temporary except `keep` (the kernel's output). */
  finish(keep: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== keep) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
    return keep;
  }

  /** Release every temporary (error path). */
  abort(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

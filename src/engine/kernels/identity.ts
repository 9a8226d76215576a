/**
 * A zero-copy `Identity` for the wasm backend. The stock one copies the buffer, and the engine
 * calls `Identity` (via `clone`) for every tensor it saves for the backward pass, so with the
 * stock kernel each recorded op duplicated its inputs. Tensors are immutable in tfjs, so sharing
 * the data id (reference counted, exactly what the cpu backend's Identity and every backend's
 * Reshape do) is safe.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from './util.js';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

export function makeIdentityKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: 'Identity',
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as TensorInfo;
      if (x.dtype === 'string') throw new Error('mfnas Identity kernel: string tensors are not supported');
      (backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
}

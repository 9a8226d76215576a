/**
 * A zero-copy `Identity` for the wasm backend. The stock one copies the buffer, and the engine
 * calls `Identity` (via `clone`) for every tensor it saves for the backward pass, so with the
 * stock kernel each recorded op duplicated its inputs. Tensors are immutable in tfjs, so sharing
 * the data id (reference counted, exactly what the cpu backend's Identity and every backend's
 * Reshape do) is safe.
 */
import * as tf from '@tensorflow/tfjs';
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

/**
 * `Cast` for the wasm backend: a cast to the same dtype (stock gradients call
 * `cast(dy, 'float32')`, e.g. ReLU's) shares the data like Identity instead of copying; other
 * casts go to the stock kernel (captured when this is built, before ours replaces it).
 */
export function makeCastKernel(backendName: string): tf.KernelConfig | null {
  const stock = tf.getKernel('Cast', backendName);
  if (stock == null) return null;
  const stockFunc = stock.kernelFunc;
  return {
    kernelName: 'Cast',
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs.x as TensorInfo;
      const dtype = (args.attrs as { dtype?: string } | undefined)?.dtype;
      if (dtype === x.dtype && x.dtype !== 'string') {
        (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      }
      return stockFunc(args);
    },
  };
}

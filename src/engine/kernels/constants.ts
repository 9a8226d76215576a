/**
 * Constant tensors that kernels reuse across calls (ones filters, averaging rows, 1/count maps),
 * kept per engine: a tensor lives on the backend that made it, and using it on another one
 * would move its data there.
 */
import * as tf from '@tensorflow/tfjs';
import { selectedKernelEngine } from './registry.js';

const constCache = new Map<string, tf.Tensor>();

/** The constant `key` of the selected engine, made by `make` the first time (and after a dispose). */
export function cachedConst<T extends tf.Tensor>(key: string, make: () => T): T {
  const k = `${selectedKernelEngine() ?? 'default'}:${key}`;
  let t = constCache.get(k) as T | undefined;
  if (t == null || t.isDisposed) {
    t = tf.keep(make());
    constCache.set(k, t);
  }
  return t;
}

/**
 * The tfjs kernels mfnas puts into the wasm backend in place of stock ones (convolution
 * gradients as forward convolutions, zero-copy Identity and same-dtype Cast). They sit under
 * tfjs's own ops, below mfnas's op kernels (../kernels/). The stock configs are remembered so
 * that they can be restored (benchmarks compare both; tests check ours against a reference).
 */
import * as tf from '@tensorflow/tfjs';
import { makeConvGradKernels } from './convGrad.js';
import { makeCastKernel, makeIdentityKernel } from './identity.js';

export { conv2DBackpropFilterImpl, conv2DBackpropInputImpl } from './convGrad.js';

const built = new Map<string, tf.KernelConfig[]>();

/** Our kernels, per backend. Only the wasm backend needs any (see ENGINE-NOTES). */
function kernelsFor(backendName: string): tf.KernelConfig[] {
  let ks = built.get(backendName);
  if (ks == null) {
    ks = [];
    if (backendName === 'wasm') {
      // Built once, while the stock kernels are still registered (Cast wraps the stock one).
      const cast = makeCastKernel('wasm');
      ks = [...makeConvGradKernels('wasm'), makeIdentityKernel('wasm'), ...(cast ? [cast] : [])];
    }
    built.set(backendName, ks);
  }
  return ks;
}

const stock = new Map<string, tf.KernelConfig | undefined>();
const active = new Set<string>();

function key(k: tf.KernelConfig): string {
  return `${k.backendName}_${k.kernelName}`;
}

function install(k: tf.KernelConfig | undefined, kernelName: string, backendName: string): void {
  if (tf.getKernel(kernelName, backendName) != null) tf.unregisterKernel(kernelName, backendName);
  if (k != null) tf.registerKernel(k);
}

/** Register mfnas's kernels for `backendName` (idempotent). Returns the kernel names. */
export function registerCustomKernels(backendName: string): string[] {
  const ks = kernelsFor(backendName);
  for (const k of ks) {
    const id = key(k);
    if (active.has(id)) continue;
    if (!stock.has(id)) {
      const orig = tf.getKernel(k.kernelName, backendName);
      stock.set(id, orig == null ? undefined : { ...orig });
    }
    install(k, k.kernelName, backendName);
    active.add(id);
  }
  return ks.map((k) => k.kernelName);
}

/**
 * Put back the stock kernels for `backendName` (for benchmarks and comparisons only; the stock
 * wasm backend has no Conv2DBackpropFilter, so conv weight gradients then fail on wasm).
 */
export function restoreStockKernels(backendName: string): void {
  for (const k of kernelsFor(backendName)) {
    const id = key(k);
    if (!active.has(id)) continue;
    const orig = stock.get(id);
    install(orig, k.kernelName, backendName);
    // If ours were registered before the backend initialised, the stock setup never ran.
    const backend = tf.findBackend(backendName);
    if (orig?.setupFunc && backend) orig.setupFunc(backend);
    active.delete(id);
  }
}

/** Names of the mfnas kernels currently registered for `backendName`. */
export function customKernelsActive(backendName: string): string[] {
  return kernelsFor(backendName)
    .filter((k) => active.has(key(k)))
    .map((k) => k.kernelName);
}

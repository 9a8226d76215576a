/**
 * mfnas's kernels: the registry and every backend's implementations (importing this module
 * registers them). Ops (../ops.ts) run them; `initEngine` selects the engine's.
 */
import './generic.js';
import './wasm.js';
import './native.js';
import './tensorflow.js';

export {
  mfnasKernel, mfnasKernelBackends, registerMfnasKernel, runMfnasKernel, selectMfnasKernels, selectedKernelEngine,
  type BatchStatsSink, type KernelAttrs, type KernelBackend, type KernelInputs, type KernelOutput, type MfnasKernelConfig,
  type MfnasKernelName, type MfnasKernelSignatures, type SaveForGradient,
} from './registry.js';
